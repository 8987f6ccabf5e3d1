//! Payload types: `type` declarations and the type expressions of event payloads and handshakes.
//!
//! A type is a built-in (`String Int Float Bool DateTime Json`), an entity, a `type` record, a list
//! `[T]` or an optional `T?`. Where a field's type is written (a `type` record's field, an event's
//! payload), the dict form `{ type: String, maxLength: 2000 }` also gives the most characters of
//! a `String` or items of a list that the server accepts.

use super::declarations::{DeclKind, Declarations};
use super::fields::{self, DictShape, FieldSpec};
use super::ir::{RecordField, RecordType, TypeRef};
use super::suggest;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Expr, ExprKind, Span};
use std::collections::HashMap;
use std::fmt::Display;

const BUILT_INS: [&str; 6] = ["String", "Int", "Float", "Bool", "DateTime", "Json"];

/// A `type` declaration as checked, with the spans of its field names.
pub struct CheckedRecord {
    pub name: String,
    /// The fields whose types resolved, in declaration order.
    pub fields: Vec<CheckedRecordField>,
}

/// One field of a `type` declaration as checked.
pub struct CheckedRecordField {
    pub field: RecordField,
    /// Where the field's name is written.
    pub name_span: Span,
}

impl CheckedRecord {
    /// The IR record.
    pub fn into_record(self) -> RecordType {
        RecordType {
            name: self.name,
            fields: self
                .fields
                .into_iter()
                .map(|checked| checked.field)
                .collect(),
        }
    }
}

/// The checked `type` declarations in source order, with an index by name.
pub struct CheckedRecords {
    pub list: Vec<CheckedRecord>,
    index_by_name: HashMap<String, usize>,
}

impl CheckedRecords {
    pub fn get(&self, name: &str) -> Option<&CheckedRecord> {
        self.index_by_name.get(name).map(|index| &self.list[*index])
    }
}

/// Checks every `type` declaration.
pub fn check_records(
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> CheckedRecords {
    let mut records = Vec::new();
    for decl in declarations.of_kind(DeclKind::Type) {
        let type_name = &decl.name.name;
        let owner = format_args!("type `{type_name}`");
        let Some(entries) = fields::expect_dict(&decl.body, &owner, diagnostics) else {
            continue;
        };
        let mut record = CheckedRecord {
            name: decl.name.name.clone(),
            fields: Vec::new(),
        };
        for entry in fields::unique_entries(entries, &owner, diagnostics) {
            let key = &entry.key.name;
            let what = format_args!("field `{key}` of {owner}");
            if let Some(field_type) =
                resolve_field_type(&entry.value, &what, declarations, diagnostics)
            {
                record.fields.push(CheckedRecordField {
                    field: RecordField {
                        name: entry.key.name.clone(),
                        field_type: field_type.type_ref,
                        max_length: field_type.max_length,
                    },
                    name_span: entry.key.span,
                });
            }
        }
        records.push(record);
    }
    let index_by_name = records
        .iter()
        .enumerate()
        .map(|(index, checked)| (checked.name.clone(), index))
        .collect();
    let checked = CheckedRecords {
        list: records,
        index_by_name,
    };
    report_records_that_contain_themselves(&checked, diagnostics);
    checked
}

/// A record whose required fields lead back to itself (`type A { b: B }`, `type B { a: A }`)
/// has no finite value, so no payload could ever be sent. Optional fields and lists end such a
/// chain. Each cycle is reported once, at the record of the cycle declared first.
fn report_records_that_contain_themselves(
    records: &CheckedRecords,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // The records each record requires directly: (field index, record index).
    let required: Vec<Vec<(usize, usize)>> = records
        .list
        .iter()
        .map(|checked| {
            checked
                .fields
                .iter()
                .enumerate()
                .filter_map(
                    |(field_index, checked_field)| match &checked_field.field.field_type {
                        TypeRef::Record { name } => records
                            .index_by_name
                            .get(name)
                            .map(|target| (field_index, *target)),
                        _ => None,
                    },
                )
                .collect()
        })
        .collect();
    for start in 0..records.list.len() {
        // Depth-first search over records declared at or after `start`, so that a cycle is only
        // found from its first record. The path holds (record, field) steps.
        let mut path: Vec<(usize, usize)> = Vec::new();
        let mut visited = vec![false; records.list.len()];
        if let Some(cycle) = find_cycle(start, start, &required, &mut visited, &mut path) {
            let steps: Vec<String> = cycle
                .iter()
                .map(|(record, field)| {
                    let record = &records.list[*record];
                    format!("`{}.{}`", record.name, record.fields[*field].field.name)
                })
                .collect();
            let (first_record, first_field) = cycle[0];
            let start_record = &records.list[first_record];
            let name = &start_record.name;
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "type `{name}` contains itself through {}, so no value of it can exist",
                        steps.join(" -> ")
                    ),
                    start_record.fields[first_field].name_span,
                    format!("leads back to `{name}`"),
                )
                .with_help("make one of these fields optional (`Type?`) or a list (`[Type]`)"),
            );
        }
    }
}

