//! Database values independent of the database system: [`Value`] is what entity code writes and
//! reads, [`Row`] is one decoded result row, and [`FromValue`] turns a column back into a Rust
//! field. Keeping one value model lets a single generic layer serve SQLite and PostgreSQL.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use super::error::DbError;

/// One column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// Text.
    Text(String),
    /// A UTC timestamp.
    DateTime(DateTime<Utc>),
    /// A JSON document.
    Json(serde_json::Value),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

impl Value {
    /// The value as JSON, the way HTTP responses and socket payloads show it (timestamps as
    /// RFC 3339 strings, bytes as arrays of numbers).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(value) => serde_json::Value::Bool(*value),
            Value::Int(value) => serde_json::Value::from(*value),
            Value::Float(value) => serde_json::Value::from(*value),
            Value::Text(value) => serde_json::Value::String(value.clone()),
            Value::DateTime(value) => serde_json::Value::String(format_timestamp(value)),
            Value::Json(value) => value.clone(),
            Value::Bytes(value) => serde_json::Value::from(value.clone()),
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Text(_) => "text",
            Value::DateTime(_) => "a timestamp",
            Value::Json(_) => "JSON",
            Value::Bytes(_) => "bytes",
        }
    }
}

/// Formats a timestamp the way SQLite stores it: RFC 3339 in UTC with microseconds and a `Z`,
/// so that text order equals time order.
pub(crate) fn format_timestamp(timestamp: &DateTime<Utc>) -> String {
    timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a timestamp that SQLite holds as text, whoever wrote it: the runtime
/// ([`format_timestamp`]: `2026-12-06T05:40:00.123456Z`), a column default that is the database's
/// own time (`strftime('%Y-%m-%dT%H:%M:%fZ','now')`: `2026-12-06T05:40:00.123Z`), or raw SQL
/// with `CURRENT_TIMESTAMP` or `datetime('now')` (`2026-12-06 05:40:00`). RFC 3339 offsets are
/// converted to UTC; a time without an offset is UTC, as SQLite's date functions write it.
/// (PostgreSQL's `TIMESTAMPTZ` arrives as a typed instant and never comes here.)
pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(timestamp) = DateTime::parse_from_rfc3339(text) {
        return Ok(timestamp.with_timezone(&Utc));
    }
    // `%.f` reads fractional seconds of any length, or none.
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
        .ok_or_else(|| {
            format!(
                "`{text}` is not a timestamp; write RFC 3339 (2026-12-06T05:40:00.123Z) or SQLite's CURRENT_TIMESTAMP form in UTC (2026-12-06 05:40:00)"
            )
        })
}

macro_rules! value_from {
    ($($rust_type:ty => $variant:ident),* $(,)?) => {
        $(impl From<$rust_type> for Value {
            fn from(value: $rust_type) -> Self {
                Value::$variant(value.into())
            }
        })*
    };
}

value_from! {
    bool => Bool,
    i64 => Int,
    i32 => Int,
    f64 => Float,
    String => Text,
    &str => Text,
    DateTime<Utc> => DateTime,
    serde_json::Value => Json,
    Vec<u8> => Bytes,
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// Converts a column value back into a Rust field type. Generated `Entity::from_row`
/// implementations call it through [`Row::get`].
pub trait FromValue: Sized {
    /// Converts, or says what was found instead.
    fn from_value(value: Value) -> Result<Self, String>;
}

fn unexpected(expected: &str, found: &Value) -> String {
    format!("expected {expected}, found {}", found.kind_name())
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(value) => Ok(value),
            Value::Int(value) => Ok(value != 0),
            other => Err(unexpected("a boolean", &other)),
        }
    }
}

impl FromValue for i64 {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Int(value) => Ok(value),
            other => Err(unexpected("an integer", &other)),
        }
    }
}

impl FromValue for i32 {
    fn from_value(value: Value) -> Result<Self, String> {
        let wide = i64::from_value(value)?;
        i32::try_from(wide).map_err(|_| format!("integer {wide} does not fit in 32 bits"))
    }
}

impl FromValue for f64 {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Float(value) => Ok(value),
            // Integers are exact in f64 up to 2^53; SQLite may hand back whole floats as integers.
            Value::Int(value) => Ok(value as f64),
            other => Err(unexpected("a float", &other)),
        }
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(value) => Ok(value),
            other => Err(unexpected("text", &other)),
        }
    }
}

