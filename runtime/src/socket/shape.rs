//! The spec's payload types as data ([`Shape`], [`RecordShape`], the [`SpecType`] trait that
//! every payload and handshake type implements) and the check of a received value against them
//! ([`check_value`]), which words its errors in the spec's own terms: the spec type and the
//! field path (`lines[2].text: expected String, found null`), never Rust types or serde's.
//!
//! Values are checked after the Socket.IO parser has turned the packet (JSON or msgpack) into a
//! `serde_json::Value` and before serde turns that into the Rust type, so both encodings get
//! the same messages, and a field's maximum length (`{ type: String, maxLength: 2000 }`) is
//! enforced before any user code runs. Fields that a type does not declare are ignored, as
//! serde ignores them.

use std::fmt::{self, Write as _};

use serde_json::Value;

/// How deep a checked value may nest (records in lists in records...). The JSON parser refuses
/// deeper text at 128 levels already; the bound keeps the recursive check itself safe for any
/// value, whichever parser built it.
pub const MAX_NESTING_DEPTH: usize = 128;

/// A type of the spec, as a received value must match it.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// `String`.
    String,
    /// `Int`: a whole number that fits in 64 bits.
    Int,
    /// `Float`: any number.
    Float,
    /// `Bool`.
    Bool,
    /// `DateTime`: an RFC 3339 string.
    DateTime,
    /// `Json`: any value.
    Json,
    /// An entity's `BigInt` column: a decimal string (or a whole number) that fits in 64 bits.
    BigInt,
    /// An entity's `Bytes` column: a list of whole numbers from 0 to 255.
    Bytes,
    /// `[T]`.
    List(&'static Shape),
    /// `T?`: `null`, or left out when it is a record's field.
    Optional(&'static Shape),
    /// A `type` record or an entity. A function, so that records may contain themselves
    /// through lists and optionals.
    Record(fn() -> &'static RecordShape),
    /// An event declared without a payload: no value matches (an event that carries none is
    /// accepted before any value is checked; see [`NoPayload`](super::NoPayload)).
    Nothing,
}

/// A `type` record or an entity: its spec name and its fields.
#[derive(Debug)]
pub struct RecordShape {
    /// The name in `main.wasp`, used in messages (`expected ChatMessage, found String "hi"`).
    pub name: &'static str,
    /// The fields, in declaration order.
    pub fields: &'static [FieldShape],
}

/// One field of a record.
#[derive(Debug)]
pub struct FieldShape {
    /// The field's name as it travels (the spec's name).
    pub name: &'static str,
    /// Its type.
    pub shape: Shape,
    /// `maxLength` of the field: the most characters of a `String`, or items of a list.
    pub max_length: Option<usize>,
}

/// A Rust type that stands for a spec type: the payload and handshake types of generated code.
/// The runtime implements it for the built-in types, lists and optionals; the generator for
/// every `type` record and entity.
pub trait SpecType {
    /// The spec type the received value is checked against.
    const SHAPE: Shape;
}

impl SpecType for String {
    const SHAPE: Shape = Shape::String;
}

impl SpecType for i64 {
    const SHAPE: Shape = Shape::Int;
}

impl SpecType for f64 {
    const SHAPE: Shape = Shape::Float;
}

impl SpecType for bool {
    const SHAPE: Shape = Shape::Bool;
}

impl SpecType for chrono::DateTime<chrono::Utc> {
    const SHAPE: Shape = Shape::DateTime;
}

impl SpecType for Value {
    const SHAPE: Shape = Shape::Json;
}

impl<T: SpecType> SpecType for Vec<T> {
    const SHAPE: Shape = Shape::List(&T::SHAPE);
}

impl<T: SpecType> SpecType for Option<T> {
    const SHAPE: Shape = Shape::Optional(&T::SHAPE);
}

impl fmt::Display for Shape {
    /// The type as `main.wasp` writes it: `String`, `[ChatMessage]`, `Int?`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::String => formatter.write_str("String"),
            Shape::Int => formatter.write_str("Int"),
            Shape::Float => formatter.write_str("Float"),
            Shape::Bool => formatter.write_str("Bool"),
            Shape::DateTime => formatter.write_str("DateTime"),
            Shape::Json => formatter.write_str("Json"),
            Shape::BigInt => formatter.write_str("BigInt"),
            Shape::Bytes => formatter.write_str("Bytes"),
            Shape::List(item) => write!(formatter, "[{item}]"),
            Shape::Optional(inner) => write!(formatter, "{inner}?"),
            Shape::Record(record) => formatter.write_str(record().name),
            Shape::Nothing => formatter.write_str("no payload"),
        }
    }
}