fn find_cycle(
    start: usize,
    current: usize,
    required: &[Vec<(usize, usize)>],
    visited: &mut [bool],
    path: &mut Vec<(usize, usize)>,
) -> Option<Vec<(usize, usize)>> {
    visited[current] = true;
    for &(field, target) in &required[current] {
        path.push((current, field));
        if target == start {
            return Some(path.clone());
        }
        if target > start
            && !visited[target]
            && let Some(cycle) = find_cycle(start, target, required, visited, path)
        {
            return Some(cycle);
        }
        path.pop();
    }
    None
}

/// Resolves a type expression; `what` says whose type it is, for messages.
pub fn resolve(
    expr: &Expr,
    what: &dyn Display,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<TypeRef> {
    match &expr.kind {
        ExprKind::Var(name) => resolve_name(name, expr.span, declarations, diagnostics),
        ExprKind::List(items) => match items.as_slice() {
            [item] => Some(TypeRef::List {
                item: Box::new(resolve(item, what, declarations, diagnostics)?),
            }),
            _ => {
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "a list type has exactly one item type, found {}",
                            items.len()
                        ),
                        expr.span,
                        "expected `[Type]`",
                    )
                    .with_help(
                        "write the item type once, e.g. `[String]`; use a `type` for records",
                    ),
                );
                None
            }
        },
        ExprKind::Optional(inner) => {
            if matches!(inner.kind, ExprKind::Optional(_)) {
                diagnostics.push(
                    Diagnostic::error(
                        "a type can be made optional only once",
                        expr.span,
                        "`?` repeated",
                    )
                    .with_help("remove the extra `?`"),
                );
                return None;
            }
            Some(TypeRef::Optional {
                inner: Box::new(resolve(inner, what, declarations, diagnostics)?),
            })
        }
        ExprKind::Dict(_) => {
            diagnostics.push(
                Diagnostic::error(
                    format!("expected a type for {what}, found a dictionary"),
                    expr.span,
                    "inline record types are not supported",
                )
                .with_help(
                    "declare the record with `type Name { field: Type }` and use its name here; an acknowledged event is written `{ payload: Type, ack: Type }`, an event without a payload `{}`, a limited length `{ type: String, maxLength: 2000 }`",
                ),
            );
            None
        }
        _ => {
            fields::report_wrong_shape(
                expr,
                "a type such as `String`, `[Int]` or `Message?`",
                what,
                diagnostics,
            );
            None
        }
    }
}

/// The largest `maxLength`: the limit is checked on values of at most the Socket.IO packet
/// size, and the generated code holds it in a `usize` on every platform.
pub const MAX_LENGTH_LIMIT: i64 = u32::MAX as i64;

/// The type of a field or an event payload, with its `maxLength` when one is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldType {
    pub type_ref: TypeRef,
    /// The most characters of a `String` or items of a list the server accepts.
    pub max_length: Option<u64>,
    /// Where `maxLength` is written, for rules that refuse it in some places.
    pub max_length_span: Option<Span>,
}

const FIELD_TYPE_FIELDS: [FieldSpec; 2] = [
    FieldSpec::required("type", "type: String"),
    FieldSpec::optional("maxLength"),
];

