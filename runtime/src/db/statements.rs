//! Every row statement the runtime runs, built with sea-query from the declared schema and an
//! untyped selection (`query.rs`): SELECT, COUNT, EXISTS, INSERT, UPDATE and DELETE, and the
//! key lookups relations load their rows with (`relation.rs`), in the dialect of one database
//! system, as SQL text with `?` or `$n` placeholders and the [`Param`]s bound to them.
//!
//! Identifiers come from the schema only, and sea-query quotes them (doubling a quote inside a
//! name); every column a condition names is checked against the table first, so a typo is an
//! error, never SQL. Values are always bound, never written into the SQL (only a SQLite select's
//! LIMIT and OFFSET, numbers, are written as literals: see `sqlite_row_range`): our [`Value`]s go into
//! sea-query as its typed values (a NULL typed by its column, which PostgreSQL needs) and come
//! back, in placeholder order, as the `Param`s `sql.rs` binds.

use chrono::Utc;
use sea_query::extension::sqlite::SqliteBinOper;
use sea_query::{
    Alias, BinOper, Expr, ExprTrait as _, LikeExpr, NullOrdering, Order as SeaOrder,
    PostgresQueryBuilder, Query as SeaQuery, QueryStatementWriter, SqliteQueryBuilder,
    Value as SeaValue, ValueTuple,
};

use super::error::DbError;
use super::query::{Comparison, Condition, Order, Selection, TextMatch};
use super::schema::{ColumnDefault, ColumnSchema, SqlType, TableSchema};
use super::system::DbSystem;
use super::value::Value;

/// The most values one statement may bind. SQLite's default limit (`SQLITE_MAX_VARIABLE_NUMBER`)
/// is 32766 and PostgreSQL's protocol stops at 65535; one limit for both keeps an app's
/// behaviour the same on either, and a longer `is_in` list is refused with an error saying to
/// split it instead of failing in the driver.
pub const MAX_BOUND_VALUES: usize = 32766;

/// A bound parameter: the value and the column type it is compared with or stored in, which
/// PostgreSQL needs to type a NULL and which decides how SQLite stores timestamps and JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Param {
    pub(crate) value: Value,
    pub(crate) sql_type: SqlType,
}

/// Brings a value to the representation its column stores, so that e.g. an integer written to a
/// float column or text written to a JSON column binds with the right type.
pub(crate) fn coerce(value: Value, sql_type: SqlType) -> Value {
    match (value, sql_type) {
        (Value::Int(number), SqlType::Float) => Value::Float(number as f64),
        (Value::Text(text), SqlType::Json) => Value::Json(serde_json::Value::String(text)),
        (Value::Bool(flag), SqlType::Json) => Value::Json(serde_json::Value::Bool(flag)),
        (Value::Int(number), SqlType::Json) => Value::Json(number.into()),
        (Value::Float(number), SqlType::Json) => Value::Json(number.into()),
        (value, _) => value,
    }
}

/// One statement ready to run: SQL text and its parameters in placeholder order.
#[derive(Debug)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
}

/// Builds the statements on one table for one database system.
pub(crate) struct StatementBuilder<'t> {
    table: &'t TableSchema,
    system: DbSystem,
}

impl<'t> StatementBuilder<'t> {
    pub(crate) fn new(table: &'t TableSchema, system: DbSystem) -> Self {
        StatementBuilder { table, system }
    }