impl FromValue for DateTime<Utc> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::DateTime(value) => Ok(value),
            other => Err(unexpected("a timestamp", &other)),
        }
    }
}

impl FromValue for serde_json::Value {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Json(value) => Ok(value),
            other => Err(unexpected("JSON", &other)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Bytes(value) => Ok(value),
            other => Err(unexpected("bytes", &other)),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row: the table's columns in schema order with their decoded values.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    table: String,
    values: Vec<(String, Value)>,
}

impl Row {
    pub(crate) fn new(table: &str, values: Vec<(String, Value)>) -> Self {
        Row {
            table: table.to_owned(),
            values,
        }
    }

    /// Reads one column as a Rust type.
    ///
    /// ```
    /// # use appc_runtime::{Row, Value};
    /// let row = Row::from_values("Message", vec![("text".into(), Value::from("hi")), ("pinned".into(), Value::Null)]);
    /// let text: String = row.get("text")?;
    /// let pinned: Option<bool> = row.get("pinned")?;
    /// assert_eq!((text.as_str(), pinned), ("hi", None));
    /// # Ok::<(), appc_runtime::DbError>(())
    /// ```
    pub fn get<T: FromValue>(&self, column: &str) -> Result<T, DbError> {
        let value = self
            .values
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| DbError::UnknownColumn {
                table: self.table.clone(),
                column: column.to_owned(),
            })?;
        T::from_value(value).map_err(|problem| DbError::Decode {
            table: self.table.clone(),
            column: column.to_owned(),
            problem,
        })
    }

    /// Builds a row from values, e.g. to test an entity's `from_row`.
    pub fn from_values(table: &str, values: Vec<(String, Value)>) -> Self {
        Row::new(table, values)
    }

    /// The columns and values in schema order.
    pub fn values(&self) -> &[(String, Value)] {
        &self.values
    }

    /// The row as a JSON object, leaving out the named columns (used to keep the password hash
    /// out of user responses).
    pub fn to_json_without(&self, hidden_columns: &[&str]) -> serde_json::Value {
        let object = self
            .values
            .iter()
            .filter(|(name, _)| !hidden_columns.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.to_json()))
            .collect();
        serde_json::Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use chrono::SubsecRound;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid RFC 3339 literal")
            .with_timezone(&Utc)
    }

    #[test]
    fn reads_every_form_sqlite_may_hold() {
        let cases = [
            // What the runtime writes (format_timestamp).
            ("2026-12-06T05:40:00.123456Z", "2026-12-06T05:40:00.123456Z"),
            // A column default of strftime('%Y-%m-%dT%H:%M:%fZ','now').
            ("2026-12-06T05:40:00.123Z", "2026-12-06T05:40:00.123Z"),
            // RFC 3339 without fractional seconds, and with an offset.
            ("2026-12-06T05:40:00Z", "2026-12-06T05:40:00Z"),
            ("2026-12-06T07:40:00.5+02:00", "2026-12-06T05:40:00.5Z"),
            // CURRENT_TIMESTAMP and datetime('now'): UTC without an offset.
            ("2026-12-06 05:40:00", "2026-12-06T05:40:00Z"),
            ("2026-12-06 05:40:00.123", "2026-12-06T05:40:00.123Z"),
            // strftime('%Y-%m-%dT%H:%M:%S','now'): the same with a T.
            ("2026-12-06T05:40:00", "2026-12-06T05:40:00Z"),
            ("2026-12-06T05:40:00.123", "2026-12-06T05:40:00.123Z"),
        ];
        for (stored, expected) in cases {
            assert_eq!(parse_timestamp(stored), Ok(utc(expected)), "{stored}");
        }
    }

    #[test]
    fn what_the_runtime_writes_reads_back_unchanged() {
        let now = Utc::now();
        assert_eq!(
            parse_timestamp(&format_timestamp(&now)),
            Ok(now.trunc_subsecs(6))
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_forms_it_accepts() {
        for stored in [
            "",
            "yesterday",
            "2026-12-06",
            "2026-13-06 05:40:00",
            "1765000000",
        ] {
            assert_eq!(
                parse_timestamp(stored),
                Err(format!(
                    "`{stored}` is not a timestamp; write RFC 3339 (2026-12-06T05:40:00.123Z) or SQLite's CURRENT_TIMESTAMP form in UTC (2026-12-06 05:40:00)"
                )),
            );
        }
    }
}