/// Resolves the type written for a field or a payload: a type expression, or
/// `{ type: T, maxLength: N }` where `T` is a `String` or a list (optional or not) and `N` a
/// whole number from 1 to [`MAX_LENGTH_LIMIT`].
pub fn resolve_field_type(
    expr: &Expr,
    what: &dyn Display,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<FieldType> {
    // A dict that says `type` or `maxLength` is this form (its other keys get a did-you-mean);
    // any other dict is an inline record, which `resolve` explains.
    let is_field_type = matches!(&expr.kind, ExprKind::Dict(entries)
        if entries.iter().any(|entry| entry.key.name == "type" || entry.key.name == "maxLength"));
    if !is_field_type {
        return resolve(expr, what, declarations, diagnostics).map(|type_ref| FieldType {
            type_ref,
            max_length: None,
            max_length_span: None,
        });
    }
    let owner = what.to_string();
    let shape = DictShape {
        owner: &owner,
        owner_span: expr.span,
        fields: &FIELD_TYPE_FIELDS,
        unsupported: &[],
        unsupported_help: None,
    };
    let fields = fields::check_dict(expr, &shape, diagnostics)?;
    let type_expr = fields.get("type");
    let type_ref =
        type_expr.and_then(|type_expr| resolve(type_expr, what, declarations, diagnostics));
    let max_length = fields.optional("maxLength", |entry| {
        check_max_length(&entry.value, what, diagnostics)
    });
    let max_length_span = fields.get("maxLength").map(|value| value.span);
    let type_ref = type_ref?;
    let max_length = max_length.into_ir().ok()?;
    if max_length.is_some() && !has_length(&type_ref) {
        let type_span = type_expr.map_or(expr.span, |type_expr| type_expr.span);
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "`maxLength` of {what} applies to a `String` or a list, not to `{type_ref}`"
                ),
                max_length_span.unwrap_or(expr.span),
                "no length to limit",
            )
            .with_secondary(type_span, "the type is given here")
            .with_help(
                "remove `maxLength`; it counts the characters of a `String` or the items of a list",
            ),
        );
        return None;
    }
    Some(FieldType {
        type_ref,
        max_length,
        max_length_span,
    })
}

/// Who sends the values of a payload type (an event's payload, an operation's input or output).
/// The server checks `maxLength` on what it receives, so a type the server sends may not carry
/// it: it would promise a check that never happens.
#[derive(Debug, Clone, Copy)]
pub enum Sender {
    /// Clients send it and the server checks it (a `clientToServer` payload, an `input`).
    Client,
    /// The server sends it; `checked_instead` says where a `maxLength` would be checked, for
    /// the help (e.g. "on a `clientToServer` event").
    Server { checked_instead: &'static str },
}

/// Resolves a payload type written as for a field (see [`resolve_field_type`]), refusing
/// `maxLength` on what the server sends. `what` names the value, e.g. "the output of query
/// `getTasks`".
pub fn resolve_payload_type(
    value: &Expr,
    what: &dyn Display,
    sender: Sender,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<FieldType> {
    let payload = resolve_field_type(value, what, declarations, diagnostics)?;
    if let (Sender::Server { checked_instead }, Some(span)) = (sender, payload.max_length_span) {
        diagnostics.push(
            Diagnostic::error(
                format!("`maxLength` on {what}, which the server sends"),
                span,
                "never checked",
            )
            .with_help(format!("the server checks `maxLength` on what clients send; remove it here, or put it {checked_instead} or on a field of a `type`")),
        );
        return None;
    }
    Some(payload)
}

/// `maxLength: N`: a whole number from 1 to [`MAX_LENGTH_LIMIT`].
fn check_max_length(
    value: &Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<u64> {
    let help = "write the most characters (of a `String`) or items (of a list) to accept, e.g. `maxLength: 2000`";
    match &value.kind {
        ExprKind::Integer(length) if (1..=MAX_LENGTH_LIMIT).contains(length) => {
            u64::try_from(*length).ok()
        }
        ExprKind::Integer(length) => {
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "`maxLength` of {what} must be from 1 to {MAX_LENGTH_LIMIT}, found {length}"
                    ),
                    value.span,
                    if *length < 1 {
                        "no value could be this short"
                    } else {
                        "too large"
                    },
                )
                .with_help(help),
            );
            None
        }
        ExprKind::Error => None,
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "expected a whole number for `maxLength` of {what}, found {}",
                        value.describe()
                    ),
                    value.span,
                    "expected a whole number",
                )
                .with_help(help),
            );
            None
        }
    }
}