    pub(crate) fn column(&self, name: &str) -> Result<&'t ColumnSchema, DbError> {
        self.table
            .find_column(name)
            .ok_or_else(|| DbError::UnknownColumn {
                table: self.table.name.clone(),
                column: name.to_owned(),
            })
    }

    pub(crate) fn primary_key(&self) -> Result<&'t ColumnSchema, DbError> {
        self.table
            .primary_key()
            .ok_or_else(|| DbError::NoPrimaryKey {
                table: self.table.name.clone(),
            })
    }

    /// `SELECT <every column> FROM table WHERE ... ORDER BY ... LIMIT ... OFFSET ...`.
    pub(crate) fn select(&self, selection: &Selection) -> Result<Statement, DbError> {
        let mut select = SeaQuery::select();
        select
            .columns(self.table.columns.iter().map(|column| name(&column.name)))
            .from(name(&self.table.name));
        if let Some(condition) = self.where_expr(selection)? {
            select.and_where(condition);
        }
        for term in &selection.order {
            let column = self.column(&term.column)?;
            let order = match term.order {
                Order::Asc => SeaOrder::Asc,
                Order::Desc => SeaOrder::Desc,
            };
            // The two systems sort NULLs differently by default (SQLite first, PostgreSQL
            // last); NULL counts as the smallest value on both. Required columns get no NULLS
            // clause, so PostgreSQL can still read them in index order.
            if column.nullable {
                let nulls = match term.order {
                    Order::Asc => NullOrdering::First,
                    Order::Desc => NullOrdering::Last,
                };
                select.order_by_with_nulls(name(&column.name), order, nulls);
            } else {
                select.order_by(name(&column.name), order);
            }
        }
        match self.system {
            DbSystem::Sqlite => {
                let mut statement = self.finish(&select)?;
                statement
                    .sql
                    .push_str(&sqlite_row_range(selection.limit, selection.offset));
                Ok(statement)
            }
            DbSystem::Postgres => {
                if let Some(limit) = selection.limit {
                    select.limit(limit);
                }
                if let Some(offset) = selection.offset {
                    if selection.limit.is_none() {
                        select.limit(i64::MAX as u64);
                    }
                    select.offset(offset);
                }
                self.finish(&select)
            }
        }
    }

    /// `SELECT <every column> FROM table WHERE "k" IN (...) ORDER BY <primary key>`: the rows
    /// whose `key_columns` hold one of `keys`, each key one value per key column. A composite
    /// key compares row values, `("a", "b") IN ((...), (...))`, which SQLite (3.15 and newer)
    /// and PostgreSQL both understand. The primary key orders the rows (a relation hands them
    /// out in that order); a table without one is ordered by the key columns, so that the order
    /// is at least the same on both systems. Relations load their rows with it.
    pub(crate) fn select_by_keys(
        &self,
        key_columns: &[&str],
        keys: &[Vec<Value>],
    ) -> Result<Statement, DbError> {
        let columns = key_columns
            .iter()
            .map(|column| self.column(column))
            .collect::<Result<Vec<_>, _>>()?;
        if columns.is_empty() {
            // Generated relations always name their key; one built without it is a bug.
            return Err(self.invalid_query("a key lookup needs at least one key column".into()));
        }
        if let Some(key) = keys.iter().find(|key| key.len() != columns.len()) {
            return Err(self.invalid_query(format!(
                "a key of [{}] needs {} values, one per column, and one has {}",
                key_columns.join(", "),
                columns.len(),
                key.len()
            )));
        }
        let condition = if let [column] = columns.as_slice() {
            column_expr(column).is_in(keys.iter().map(|key| self.param_expr(column, &key[0])))
        } else {
            let tuples = keys.iter().map(|key| {
                ValueTuple::Many(
                    key.iter()
                        .zip(&columns)
                        .map(|(value, column)| sea_value(value.clone(), column.sql_type))
                        .collect(),
                )
            });
            Expr::tuple(columns.iter().map(|column| column_expr(column))).in_tuples(tuples)
        };
        let mut select = SeaQuery::select();
        select
            .columns(self.table.columns.iter().map(|column| name(&column.name)))
            .from(name(&self.table.name))
            .and_where(condition);
        match self.table.primary_key() {
            Some(primary_key) => {
                select.order_by(name(&primary_key.name), SeaOrder::Asc);
            }
            None => {
                for column in &columns {
                    select.order_by(name(&column.name), SeaOrder::Asc);
                }
            }
        }
        self.finish(&select)
    }

    /// `SELECT COUNT(*) FROM table WHERE ...`: the rows the selection's filter and cursor
    /// select, whatever its order, limit and offset.
    pub(crate) fn count(&self, selection: &Selection) -> Result<Statement, DbError> {
        let mut select = SeaQuery::select();
        select
            .expr(Expr::cust("COUNT(*)"))
            .from(name(&self.table.name));
        if let Some(condition) = self.where_expr(selection)? {
            select.and_where(condition);
        }
        self.finish(&select)
    }

    /// 1 when the selection's filter and cursor select a row, else 0, without counting them
    /// all: `SELECT EXISTS (SELECT 1 FROM table WHERE ...)` on SQLite (whose EXISTS is that
    /// integer, and which would re-prepare a statement with a bound LIMIT on every run, see
    /// [`sqlite_row_range`]), `SELECT COUNT(*) FROM (SELECT 1 FROM table WHERE ... LIMIT 1)` on
    /// PostgreSQL (whose EXISTS is a boolean).
    pub(crate) fn exists(&self, selection: &Selection) -> Result<Statement, DbError> {
        let mut first = SeaQuery::select();
        first.expr(Expr::cust("1")).from(name(&self.table.name));
        if let Some(condition) = self.where_expr(selection)? {
            first.and_where(condition);
        }
        let mut select = SeaQuery::select();
        match self.system {
            DbSystem::Sqlite => {
                select.expr(Expr::exists(first));
            }
            DbSystem::Postgres => {
                first.limit(1);
                select
                    .expr(Expr::cust("COUNT(*)"))
                    .from_subquery(first, name("first_row"));
            }
        }
        self.finish(&select)
    }

    /// `INSERT INTO table (...) VALUES (...) RETURNING <every column>`. Columns left out get
    /// their default: the runtime fills `uuid()`, `now()` and `@updatedAt` itself so that both
    /// systems store the same values, the database does the rest.
    pub(crate) fn insert(&self, provided: Vec<(&str, Value)>) -> Result<Statement, DbError> {
        for (column, _) in &provided {
            self.column(column)?;
        }
        let now = Utc::now();
        let mut names = Vec::new();
        let mut values = Vec::new();
        for column in &self.table.columns {
            let given = provided
                .iter()
                .find(|(name, _)| *name == column.name)
                .map(|(_, value)| value.clone());
            let value = match (given, &column.default) {
                (Some(value), _) => Some(value),
                (None, Some(ColumnDefault::Uuid)) => {
                    Some(Value::Text(uuid::Uuid::new_v4().to_string()))
                }
                (None, Some(ColumnDefault::Now)) => Some(Value::DateTime(now)),
                (None, _) if column.updated_at => Some(Value::DateTime(now)),
                (None, _) => None,
            };
            if let Some(value) = value {
                names.push(name(&column.name));
                values.push(Expr::val(sea_value(value, column.sql_type)));
            }
        }
        let mut insert = SeaQuery::insert();
        insert.into_table(name(&self.table.name));
        if names.is_empty() {
            insert.or_default_values();
        } else {
            insert
                .columns(names)
                .values(values)
                .expect("one value per column, pushed together");
        }
        insert.returning(
            SeaQuery::returning()
                .columns(self.table.columns.iter().map(|column| name(&column.name))),
        );
        self.finish(&insert)
    }

    /// `UPDATE table SET ... WHERE ...`, `RETURNING` the columns of `returning` (the whole
    /// table's, or the owner columns live queries need) when given. `@updatedAt` columns follow
    /// every change unless the update sets them itself. `None` when `changes` is empty: there
    /// is nothing to write.
    pub(crate) fn update(
        &self,
        changes: Vec<(&str, Value)>,
        condition: &Condition,
        returning: Option<&TableSchema>,
    ) -> Result<Option<Statement>, DbError> {
        if changes.is_empty() {
            return Ok(None);
        }
        let mut assignments = Vec::new();
        for (column, value) in changes {
            let column = self.column(column)?;
            assignments.push((column, value));
        }
        let now = Utc::now();
        for column in self.table.columns.iter().filter(|column| column.updated_at) {
            if !assignments
                .iter()
                .any(|(assigned, _)| assigned.name == column.name)
            {
                assignments.push((column, Value::DateTime(now)));
            }
        }
        let mut update = SeaQuery::update();
        update
            .table(name(&self.table.name))
            .values(assignments.into_iter().map(|(column, value)| {
                (
                    name(&column.name),
                    Expr::val(sea_value(value, column.sql_type)),
                )
            }));
        update.and_where(self.condition(condition)?);
        if let Some(returned) = returning {
            update.returning(
                SeaQuery::returning()
                    .columns(returned.columns.iter().map(|column| name(&column.name))),
            );
        }
        self.finish(&update).map(Some)
    }

    /// `DELETE FROM table WHERE ...`, `RETURNING` the columns of `returning` when given.
    pub(crate) fn delete(
        &self,
        condition: &Condition,
        returning: Option<&TableSchema>,
    ) -> Result<Statement, DbError> {
        let mut delete = SeaQuery::delete();
        delete
            .from_table(name(&self.table.name))
            .and_where(self.condition(condition)?);
        if let Some(returned) = returning {
            delete.returning(
                SeaQuery::returning()
                    .columns(returned.columns.iter().map(|column| name(&column.name))),
            );
        }
        self.finish(&delete)
    }

    /// The selection's filter and cursor together, if it has either.
    fn where_expr(&self, selection: &Selection) -> Result<Option<Expr>, DbError> {
        let filter = selection
            .filter
            .as_ref()
            .map(|condition| self.condition(condition))
            .transpose()?;
        let cursor = self.cursor(selection)?;
        Ok(match (filter, cursor) {
            (Some(filter), Some(cursor)) => Some(filter.and(cursor)),
            (filter, cursor) => filter.or(cursor),
        })
    }

    /// The rows after the cursor in the selection's order (keyset pagination): for order
    /// columns `a, b, c` and cursor values `x, y, z`, `a > x OR (a = x AND b > y) OR (a = x AND
    /// b = y AND c > z)`, with `<` for descending columns. This is the row-value comparison
    /// `(a, b, c) > (x, y, z)` spelled out, because the directions may differ per column.
    fn cursor(&self, selection: &Selection) -> Result<Option<Expr>, DbError> {
        if selection.cursor.is_empty() {
            return Ok(None);
        }
        let order_columns: Vec<&str> = selection
            .order
            .iter()
            .map(|term| term.column.as_ref())
            .collect();
        let cursor_columns: Vec<&str> = selection
            .cursor
            .iter()
            .map(|(column, _)| column.as_ref())
            .collect();
        if order_columns != cursor_columns {
            return Err(self.invalid_query(format!(
                "a cursor needs one `after` value per order column, in the same order: the query orders by [{}] but its cursor names [{}]",
                order_columns.join(", "),
                cursor_columns.join(", ")
            )));
        }
        let mut columns = Vec::new();
        for ((column_name, value), term) in selection.cursor.iter().zip(&selection.order) {
            let column = self.column(column_name)?;
            if column.nullable || *value == Value::Null {
                return Err(self.invalid_query(format!(
                    "cursor column `{}` is optional, and NULLs have no place in a cursor's order; order by required columns",
                    column.name
                )));
            }
            columns.push((column, value, term.order));
        }
        let (last, _, _) = columns[columns.len() - 1];
        if !(last.primary_key || last.unique) {
            return Err(self.invalid_query(format!(
                "a cursor's last order column must be unique (`@id` or `@unique`), and `{}` is not, so rows that share its value could be skipped; add the id as the last order column",
                last.name
            )));
        }
        let mut after_cursor = Vec::new();
        for (position, (column, value, order)) in columns.iter().enumerate() {
            let mut step = match order {
                Order::Asc => column_expr(column).gt(self.param_expr(column, value)),
                Order::Desc => column_expr(column).lt(self.param_expr(column, value)),
            };
            for (earlier, earlier_value, _) in &columns[..position] {
                step = column_expr(earlier)
                    .eq(self.param_expr(earlier, earlier_value))
                    .and(step);
            }
            after_cursor.push(step);
        }
        Ok(after_cursor.into_iter().reduce(|any, step| any.or(step)))
    }

    fn condition(&self, condition: &Condition) -> Result<Expr, DbError> {
        Ok(match condition {
            Condition::Compare {
                column,
                operator,
                value,
            } => {
                let column = self.column(column)?;
                let left = column_expr(column);
                let right = self.param_expr(column, value);
                match operator {
                    Comparison::Equal => left.eq(right),
                    Comparison::NotEqual => left.ne(right),
                    Comparison::Less => left.lt(right),
                    Comparison::LessOrEqual => left.lte(right),
                    Comparison::Greater => left.gt(right),
                    Comparison::GreaterOrEqual => left.gte(right),
                }
            }
            Condition::IsNull { column, negated } => {
                let column = column_expr(self.column(column)?);
                if *negated {
                    column.is_not_null()
                } else {
                    column.is_null()
                }
            }
            Condition::In { column, values } => {
                let column = self.column(column)?;
                if values.is_empty() {
                    // `IN ()` is not SQL; an empty list selects nothing.
                    return Ok(always(false));
                }
                column_expr(column).is_in(values.iter().map(|value| self.param_expr(column, value)))
            }
            Condition::Text {
                column,
                operator,
                text,
            } => {
                let column = self.column(column)?;
                self.text_match(column, *operator, text)
            }
            Condition::All(conditions) => match self.conditions(conditions)? {
                None => always(true),
                Some(conditions) => conditions
                    .into_iter()
                    .reduce(Expr::and)
                    .unwrap_or(always(true)),
            },
            Condition::Any(conditions) => match self.conditions(conditions)? {
                None => always(false),
                Some(conditions) => conditions
                    .into_iter()
                    .reduce(Expr::or)
                    .unwrap_or(always(false)),
            },
            Condition::Not(condition) => self.condition(condition)?.not(),
        })
    }

    /// The conditions as expressions; `None` for an empty list.
    fn conditions(&self, conditions: &[Condition]) -> Result<Option<Vec<Expr>>, DbError> {
        if conditions.is_empty() {
            return Ok(None);
        }
        conditions
            .iter()
            .map(|condition| self.condition(condition))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A literal, case-sensitive text match. PostgreSQL's `LIKE` is case-sensitive but SQLite's
    /// folds ASCII case, so SQLite uses `GLOB` (case-sensitive) instead; each pattern escapes its
    /// own wildcards so that the team's text only ever matches itself.
    fn text_match(&self, column: &ColumnSchema, operator: TextMatch, text: &str) -> Expr {
        match self.system {
            DbSystem::Postgres => {
                let escaped = escape_like(text);
                let pattern = match operator {
                    TextMatch::Contains => format!("%{escaped}%"),
                    TextMatch::StartsWith => format!("{escaped}%"),
                };
                column_expr(column).like(LikeExpr::new(pattern).escape('\\'))
            }
            DbSystem::Sqlite => {
                let escaped = escape_glob(text);
                let pattern = match operator {
                    TextMatch::Contains => format!("*{escaped}*"),
                    TextMatch::StartsWith => format!("{escaped}*"),
                };
                column_expr(column).binary(
                    BinOper::SqliteOperator(SqliteBinOper::Glob),
                    Expr::val(pattern),
                )
            }
        }
    }

    fn param_expr(&self, column: &ColumnSchema, value: &Value) -> Expr {
        Expr::val(sea_value(value.clone(), column.sql_type))
    }

    fn invalid_query(&self, problem: String) -> DbError {
        DbError::InvalidQuery {
            table: self.table.name.clone(),
            problem,
        }
    }

    /// Renders the statement in this system's dialect and takes its values back as `Param`s.
    fn finish(&self, statement: &impl QueryStatementWriter) -> Result<Statement, DbError> {
        let (sql, values) = match self.system {
            DbSystem::Sqlite => statement.build(SqliteQueryBuilder),
            DbSystem::Postgres => statement.build(PostgresQueryBuilder),
        };
        if values.0.len() > MAX_BOUND_VALUES {
            return Err(DbError::TooManyValues {
                table: self.table.name.clone(),
                count: values.0.len(),
                limit: MAX_BOUND_VALUES,
            });
        }
        let params = values
            .into_iter()
            .map(param_from_sea_value)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Statement { sql, params })
    }
}