/// A received value that does not match its spec type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// The path of the failing field (`lines[2].text`), empty for the value itself.
    pub path: String,
    /// What is wrong, in the spec's words, prefixed with the path of the value it is about
    /// (`lines[2].text: expected String, found null`; for a missing field, the path of the
    /// record that lacks it: `lines[2]: missing field text, expected String`).
    pub message: String,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

/// Checks `value` against `shape`, and its length against `max_length` (characters of a
/// `String`, items of a list; for an optional, of the value when there is one).
///
/// ```
/// use appc_runtime::codegen::{Shape, check_value};
/// let error = check_value(&serde_json::json!("two"), Shape::Int, None).unwrap_err();
/// assert_eq!(error.message, r#"expected Int, found String "two""#);
/// let error = check_value(&serde_json::json!("héllo"), Shape::String, Some(4)).unwrap_err();
/// assert_eq!(error.message, "expected at most 4 characters, found 5");
/// ```
pub fn check_value(
    value: &Value,
    shape: Shape,
    max_length: Option<usize>,
) -> Result<(), ShapeError> {
    let mut checker = Checker { path: Vec::new() };
    checker
        .check(value, shape, max_length)
        .map_err(|problem| checker.error(problem))
}

/// One step of a path: a record's field or a list's item.
enum Step {
    Field(&'static str),
    Item(usize),
}

/// Why a value failed, before the path is put in front.
enum Problem {
    Mismatch {
        expected: String,
        found: String,
    },
    TooLong {
        max_length: usize,
        length: usize,
        unit: &'static str,
    },
    MissingField {
        name: &'static str,
        expected: Shape,
    },
    TooDeep,
}

struct Checker {
    /// Where the check is: pushed on the way down, so it is only formatted for an error.
    path: Vec<Step>,
}

impl Checker {
    fn check(
        &mut self,
        value: &Value,
        shape: Shape,
        max_length: Option<usize>,
    ) -> Result<(), Problem> {
        if self.path.len() > MAX_NESTING_DEPTH {
            return Err(Problem::TooDeep);
        }
        let mismatch = |expected: &dyn fmt::Display| {
            Err(Problem::Mismatch {
                expected: expected.to_string(),
                found: describe(value),
            })
        };
        match (shape, value) {
            (Shape::Optional(_), Value::Null) | (Shape::Json, _) => Ok(()),
            (Shape::Optional(inner), _) => self.check(value, *inner, max_length),
            (Shape::String, Value::String(text)) => {
                check_length(max_length, || text.chars().count(), "characters")
            }
            (Shape::Int, Value::Number(number)) if number.is_i64() => Ok(()),
            (Shape::Int, Value::Number(number)) if number.is_u64() => {
                mismatch(&"Int (a whole number of at most 64 bits)")
            }
            (Shape::Float, Value::Number(_)) | (Shape::Bool, Value::Bool(_)) => Ok(()),
            (Shape::DateTime, Value::String(text))
                if text
                    .parse::<chrono::DateTime<chrono::FixedOffset>>()
                    .is_ok() =>
            {
                Ok(())
            }
            (Shape::DateTime, _) => {
                mismatch(&"DateTime (an RFC 3339 string such as \"2024-05-01T12:00:00Z\")")
            }
            (Shape::BigInt, Value::Number(number)) if number.is_i64() => Ok(()),
            (Shape::BigInt, Value::String(text)) if text.parse::<i64>().is_ok() => Ok(()),
            (Shape::BigInt, _) => {
                mismatch(&"BigInt (a whole number of at most 64 bits, as a decimal string)")
            }
            (Shape::Bytes, Value::Array(items))
                if items
                    .iter()
                    .all(|item| item.as_u64().is_some_and(|byte| byte <= 255)) =>
            {
                Ok(())
            }
            (Shape::Bytes, _) => mismatch(&"Bytes (a list of whole numbers from 0 to 255)"),
            (Shape::List(item), Value::Array(items)) => {
                check_length(max_length, || items.len(), "items")?;
                for (index, element) in items.iter().enumerate() {
                    self.path.push(Step::Item(index));
                    self.check(element, *item, None)?;
                    self.path.pop();
                }
                Ok(())
            }
            (Shape::Record(record), Value::Object(object)) => {
                for field in record().fields {
                    match object.get(field.name) {
                        Some(field_value) => {
                            self.path.push(Step::Field(field.name));
                            self.check(field_value, field.shape, field.max_length)?;
                            self.path.pop();
                        }
                        // serde reads a missing optional field as `None`.
                        None if matches!(field.shape, Shape::Optional(_)) => {}
                        None => {
                            return Err(Problem::MissingField {
                                name: field.name,
                                expected: field.shape,
                            });
                        }
                    }
                }
                Ok(())
            }
            (expected, _) => mismatch(&expected),
        }
    }