/// Whether `maxLength` means something for the type: a `String` or a list, optional or not.
fn has_length(type_ref: &TypeRef) -> bool {
    match type_ref {
        TypeRef::String | TypeRef::List { .. } => true,
        TypeRef::Optional { inner } => has_length(inner),
        _ => false,
    }
}

fn resolve_name(
    name: &str,
    span: Span,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<TypeRef> {
    let built_in = match name {
        "String" => Some(TypeRef::String),
        "Int" => Some(TypeRef::Int),
        "Float" => Some(TypeRef::Float),
        "Bool" => Some(TypeRef::Bool),
        "DateTime" => Some(TypeRef::DateTime),
        "Json" => Some(TypeRef::Json),
        _ => None,
    };
    if built_in.is_some() {
        return built_in;
    }
    match declarations.lookup(name) {
        Some((DeclKind::Entity, _)) => Some(TypeRef::Entity {
            name: name.to_string(),
        }),
        Some((DeclKind::Type, _)) => Some(TypeRef::Record {
            name: name.to_string(),
        }),
        Some((kind, decl)) => {
            diagnostics.push(
                Diagnostic::error(
                    format!("`{name}` is {}, not a type", kind.with_article()),
                    span,
                    "expected a type",
                )
                .with_secondary(
                    decl.name.span,
                    format!("`{name}` is declared here as {}", kind.with_article()),
                )
                .with_help(format!(
                    "use a built-in type ({}), an entity or a `type`",
                    suggest::quoted_alternatives(BUILT_INS)
                )),
            );
            None
        }
        None => {
            let help = if name == "Boolean" {
                "payload types spell it `Bool`".to_string()
            } else {
                let mut candidates: Vec<&str> = BUILT_INS.to_vec();
                candidates.extend(declarations.names_of_kind(DeclKind::Entity));
                candidates.extend(declarations.names_of_kind(DeclKind::Type));
                match suggest::closest(name, candidates.iter().copied()) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None => format!(
                        "use a built-in type ({}), an entity, or declare `type {name} {{ ... }}`",
                        suggest::quoted_alternatives(BUILT_INS)
                    ),
                }
            };
            diagnostics.push(
                Diagnostic::error(format!("cannot find type `{name}`"), span, "unknown type")
                    .with_help(help),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::declarations;
    use crate::syntax::ast::Module;

    /// `T??` cannot come out of the parser today, but the AST can hold it, so the analyzer says
    /// what is wrong instead of accepting it.
    #[test]
    fn a_doubly_optional_type_is_reported() {
        let module = Module::default();
        let mut diagnostics = Vec::new();
        let declarations = declarations::collect(&module, &mut diagnostics);
        diagnostics.clear();
        let string = Expr::new(ExprKind::Var("String".to_string()), Span::new(0, 6));
        let once = Expr::new(ExprKind::Optional(Box::new(string)), Span::new(0, 7));
        let twice = Expr::new(ExprKind::Optional(Box::new(once)), Span::new(0, 8));
        let resolved = resolve(&twice, &"a field", &declarations, &mut diagnostics);
        assert_eq!(resolved, None);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            diagnostics[0].message,
            "a type can be made optional only once"
        );
        assert_eq!(diagnostics[0].primary.span, Span::new(0, 8));
    }

    #[test]
    fn lists_and_optionals_nest() {
        let module = Module::default();
        let mut diagnostics = Vec::new();
        let declarations = declarations::collect(&module, &mut diagnostics);
        diagnostics.clear();
        let int = Expr::new(ExprKind::Var("Int".to_string()), Span::new(1, 4));
        let optional = Expr::new(ExprKind::Optional(Box::new(int)), Span::new(1, 5));
        let list = Expr::new(ExprKind::List(vec![optional]), Span::new(0, 6));
        let resolved = resolve(&list, &"a field", &declarations, &mut diagnostics);
        assert!(diagnostics.is_empty());
        assert_eq!(
            resolved,
            Some(TypeRef::List {
                item: Box::new(TypeRef::Optional {
                    inner: Box::new(TypeRef::Int)
                })
            })
        );
    }
}
