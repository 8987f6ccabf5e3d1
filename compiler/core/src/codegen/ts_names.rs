//! The filters of the web generator: how IR names and types become TypeScript names and types,
//! matching the JSON the generated server really sends (serde's default representation of the
//! Rust types in [`rust_names`](super::rust_names)).

use crate::analysis::ir::{Namespace, ScalarType, TypeRef};

/// The TypeScript type of a payload, handshake or record field type.
///
/// `Option` fields are serialized as `null` (never left out), so an optional is `T | null`;
/// chrono's `DateTime<Utc>` is an RFC 3339 string; `serde_json::Value` can be anything, so
/// `unknown` makes the team narrow it before use.
pub fn ts_type(type_ref: &TypeRef) -> String {
    ts_type_in(type_ref, None)
}

/// [`ts_type`] for a module that imports `@appc/types` as a namespace: the spec's `type` and
/// entity names are qualified with `types_namespace` (`specTypes.Task[]`), so that no name of
/// the spec can clash with the module's own.
pub fn ts_type_qualified(type_ref: &TypeRef, types_namespace: &str) -> String {
    ts_type_in(type_ref, Some(types_namespace))
}

fn ts_type_in(type_ref: &TypeRef, types_namespace: Option<&str>) -> String {
    match type_ref {
        TypeRef::String | TypeRef::DateTime => "string".to_owned(),
        TypeRef::Int | TypeRef::Float => "number".to_owned(),
        TypeRef::Bool => "boolean".to_owned(),
        TypeRef::Json => "unknown".to_owned(),
        TypeRef::Entity { name } | TypeRef::Record { name } => match types_namespace {
            Some(namespace) => format!("{namespace}.{name}"),
            None => name.clone(),
        },
        TypeRef::List { item } => match item.as_ref() {
            // `T | null[]` would mean something else: the union needs parentheses.
            TypeRef::Optional { .. } => format!("({})[]", ts_type_in(item, types_namespace)),
            _ => format!("{}[]", ts_type_in(item, types_namespace)),
        },
        // `unknown` already includes `null`.
        TypeRef::Optional { inner } if **inner == TypeRef::Json => "unknown".to_owned(),
        TypeRef::Optional { inner } => format!("{} | null", ts_type_in(inner, types_namespace)),
    }
}

/// The TypeScript type of an entity's scalar column (without `| null` for `?`).
///
/// A `BigInt` travels as a decimal string (`appc_runtime::json::big_int`), since a JavaScript
/// number is exact only up to 2^53 (`BigInt(value)` turns it into a JavaScript bigint); `Int`
/// stays a number. `Bytes` is serde's default for `Vec<u8>`, an array of numbers.
pub fn ts_scalar_type(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::String | ScalarType::DateTime | ScalarType::BigInt => "string",
        ScalarType::Boolean => "boolean",
        ScalarType::Int | ScalarType::Float | ScalarType::Decimal => "number",
        ScalarType::Json => "unknown",
        ScalarType::Bytes => "number[]",
    }
}

/// The prefix of a namespace's event map names in `@appc/types`: none for the app's root
/// webSocket (`ServerToClientEvents`), the declared name otherwise (`InboxServerToClientEvents`).
pub fn event_map_prefix(namespace: &Namespace) -> String {
    namespace.event_map_prefix()
}

/// A single-quoted TypeScript string literal for `text`, with escapes.
pub fn ts_string_literal(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('\'');
    for character in text.chars() {
        match character {
            '\\' => literal.push_str("\\\\"),
            '\'' => literal.push_str("\\'"),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\t' => literal.push_str("\\t"),
            '\u{2028}' => literal.push_str("\\u2028"),
            '\u{2029}' => literal.push_str("\\u2029"),
            other if other.is_control() => {
                literal.push_str(&format!("\\u{:04x}", u32::from(other)));
            }
            other => literal.push(other),
        }
    }
    literal.push('\'');
    literal
}

/// Text for an HTML element's content or an attribute value.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optionals_are_nullable_and_parenthesized_inside_lists() {
        let nested = TypeRef::List {
            item: Box::new(TypeRef::Optional {
                inner: Box::new(TypeRef::Record {
                    name: "ChatMessage".to_owned(),
                }),
            }),
        };
        assert_eq!(ts_type(&nested), "(ChatMessage | null)[]");
        assert_eq!(ts_type(&TypeRef::DateTime), "string");
        assert_eq!(ts_type(&TypeRef::Json), "unknown");
        assert_eq!(
            ts_type(&TypeRef::Optional {
                inner: Box::new(TypeRef::List {
                    item: Box::new(TypeRef::Int)
                })
            }),
            "number[] | null"
        );
        assert_eq!(
            ts_type_qualified(&nested, "specTypes"),
            "(specTypes.ChatMessage | null)[]"
        );
    }

    #[test]
    fn string_literals_escape_quotes_and_backslashes() {
        assert_eq!(ts_string_literal("/inbox"), "'/inbox'");
        assert_eq!(ts_string_literal("it's \\ here"), "'it\\'s \\\\ here'");
        assert_eq!(html_escape("Tom & <Jerry>"), "Tom &amp; &lt;Jerry&gt;");
    }
}