    fn error(&self, problem: Problem) -> ShapeError {
        let path = format_path(&self.path);
        let at = |path: &str| {
            if path.is_empty() {
                String::new()
            } else {
                format!("{path}: ")
            }
        };
        let (path, message) = match problem {
            Problem::Mismatch { expected, found } => {
                let message = format!("{}expected {expected}, found {found}", at(&path));
                (path, message)
            }
            Problem::TooLong {
                max_length,
                length,
                unit,
            } => {
                let message = format!(
                    "{}expected at most {max_length} {unit}, found {length}",
                    at(&path)
                );
                (path, message)
            }
            Problem::MissingField { name, expected } => {
                let message = format!("{}missing field {name}, expected {expected}", at(&path));
                let field_path = if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                (field_path, message)
            }
            Problem::TooDeep => {
                let message = format!(
                    "{}nested more than {MAX_NESTING_DEPTH} levels deep; send a flatter value",
                    at(&path)
                );
                (path, message)
            }
        };
        ShapeError { path, message }
    }
}

fn check_length(
    max_length: Option<usize>,
    length: impl FnOnce() -> usize,
    unit: &'static str,
) -> Result<(), Problem> {
    let Some(max_length) = max_length else {
        return Ok(());
    };
    let length = length();
    if length > max_length {
        return Err(Problem::TooLong {
            max_length,
            length,
            unit,
        });
    }
    Ok(())
}

/// `lines[2].text`
fn format_path(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Field(name) if text.is_empty() => text.push_str(name),
            Step::Field(name) => {
                text.push('.');
                text.push_str(name);
            }
            Step::Item(index) => {
                let _ = write!(text, "[{index}]");
            }
        }
    }
    text
}

/// How many characters of a received string a message quotes.
const QUOTED_CHARACTERS: usize = 40;

