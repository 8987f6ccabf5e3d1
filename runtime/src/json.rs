//! How values that JavaScript cannot hold exactly travel in JSON (and msgpack): Prisma `BigInt`
//! columns are `i64` in Rust, but a JavaScript number is exact only up to 2^53, so the browser
//! would silently round larger values. They travel as decimal strings instead
//! (`"9223372036854775807"`), which the web client types as `string`.
//!
//! Generated entity structs use these modules with `#[serde(with = "...")]`; the auth routes
//! apply the same rule to the user's row (see [`crate::codegen::ColumnSchema::json_string`]).

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use std::fmt;

/// An `i64` as a JSON string. Reading also accepts a JSON integer, so hand-written clients
/// that send small values as numbers keep working.
pub mod big_int {
    use super::*;

    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_any(BigIntVisitor)
    }
}

/// An `Option<i64>` as a JSON string or `null`.
pub mod optional_big_int {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.collect_str(value),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i64>, D::Error> {
        deserializer.deserialize_option(OptionalBigIntVisitor)
    }
}

struct BigIntVisitor;

impl Visitor<'_> for BigIntVisitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a 64-bit integer as a decimal string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<i64, E> {
        text.parse::<i64>().map_err(|_| {
            E::invalid_value(
                de::Unexpected::Str(text),
                &"a 64-bit integer as a decimal string",
            )
        })
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &"a 64-bit integer"))
    }
}

struct OptionalBigIntVisitor;

impl<'de> Visitor<'de> for OptionalBigIntVisitor {
    type Value = Option<i64>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a 64-bit integer as a decimal string, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<i64>, D::Error> {
        big_int::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Counter {
        #[serde(with = "crate::json::big_int")]
        views: i64,
        #[serde(with = "crate::json::optional_big_int")]
        limit: Option<i64>,
    }

    #[test]
    fn big_integers_travel_as_strings_and_come_back_exactly() {
        let counter = Counter {
            views: i64::MAX,
            limit: Some(9_007_199_254_740_993),
        };
        let json = serde_json::to_string(&counter).unwrap();
        assert_eq!(
            json,
            r#"{"views":"9223372036854775807","limit":"9007199254740993"}"#
        );
        assert_eq!(serde_json::from_str::<Counter>(&json).unwrap(), counter);
        let msgpack = rmp_serde::to_vec_named(&counter).unwrap();
        assert_eq!(rmp_serde::from_slice::<Counter>(&msgpack).unwrap(), counter);
    }

    #[test]
    fn numbers_and_null_are_accepted_and_garbage_is_refused() {
        let read: Counter = serde_json::from_str(r#"{"views":-42,"limit":null}"#).unwrap();
        assert_eq!(
            read,
            Counter {
                views: -42,
                limit: None
            }
        );
        let error = serde_json::from_str::<Counter>(r#"{"views":"12abc","limit":null}"#)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a 64-bit integer as a decimal string"),
            "{error}"
        );
        assert!(
            serde_json::from_str::<Counter>(r#"{"views":"99999999999999999999","limit":null}"#)
                .is_err()
        );
    }
}