/// The `LIMIT` and `OFFSET` clauses of a SQLite select, written as integer literals rather than
/// bound: SQLite's planner reads the value of a bound LIMIT or OFFSET, so it marks the statement
/// to be prepared again (parsed and planned) on every run that binds it: half of SQLite's time
/// in a one-row lookup such as a request's token user (BENCHMARKS.md, operations). The
/// values are numbers, so nothing of a caller's text reaches the SQL; each distinct pair is one
/// more cached statement. SQLite only accepts OFFSET after a LIMIT: the largest one means none,
/// and a limit beyond `i64::MAX` (SQLite's largest integer) selects no fewer rows as `i64::MAX`.
fn sqlite_row_range(limit: Option<u64>, offset: Option<u64>) -> String {
    let sqlite_integer = |number: u64| i64::try_from(number).unwrap_or(i64::MAX);
    match (limit, offset) {
        (None, None) => String::new(),
        (Some(limit), None) => format!(" LIMIT {}", sqlite_integer(limit)),
        (limit, Some(offset)) => format!(
            " LIMIT {} OFFSET {}",
            sqlite_integer(limit.unwrap_or(u64::MAX)),
            sqlite_integer(offset)
        ),
    }
}

/// An identifier from the schema. `Alias` owns its text, which sea-query quotes, doubling any
/// quote inside it.
fn name(identifier: &str) -> Alias {
    Alias::new(identifier)
}