/// A received value in the spec's words: `null`, `Bool true`, `Int 5`, `Float 1.5`,
/// `String "two"` (long strings cut), `a list (3 items)`, `a record`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(value) => format!("Bool {value}"),
        Value::Number(number) if number.is_f64() => format!("Float {number}"),
        Value::Number(number) => format!("Int {number}"),
        Value::String(text) => {
            let mut characters = text.chars();
            let quoted: String = characters.by_ref().take(QUOTED_CHARACTERS).collect();
            if characters.next().is_some() {
                format!(
                    "String {:?}... ({} characters)",
                    quoted,
                    text.chars().count()
                )
            } else {
                format!("String {quoted:?}")
            }
        }
        Value::Array(items) if items.len() == 1 => "a list (1 item)".to_owned(),
        Value::Array(items) => format!("a list ({} items)", items.len()),
        Value::Object(_) => "a record".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static LINE: RecordShape = RecordShape {
        name: "Line",
        fields: &[
            FieldShape {
                name: "text",
                shape: Shape::String,
                max_length: Some(5),
            },
            FieldShape {
                name: "votes",
                shape: Shape::Int,
                max_length: None,
            },
            FieldShape {
                name: "note",
                shape: Shape::Optional(&Shape::String),
                max_length: Some(3),
            },
        ],
    };

    static POEM: RecordShape = RecordShape {
        name: "Poem",
        fields: &[
            FieldShape {
                name: "title",
                shape: Shape::String,
                max_length: None,
            },
            FieldShape {
                name: "lines",
                shape: Shape::List(&Shape::Record(|| &LINE)),
                max_length: Some(3),
            },
            FieldShape {
                name: "written",
                shape: Shape::Optional(&Shape::DateTime),
                max_length: None,
            },
            FieldShape {
                name: "extra",
                shape: Shape::Json,
                max_length: None,
            },
        ],
    };

    /// `type Tree { children: [Tree] }`: a record that contains itself through a list.
    static TREE: RecordShape = RecordShape {
        name: "Tree",
        fields: &[FieldShape {
            name: "children",
            shape: Shape::List(&Shape::Record(|| &TREE)),
            max_length: None,
        }],
    };

    fn poem() -> Shape {
        Shape::Record(|| &POEM)
    }

    fn error(value: Value, shape: Shape) -> ShapeError {
        check_value(&value, shape, None).expect_err("the value does not match")
    }

    fn valid_poem() -> Value {
        json!({
            "title": "Ode",
            "lines": [{ "text": "one", "votes": 1 }, { "text": "two", "votes": -2, "note": null }],
            "written": "2024-05-01T12:00:00+02:00",
            "extra": { "anything": [1, "goes"] },
            "ignored": "fields a type does not declare are ignored, as serde ignores them"
        })
    }

    #[test]
    fn every_built_in_type_accepts_its_values_and_names_itself_otherwise() {
        let accepted = [
            (Shape::String, json!("text")),
            (Shape::Int, json!(-5)),
            (Shape::Int, json!(i64::MAX)),
            (Shape::Float, json!(1.5)),
            (Shape::Float, json!(3)),
            (Shape::Bool, json!(false)),
            (Shape::DateTime, json!("2024-05-01T12:00:00Z")),
            (Shape::Json, json!({ "a": [null] })),
            (Shape::BigInt, json!("9223372036854775807")),
            (Shape::BigInt, json!(7)),
            (Shape::Bytes, json!([0, 255])),
            (Shape::List(&Shape::Int), json!([1, 2])),
            (Shape::Optional(&Shape::Int), json!(null)),
            (Shape::Optional(&Shape::Int), json!(3)),
        ];
        for (shape, value) in accepted {
            assert_eq!(check_value(&value, shape, None), Ok(()), "{shape} {value}");
        }
        let refused = [
            (
                Shape::Int,
                json!("two"),
                r#"expected Int, found String "two""#,
            ),
            (Shape::Int, json!(1.5), "expected Int, found Float 1.5"),
            (
                Shape::Int,
                json!(u64::MAX),
                "expected Int (a whole number of at most 64 bits), found Int 18446744073709551615",
            ),
            (Shape::String, json!(null), "expected String, found null"),
            (
                Shape::Float,
                json!("1.5"),
                r#"expected Float, found String "1.5""#,
            ),
            (Shape::Bool, json!(1), "expected Bool, found Int 1"),
            (
                Shape::DateTime,
                json!("yesterday"),
                r#"expected DateTime (an RFC 3339 string such as "2024-05-01T12:00:00Z"), found String "yesterday""#,
            ),
            (
                Shape::BigInt,
                json!("12x"),
                r#"expected BigInt (a whole number of at most 64 bits, as a decimal string), found String "12x""#,
            ),
            (
                Shape::Bytes,
                json!([256]),
                "expected Bytes (a list of whole numbers from 0 to 255), found a list (1 item)",
            ),
            (
                Shape::List(&Shape::Int),
                json!({}),
                "expected [Int], found a record",
            ),
            (
                Shape::Optional(&Shape::Bool),
                json!("yes"),
                r#"expected Bool, found String "yes""#,
            ),
            (
                poem(),
                json!([1, 2, 3]),
                "expected Poem, found a list (3 items)",
            ),
        ];
        for (shape, value, message) in refused {
            let refusal = error(value, shape);
            assert_eq!(refusal.message, message);
            assert_eq!(refusal.path, "");
        }
    }

    #[test]
    fn nested_errors_name_the_field_path() {
        assert_eq!(check_value(&valid_poem(), poem(), None), Ok(()));
        let mut value = valid_poem();
        value["lines"][1]["votes"] = json!("two");
        let refusal = error(value, poem());
        assert_eq!(refusal.path, "lines[1].votes");
        assert_eq!(
            refusal.message,
            r#"lines[1].votes: expected Int, found String "two""#
        );

        let mut value = valid_poem();
        value["lines"][0]["text"] = json!(null);
        assert_eq!(
            error(value, poem()).message,
            "lines[0].text: expected String, found null"
        );
    }

    #[test]
    fn a_missing_field_is_named_and_a_missing_optional_field_is_fine() {
        let mut value = valid_poem();
        value["lines"][1].as_object_mut().unwrap().remove("text");
        let refusal = error(value, poem());
        assert_eq!(refusal.path, "lines[1].text");
        assert_eq!(
            refusal.message,
            "lines[1]: missing field text, expected String"
        );

        let mut value = valid_poem();
        value.as_object_mut().unwrap().remove("title");
        let refusal = error(value, poem());
        assert_eq!(refusal.path, "title");
        assert_eq!(refusal.message, "missing field title, expected String");

        let mut value = valid_poem();
        value.as_object_mut().unwrap().remove("written");
        assert_eq!(check_value(&value, poem(), None), Ok(()));
    }

    #[test]
    fn max_length_counts_characters_not_bytes_and_list_items() {
        // Five characters, eleven bytes in UTF-8: within `maxLength: 5`.
        let mut value = valid_poem();
        value["lines"][0]["text"] = json!("héllø");
        assert_eq!(check_value(&value, poem(), None), Ok(()));
        value["lines"][0]["text"] = json!("👋👋👋👋👋👋");
        let refusal = error(value, poem());
        assert_eq!(refusal.path, "lines[0].text");
        assert_eq!(
            refusal.message,
            "lines[0].text: expected at most 5 characters, found 6"
        );

        let mut value = valid_poem();
        value["lines"] = json!(vec![json!({ "text": "a", "votes": 1 }); 4]);
        assert_eq!(
            error(value, poem()).message,
            "lines: expected at most 3 items, found 4"
        );

        // On an optional field the limit applies to the value when there is one.
        let mut value = valid_poem();
        value["lines"][0]["note"] = json!("long");
        assert_eq!(
            error(value, poem()).message,
            "lines[0].note: expected at most 3 characters, found 4"
        );

        // The limit of a whole payload (`chatMessage: { type: String, maxLength: 2000 }`).
        let long = "x".repeat(2417);
        assert_eq!(
            check_value(&json!(long), Shape::String, Some(2000))
                .unwrap_err()
                .message,
            "expected at most 2000 characters, found 2417"
        );
        assert_eq!(
            check_value(&json!("x".repeat(2000)), Shape::String, Some(2000)),
            Ok(())
        );
    }

    #[test]
    fn long_strings_are_quoted_only_in_part() {
        let refusal = error(json!("y".repeat(1_000_000)), Shape::Int);
        assert_eq!(
            refusal.message,
            format!(
                r#"expected Int, found String "{}"... (1000000 characters)"#,
                "y".repeat(40)
            )
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_exhausting_the_stack() {
        let tree = Shape::Record(|| &TREE);
        let mut shallow = json!({ "children": [] });
        for _ in 0..10 {
            shallow = json!({ "children": [shallow] });
        }
        assert_eq!(check_value(&shallow, tree, None), Ok(()));

        let mut deep = json!({ "children": [] });
        for _ in 0..1_000 {
            deep = json!({ "children": [deep] });
        }
        let refusal = error(deep, tree);
        assert!(
            refusal
                .message
                .ends_with("nested more than 128 levels deep; send a flatter value"),
            "{}",
            refusal.message
        );
        assert!(refusal.path.starts_with("children[0].children[0]"));
    }

    #[test]
    fn shapes_print_as_the_spec_writes_them() {
        assert_eq!(<Vec<Option<i64>> as SpecType>::SHAPE.to_string(), "[Int?]");
        assert_eq!(Shape::List(&Shape::Record(|| &LINE)).to_string(), "[Line]");
    }
}
