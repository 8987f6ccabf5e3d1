//! How IR names and types become Rust: the askama filters of the server templates
//! (`{{ field.field_type|rust_type }}`, `{{ event.name|rust_string }}`), in the manner of
//! uniffi's filters modules, plus the identifier helpers the view models use for names.
//!
//! Every type is written with a full path (`::std::vec::Vec`, `crate::app::types::ChatMessage`)
//! so that a spec's own names (an entity called `Option`, a type called `Vec`) can never clash
//! with the names generated code relies on.
//!
//! The server generator brings this module into its templates' scope as `filters`, which is
//! where askama looks for custom filters.

use crate::analysis::ir::{ScalarType, TypeRef};
use askama::Values;
use heck::ToSnakeCase;
use std::fmt::Display;

/// The Rust path of the generated module that holds the `type` records.
const TYPES_MODULE: &str = "crate::app::types";
/// The Rust path of the generated module that holds the entities.
const ENTITIES_MODULE: &str = "crate::app::entities";

/// `{{ type_ref|rust_type }}`: the Rust type of a payload, handshake or record field type.
#[askama::filter_fn]
pub fn rust_type(type_ref: &TypeRef, _: &dyn Values) -> askama::Result<String> {
    Ok(payload_type(type_ref))
}

/// `{{ scalar|column_type }}`: the Rust type of an entity's scalar column (without `Option`
/// for `?`).
#[askama::filter_fn]
pub fn column_type(scalar: &ScalarType, _: &dyn Values) -> askama::Result<&'static str> {
    Ok(scalar_type(*scalar))
}

/// `{{ scalar|sql_type }}`: the variant of the runtime's portable `SqlType` for a scalar.
#[askama::filter_fn]
pub fn sql_type(scalar: &ScalarType, _: &dyn Values) -> askama::Result<&'static str> {
    Ok(match scalar {
        ScalarType::String => "Text",
        ScalarType::Boolean => "Boolean",
        ScalarType::Int | ScalarType::BigInt => "Integer",
        ScalarType::Float | ScalarType::Decimal => "Float",
        ScalarType::DateTime => "DateTime",
        ScalarType::Json => "Json",
        ScalarType::Bytes => "Bytes",
    })
}

/// `{{ scalar|shape_variant }}`: the runtime's `Shape` variant that a received value of an
/// entity's scalar column is checked against.
#[askama::filter_fn]
pub fn shape_variant(scalar: &ScalarType, _: &dyn Values) -> askama::Result<&'static str> {
    Ok(match scalar {
        ScalarType::String => "String",
        ScalarType::Boolean => "Bool",
        ScalarType::Int => "Int",
        ScalarType::BigInt => "BigInt",
        ScalarType::Float | ScalarType::Decimal => "Float",
        ScalarType::DateTime => "DateTime",
        ScalarType::Json => "Json",
        ScalarType::Bytes => "Bytes",
    })
}

/// `{{ max_length|rust_max_length }}`: a field's `maxLength` as the `Option<usize>` of its
/// `FieldShape`.
#[askama::filter_fn]
pub fn rust_max_length(max_length: &Option<u64>, _: &dyn Values) -> askama::Result<String> {
    Ok(match max_length {
        Some(max_length) => format!("::std::option::Option::Some({max_length})"),
        None => "::std::option::Option::None".to_owned(),
    })
}

/// `{{ text|rust_string }}`: a Rust string literal for the text, with escapes.
#[askama::filter_fn]
pub fn rust_string(text: impl Display, _: &dyn Values) -> askama::Result<String> {
    Ok(format!("{:?}", text.to_string()))
}

/// `{{ number|rust_f64 }}`: an `f64` literal that keeps its exact value (`1.0_f64`, not `1`).
#[askama::filter_fn]
pub fn rust_f64(number: &f64, _: &dyn Values) -> askama::Result<String> {
    Ok(format!("{number:?}_f64"))
}

/// `{{ type_ref|wasp_type }}`: a type as the spec writes it (`[ChatMessage]`, `String?`), for doc
/// comments.
#[askama::filter_fn]
pub fn wasp_type(type_ref: &TypeRef, _: &dyn Values) -> askama::Result<String> {
    Ok(type_ref.to_string())
}

/// A spec name (`createdAt`, `chatMessage`, `webSocket`) as a snake_case Rust identifier,
/// escaped with `r#` when it is a keyword.
pub fn snake_identifier(name: &str) -> String {
    escape_keyword(name.to_snake_case())
}

/// Makes a keyword usable as an identifier (`type` becomes `r#type`). `self`, `super`, `crate`
/// and `Self` cannot be raw identifiers, so they get a trailing underscore instead.
pub fn escape_keyword(identifier: String) -> String {
    const CANNOT_BE_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "try", "type",
        "unsafe", "use", "where", "while", "yield", "abstract", "become", "do", "final", "macro",
        "override", "priv", "typeof", "unsized", "virtual",
    ];
    if CANNOT_BE_RAW.contains(&identifier.as_str()) {
        format!("{identifier}_")
    } else if KEYWORDS.contains(&identifier.as_str()) {
        format!("r#{identifier}")
    } else {
        identifier
    }
}

fn payload_type(type_ref: &TypeRef) -> String {
    match type_ref {
        TypeRef::String => "::std::string::String".to_owned(),
        TypeRef::Int => "i64".to_owned(),
        TypeRef::Float => "f64".to_owned(),
        TypeRef::Bool => "bool".to_owned(),
        TypeRef::DateTime => "::chrono::DateTime<::chrono::Utc>".to_owned(),
        TypeRef::Json => "::appc_runtime::serde_json::Value".to_owned(),
        TypeRef::Entity { name } => format!("{ENTITIES_MODULE}::{name}"),
        TypeRef::Record { name } => format!("{TYPES_MODULE}::{name}"),
        TypeRef::List { item } => format!("::std::vec::Vec<{}>", payload_type(item)),
        TypeRef::Optional { inner } => format!("::std::option::Option<{}>", payload_type(inner)),
    }
}

fn scalar_type(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::String => "::std::string::String",
        ScalarType::Boolean => "bool",
        ScalarType::Int | ScalarType::BigInt => "i64",
        ScalarType::Float | ScalarType::Decimal => "f64",
        ScalarType::DateTime => "::chrono::DateTime<::chrono::Utc>",
        ScalarType::Json => "::appc_runtime::serde_json::Value",
        ScalarType::Bytes => "::std::vec::Vec<u8>",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_snake_case_identifiers_and_keywords_are_escaped() {
        assert_eq!(snake_identifier("createdAt"), "created_at");
        assert_eq!(snake_identifier("webSocket"), "web_socket");
        assert_eq!(snake_identifier("type"), "r#type");
        assert_eq!(snake_identifier("self"), "self_");
        assert_eq!(snake_identifier("Message"), "message");
    }

    #[test]
    fn payload_types_use_full_paths() {
        let nested = TypeRef::List {
            item: Box::new(TypeRef::Optional {
                inner: Box::new(TypeRef::Record {
                    name: "ChatMessage".to_owned(),
                }),
            }),
        };
        assert_eq!(
            payload_type(&nested),
            "::std::vec::Vec<::std::option::Option<crate::app::types::ChatMessage>>"
        );
        assert_eq!(payload_type(&TypeRef::Int), "i64");
        assert_eq!(nested.to_string(), "[ChatMessage?]");
    }
}