fn column_expr(column: &ColumnSchema) -> Expr {
    Expr::col(name(&column.name))
}

/// A condition that always or never holds, without a bound value.
fn always(holds: bool) -> Expr {
    Expr::cust(if holds { "1 = 1" } else { "1 = 0" })
}

/// Escapes `LIKE`'s wildcards (`%`, `_`) and the escape character itself (`\`).
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Escapes `GLOB`'s wildcards (`*`, `?`, `[`) as one-character classes (`[*]`), the only
/// escape `GLOB` has.
fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[') {
            escaped.push('[');
            escaped.push(character);
            escaped.push(']');
        } else {
            escaped.push(character);
        }
    }
    escaped
}

/// Our value as sea-query's, in the representation its column stores; a NULL is typed by the
/// column so that PostgreSQL knows its type.
fn sea_value(value: Value, sql_type: SqlType) -> SeaValue {
    match coerce(value, sql_type) {
        Value::Null => match sql_type {
            SqlType::Integer => SeaValue::BigInt(None),
            SqlType::Float => SeaValue::Double(None),
            SqlType::Boolean => SeaValue::Bool(None),
            SqlType::Text => SeaValue::String(None),
            SqlType::DateTime => SeaValue::ChronoDateTimeUtc(None),
            SqlType::Json => SeaValue::Json(None),
            SqlType::Bytes => SeaValue::Bytes(None),
        },
        Value::Bool(flag) => SeaValue::Bool(Some(flag)),
        Value::Int(number) => SeaValue::BigInt(Some(number)),
        Value::Float(number) => SeaValue::Double(Some(number)),
        Value::Text(text) => SeaValue::String(Some(text)),
        Value::DateTime(timestamp) => SeaValue::ChronoDateTimeUtc(Some(timestamp)),
        Value::Json(document) => SeaValue::Json(Some(Box::new(document))),
        Value::Bytes(bytes) => SeaValue::Bytes(Some(bytes)),
    }
}

/// The parameter to bind for a value sea-query placed: one of ours from [`sea_value`], or a
/// limit or offset it bound itself.
fn param_from_sea_value(value: SeaValue) -> Result<Param, DbError> {
    fn param<T>(value: Option<T>, sql_type: SqlType, wrap: impl FnOnce(T) -> Value) -> Param {
        Param {
            value: value.map_or(Value::Null, wrap),
            sql_type,
        }
    }
    Ok(match value {
        SeaValue::Bool(flag) => param(flag, SqlType::Boolean, Value::Bool),
        SeaValue::BigInt(number) => param(number, SqlType::Integer, Value::Int),
        SeaValue::Int(number) => {
            param(number, SqlType::Integer, |number| Value::Int(number.into()))
        }
        // Limits and offsets; a `u64` beyond `i64::MAX` selects no fewer rows as `i64::MAX`.
        SeaValue::BigUnsigned(number) => param(number, SqlType::Integer, |number| {
            Value::Int(i64::try_from(number).unwrap_or(i64::MAX))
        }),
        SeaValue::Double(number) => param(number, SqlType::Float, Value::Float),
        SeaValue::String(text) => param(text, SqlType::Text, Value::Text),
        SeaValue::ChronoDateTimeUtc(timestamp) => {
            param(timestamp, SqlType::DateTime, Value::DateTime)
        }
        SeaValue::Json(document) => {
            param(document, SqlType::Json, |document| Value::Json(*document))
        }
        SeaValue::Bytes(bytes) => param(bytes, SqlType::Bytes, Value::Bytes),
        other => {
            return Err(DbError::InvalidQuery {
                table: String::new(),
                problem: format!(
                    "the SQL builder bound a value of a kind the runtime does not bind ({other:?}); report this as a bug in appc"
                ),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::query::Selection;

    fn message_table() -> TableSchema {
        TableSchema::new("Message")
            .column(
                ColumnSchema::new("id", SqlType::Integer)
                    .primary_key()
                    .default(ColumnDefault::Autoincrement),
            )
            .column(ColumnSchema::new("text", SqlType::Text))
            .column(ColumnSchema::new("userId", SqlType::Integer).nullable())
    }

    #[test]
    fn values_are_bound_and_identifiers_quoted_in_each_dialect() {
        let table = message_table();
        let selection = Selection {
            filter: Some(Condition::Compare {
                column: "text".into(),
                operator: Comparison::Equal,
                value: Value::from("it's"),
            }),
            limit: Some(5),
            ..Selection::default()
        };
        let sqlite = StatementBuilder::new(&table, DbSystem::Sqlite)
            .select(&selection)
            .unwrap();
        assert_eq!(
            sqlite.sql,
            r#"SELECT "id", "text", "userId" FROM "Message" WHERE "text" = ? LIMIT 5"#
        );
        assert_eq!(sqlite.params.len(), 1);
        let postgres = StatementBuilder::new(&table, DbSystem::Postgres)
            .select(&selection)
            .unwrap();
        assert_eq!(
            postgres.sql,
            r#"SELECT "id", "text", "userId" FROM "Message" WHERE "text" = $1 LIMIT $2"#
        );
    }

    /// A bound LIMIT or OFFSET makes SQLite prepare the statement again on every run, so
    /// SQLite gets them as literals; PostgreSQL keeps binding them.
    #[test]
    fn sqlite_writes_limit_and_offset_as_literals_and_postgres_binds_them() {
        let table = message_table();
        let range = |limit, offset| Selection {
            limit,
            offset,
            ..Selection::default()
        };
        let sqlite_sql = |selection: &Selection| {
            let statement = StatementBuilder::new(&table, DbSystem::Sqlite)
                .select(selection)
                .unwrap();
            assert!(statement.params.is_empty(), "{statement:?}");
            statement.sql
        };
        let select = r#"SELECT "id", "text", "userId" FROM "Message""#;
        assert_eq!(sqlite_sql(&range(None, None)), select);
        assert_eq!(
            sqlite_sql(&range(Some(20), None)),
            format!("{select} LIMIT 20")
        );
        assert_eq!(
            sqlite_sql(&range(Some(20), Some(40))),
            format!("{select} LIMIT 20 OFFSET 40")
        );
        assert_eq!(
            sqlite_sql(&range(None, Some(40))),
            format!("{select} LIMIT 9223372036854775807 OFFSET 40")
        );
        assert_eq!(
            sqlite_sql(&range(Some(u64::MAX), Some(u64::MAX))),
            format!("{select} LIMIT 9223372036854775807 OFFSET 9223372036854775807")
        );
        let postgres = StatementBuilder::new(&table, DbSystem::Postgres)
            .select(&range(Some(20), Some(40)))
            .unwrap();
        assert_eq!(postgres.sql, format!("{select} LIMIT $1 OFFSET $2"));
        assert_eq!(postgres.params.len(), 2);
    }

    #[test]
    fn exists_binds_only_the_filter_on_sqlite_and_limits_the_subquery_on_postgres() {
        let table = message_table();
        let selection = Selection {
            filter: Some(Condition::Compare {
                column: "text".into(),
                operator: Comparison::Equal,
                value: Value::from("hello"),
            }),
            ..Selection::default()
        };
        let sqlite = StatementBuilder::new(&table, DbSystem::Sqlite)
            .exists(&selection)
            .unwrap();
        assert_eq!(
            sqlite.sql,
            r#"SELECT EXISTS(SELECT 1 FROM "Message" WHERE "text" = ?)"#
        );
        assert_eq!(sqlite.params.len(), 1);
        let postgres = StatementBuilder::new(&table, DbSystem::Postgres)
            .exists(&selection)
            .unwrap();
        assert_eq!(
            postgres.sql,
            r#"SELECT COUNT(*) FROM (SELECT 1 FROM "Message" WHERE "text" = $1 LIMIT $2) AS "first_row""#
        );
        assert_eq!(postgres.params.len(), 2);
    }

    #[test]
    fn a_quote_in_a_schema_name_cannot_end_the_identifier() {
        let table = TableSchema::new("Odd\"Table").column(ColumnSchema::new("a\"b", SqlType::Text));
        let statement = StatementBuilder::new(&table, DbSystem::Sqlite)
            .select(&Selection::default())
            .unwrap();
        assert_eq!(statement.sql, r#"SELECT "a""b" FROM "Odd""Table""#);
    }

    fn room_messages_table() -> TableSchema {
        TableSchema::new("Message")
            .column(ColumnSchema::new("id", SqlType::Text).primary_key())
            .column(ColumnSchema::new("roomName", SqlType::Text))
            .column(ColumnSchema::new("roomOwner", SqlType::Integer))
            .column(ColumnSchema::new("userId", SqlType::Integer).nullable())
    }

    #[test]
    fn one_column_keys_become_an_in_list_of_parameters_in_primary_key_order() {
        let table = room_messages_table();
        let keys = [vec![Value::Int(1)], vec![Value::Int(2)]];
        let postgres = StatementBuilder::new(&table, DbSystem::Postgres)
            .select_by_keys(&["userId"], &keys)
            .unwrap();
        assert_eq!(
            postgres.sql,
            r#"SELECT "id", "roomName", "roomOwner", "userId" FROM "Message" WHERE "userId" IN ($1, $2) ORDER BY "id" ASC"#
        );
        assert_eq!(postgres.params.len(), 2);
        assert_eq!(postgres.params[1].value, Value::Int(2));
        assert_eq!(postgres.params[1].sql_type, SqlType::Integer);
        let sqlite = StatementBuilder::new(&table, DbSystem::Sqlite)
            .select_by_keys(&["userId"], &keys)
            .unwrap();
        assert!(
            sqlite
                .sql
                .ends_with(r#"WHERE "userId" IN (?, ?) ORDER BY "id" ASC"#),
            "{}",
            sqlite.sql
        );
    }

    #[test]
    fn composite_keys_become_row_values_typed_by_their_columns() {
        let table = room_messages_table();
        let keys = [
            vec![Value::from("lobby"), Value::Int(1)],
            vec![Value::from("den"), Value::Int(2)],
        ];
        let statement = StatementBuilder::new(&table, DbSystem::Sqlite)
            .select_by_keys(&["roomName", "roomOwner"], &keys)
            .unwrap();
        assert!(
            statement.sql.ends_with(
                r#"WHERE ("roomName", "roomOwner") IN ((?, ?), (?, ?)) ORDER BY "id" ASC"#
            ),
            "{}",
            statement.sql
        );
        let values: Vec<(Value, SqlType)> = statement
            .params
            .into_iter()
            .map(|param| (param.value, param.sql_type))
            .collect();
        assert_eq!(
            values,
            [
                (Value::from("lobby"), SqlType::Text),
                (Value::Int(1), SqlType::Integer),
                (Value::from("den"), SqlType::Text),
                (Value::Int(2), SqlType::Integer),
            ]
        );
    }

    #[test]
    fn a_table_without_primary_key_orders_key_lookups_by_the_key() {
        let table = TableSchema::new("Tag")
            .column(ColumnSchema::new("name", SqlType::Text))
            .column(ColumnSchema::new("noteId", SqlType::Integer));
        let statement = StatementBuilder::new(&table, DbSystem::Postgres)
            .select_by_keys(&["noteId"], &[vec![Value::Int(7)]])
            .unwrap();
        assert!(
            statement
                .sql
                .ends_with(r#"WHERE "noteId" IN ($1) ORDER BY "noteId" ASC"#),
            "{}",
            statement.sql
        );
    }

    #[test]
    fn a_key_lookup_refuses_unknown_columns_missing_columns_and_short_keys() {
        let table = room_messages_table();
        let builder = StatementBuilder::new(&table, DbSystem::Sqlite);
        let unknown = builder.select_by_keys(&["authorId"], &[vec![Value::Int(1)]]);
        assert!(
            matches!(unknown, Err(DbError::UnknownColumn { ref column, .. }) if column == "authorId"),
            "an unknown column must be refused: {unknown:?}"
        );
        let no_columns = builder.select_by_keys(&[], &[vec![Value::Int(1)]]);
        assert!(
            matches!(no_columns, Err(DbError::InvalidQuery { .. })),
            "{no_columns:?}"
        );
        let short = builder.select_by_keys(&["roomName", "roomOwner"], &[vec![Value::from("x")]]);
        assert!(
            matches!(short, Err(DbError::InvalidQuery { ref problem, .. }) if problem.contains("needs 2 values")),
            "{short:?}"
        );
    }

    #[test]
    fn wildcards_in_text_only_match_themselves() {
        assert_eq!(escape_like(r"50%_\x"), r"50\%\_\\x");
        assert_eq!(escape_glob("a*b?c[d]"), "a[*]b[?]c[[]d]");
    }

    #[test]
    fn a_null_is_typed_by_its_column() {
        assert_eq!(
            sea_value(Value::Null, SqlType::DateTime),
            SeaValue::ChronoDateTimeUtc(None)
        );
        let param = param_from_sea_value(sea_value(Value::Null, SqlType::Json)).unwrap();
        assert_eq!(param.sql_type, SqlType::Json);
        assert_eq!(param.value, Value::Null);
    }
}
