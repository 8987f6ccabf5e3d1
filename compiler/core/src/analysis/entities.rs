//! Entities: checks the PSL body of every `entity` on its own (field types, attributes, defaults,
//! exactly one `@id`). The relations between entities are checked afterwards by `relations`,
//! which reads what this pass produced ([`CheckedEntity`]).

use super::checked_entity::{CheckedEntity, CheckedField, RelationAttribute, field_help};
use super::declarations::{DeclKind, Declarations};
use super::ir::{
    DefaultValue, EntityField, EntityFieldKind, EntityIndex, IndexOrigin, MAX_SQL_IDENTIFIER_BYTES,
    ReferentialAction, Relation, ScalarType,
};
use super::psl::{self, Attribute, ValueKind};
use super::suggest;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Decl, ExprKind, Span};

const SCALARS: [(&str, ScalarType); 9] = [
    ("String", ScalarType::String),
    ("Boolean", ScalarType::Boolean),
    ("Int", ScalarType::Int),
    ("BigInt", ScalarType::BigInt),
    ("Float", ScalarType::Float),
    ("Decimal", ScalarType::Decimal),
    ("DateTime", ScalarType::DateTime),
    ("Json", ScalarType::Json),
    ("Bytes", ScalarType::Bytes),
];

const FIELD_ATTRIBUTES: [&str; 6] = ["id", "default", "unique", "updatedAt", "relation", "map"];
const BLOCK_ATTRIBUTES: [&str; 4] = ["unique", "index", "map", "id"];
const DEFAULT_FUNCTIONS: [&str; 4] = ["autoincrement", "now", "uuid", "cuid"];
const REFERENTIAL_ACTIONS: [(&str, ReferentialAction); 5] = [
    ("Cascade", ReferentialAction::Cascade),
    ("Restrict", ReferentialAction::Restrict),
    ("NoAction", ReferentialAction::NoAction),
    ("SetNull", ReferentialAction::SetNull),
    ("SetDefault", ReferentialAction::SetDefault),
];

/// Table names a `@@map` may not start with (compared in lower case): SQLite keeps `sqlite_`
/// for itself, and the runtime keeps `_appc_` for its own tables (the migration history).
const RESERVED_TABLE_PREFIXES: [&str; 2] = ["sqlite_", "_appc_"];

/// Checks every entity of the spec on its own. A relation field comes out pointing at its target
/// entity only; `relations` fills in the rest.
pub fn check<'a>(
    declarations: &Declarations<'a>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<CheckedEntity<'a>> {
    let checked: Vec<CheckedEntity> = declarations
        .of_kind(DeclKind::Entity)
        .filter_map(|decl| check_entity(decl, declarations, diagnostics))
        .collect();
    check_table_names(&checked, diagnostics);
    checked
}

/// The name given to `@map("...")` or `@@map("...")` (`what` says whose, `kind` whether it
/// names a column or a table), with the span of the name, when it is a usable SQL name.
fn mapped_name(
    attribute: &Attribute,
    what: &str,
    kind: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(String, Span)> {
    let written = format!("@{}map", if kind == "table" { "@" } else { "" });
    let argument = match attribute.arguments.as_slice() {
        [argument] if matches!(argument.name.as_deref(), None | Some("name")) => argument,
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    format!("`{written}` on {what} needs exactly one {kind} name"),
                    attribute.span,
                    format!("expected one {kind} name"),
                )
                .with_help(format!("write `{written}(\"{kind}_name\")`")),
            );
            return None;
        }
    };
    let ValueKind::String(name) = &argument.value.kind else {
        diagnostics.push(
            Diagnostic::error(
                format!("`{written}` on {what} needs the {kind} name as a string"),
                argument.value.span,
                "expected a string",
            )
            .with_help(format!("write `{written}(\"{kind}_name\")`")),
        );
        return None;
    };
    let span = argument.value.span;
    if name.trim().is_empty() {
        diagnostics.push(
            Diagnostic::error(
                format!("`{written}` on {what} gives an empty {kind} name"),
                span,
                format!("an empty {kind} name"),
            )
            .with_help(format!(
                "write the {kind} name, or remove `{written}` to use the declared name"
            )),
        );
        return None;
    }
    if name.len() > MAX_SQL_IDENTIFIER_BYTES {
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "the {kind} name `{name}` of {what} is {} bytes long, more than the {MAX_SQL_IDENTIFIER_BYTES} PostgreSQL keeps",
                    name.len()
                ),
                span,
                format!("longer than {MAX_SQL_IDENTIFIER_BYTES} bytes"),
            )
            .with_help(format!("choose a {kind} name of at most {MAX_SQL_IDENTIFIER_BYTES} bytes")),
        );
        return None;
    }
    if name.contains('"') || name.chars().any(char::is_control) {
        diagnostics.push(
            Diagnostic::error(
                format!("the {kind} name of {what} contains a quote or a control character"),
                span,
                "not allowed in a name",
            )
            .with_help(format!("use letters, digits and `_` in the {kind} name")),
        );
        return None;
    }
    Some((name.clone(), span))
}

/// Two columns of one table may not share a name. Names are compared ignoring ASCII case,
/// because SQLite does so (`"userId"` and `"userid"` are one column there). Only pairs that
/// involve a `@map` are reported here: two fields of one name are reported as a repeated field.
fn check_column_names(checked: &CheckedEntity, diagnostics: &mut Vec<Diagnostic>) {
    let entity_name = checked.name();
    let columns: Vec<&CheckedField> = checked
        .fields
        .iter()
        .filter(|field| matches!(field.field.kind, EntityFieldKind::Scalar { .. }))
        .collect();
    for (index, later) in columns.iter().enumerate() {
        let Some(earlier) = columns[..index].iter().find(|earlier| {
            earlier
                .field
                .column()
                .eq_ignore_ascii_case(later.field.column())
        }) else {
            continue;
        };
        let (mapped, other, span) = match (later.map_span, earlier.map_span) {
            (Some(span), _) => (later, earlier, span),
            (None, Some(span)) => (earlier, later, span),
            (None, None) => continue,
        };
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "fields `{}` and `{}` of entity `{entity_name}` would both be stored in column `{}`",
                    other.field.name,
                    mapped.field.name,
                    mapped.field.column()
                ),
                span,
                "mapped to a column that is already used",
            )
            .with_secondary(other.name_span, format!("`{}` is stored in `{}`", other.field.name, other.field.column()))
            .with_help("give each field its own column name (names that differ only in case are one column in SQLite)"),
        );
    }
}

/// Two entities may not share a table, compared ignoring ASCII case as SQLite does. Only pairs
/// that involve a `@@map` are reported: two entities of one name are reported as a repeated
/// declaration.
fn check_table_names(checked: &[CheckedEntity], diagnostics: &mut Vec<Diagnostic>) {
    for (index, later) in checked.iter().enumerate() {
        let Some(earlier) = checked[..index]
            .iter()
            .find(|earlier| earlier.table().eq_ignore_ascii_case(later.table()))
        else {
            continue;
        };
        let (mapped, other) = match (&later.mapped_name, &earlier.mapped_name) {
            (Some(_), _) => (later, earlier),
            (None, Some(_)) => (earlier, later),
            (None, None) => continue,
        };
        let span = mapped
            .mapped_name
            .as_ref()
            .map(|(_, span)| *span)
            .unwrap_or(mapped.decl.name.span);
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "entities `{}` and `{}` would both be stored in table `{}`",
                    other.name(),
                    mapped.name(),
                    mapped.table()
                ),
                span,
                "mapped to a table that is already used",
            )
            .with_secondary(other.decl.name.span, format!("`{}` is stored in `{}`", other.name(), other.table()))
            .with_help("give each entity its own table name (names that differ only in case are one table in SQLite)"),
        );
    }
}

fn check_entity<'a>(
    decl: &'a Decl,
    declarations: &Declarations<'a>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedEntity<'a>> {
    let entity_name = decl.name.name.as_str();
    let quoter = match &decl.body.kind {
        ExprKind::Quoter(quoter) if quoter.tag == "psl" => quoter,
        ExprKind::Error => return None,
        ExprKind::Quoter(quoter) => {
            diagnostics.push(
                Diagnostic::error(
                    format!("entity `{entity_name}` has a `{{={}` block; entities are written in `{{=psl ... psl=}}`", quoter.tag),
                    decl.body.span,
                    format!("expected `{{=psl`, found `{{={}`", quoter.tag),
                )
                .with_help(format!("write `entity {entity_name} {{=psl ... psl=}}`")),
            );
            return None;
        }
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "expected a `{{=psl ... psl=}}` block for entity `{entity_name}`, found {}",
                        decl.body.describe()
                    ),
                    decl.body.span,
                    "expected `{=psl ... psl=}`",
                )
                .with_help(format!(
                    "write the fields in Prisma's schema language: `entity {entity_name} {{=psl id Int @id @default(autoincrement()) psl=}}`"
                )),
            );
            return None;
        }
    };
    let errors_before_psl = diagnostics.len();
    let model = psl::parse(&quoter.content, quoter.content_span.start, diagnostics);
    let psl_had_errors = diagnostics.len() > errors_before_psl;
    let mut checked = CheckedEntity {
        decl,
        fields: Vec::new(),
        id_field: String::new(),
        unique_constraints: Vec::new(),
        indexes: Vec::new(),
        // A line that could not be read may have declared a field that later lines use.
        has_unresolved_fields: psl_had_errors,
        mapped_name: None,
    };
    let mut id_span: Option<Span> = None;
    for field in &model.fields {
        if let Some(first) = checked.field(&field.name).map(|first| first.name_span) {
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "field `{}` is declared twice in entity `{entity_name}`",
                        field.name
                    ),
                    field.name_span,
                    "declared again here",
                )
                .with_secondary(first, "first declared here")
                .with_help("rename or remove one of them"),
            );
            continue;
        }
        let Some(kind) = field_kind(field, entity_name, declarations, diagnostics) else {
            checked.has_unresolved_fields = true;
            continue;
        };
        // Prisma keeps scalar lists only on some databases, and appc's runtime stores none.
        if field.list
            && let EntityFieldKind::Scalar { scalar } = &kind
        {
            diagnostics.push(
                Diagnostic::error(
                    format!("field `{}` is a list of `{scalar:?}`, and appc does not store lists of scalars", field.name),
                    field.type_span,
                    "a scalar list",
                )
                .with_help(format!(
                    "store the values as `Json`, or declare an entity for them and relate it to `{entity_name}`"
                )),
            );
        }
        let mut entity_field = EntityField {
            name: field.name.clone(),
            kind,
            optional: field.optional,
            list: field.list,
            is_id: false,
            is_unique: false,
            is_updated_at: false,
            default: None,
            mapped_name: None,
        };
        let mut relation_attribute = RelationAttribute::default();
        let mut map_span = None;
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for attribute in &field.attributes {
            if let Some((_, first)) = seen.iter().find(|(name, _)| *name == attribute.name) {
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "attribute `@{}` is repeated on field `{}`",
                            attribute.name, field.name
                        ),
                        attribute.span,
                        "repeated here",
                    )
                    .with_secondary(*first, "first here")
                    .with_help("remove one of them"),
                );
                continue;
            }
            seen.push((&attribute.name, attribute.span));
            apply_field_attribute(
                attribute,
                &mut entity_field,
                &mut relation_attribute,
                &mut map_span,
                diagnostics,
            );
        }
        if entity_field.is_id {
            if let Some(first) = id_span {
                diagnostics.push(
                    Diagnostic::error(
                        format!("entity `{entity_name}` has more than one `@id` field"),
                        field.name_span,
                        "second `@id` field",
                    )
                    .with_secondary(first, "first `@id` field")
                    .with_help("keep `@id` on one field; use `@unique` on the other"),
                );
            } else {
                id_span = Some(field.name_span);
                checked.id_field = field.name.clone();
            }
        }
        if entity_field.is_unique {
            checked.unique_constraints.push(vec![field.name.clone()]);
        }
        checked.fields.push(CheckedField {
            field: entity_field,
            name_span: field.name_span,
            relation_attribute,
            map_span,
        });
    }
    check_column_names(&checked, diagnostics);
    let mut has_composite_id = false;
    for attribute in &model.block_attributes {
        has_composite_id |= attribute.name == "id";
        apply_block_attribute(attribute, &mut checked, diagnostics);
    }
    if id_span.is_none() && !has_composite_id {
        diagnostics.push(
            Diagnostic::error(
                format!("entity `{entity_name}` has no `@id` field"),
                decl.name.span,
                "needs a field marked `@id`",
            )
            .with_help("add a field such as `id Int @id @default(autoincrement())`"),
        );
    }
    Some(checked)
}

/// Resolves a field's type to a scalar or to another entity (a relation).
fn field_kind(
    field: &psl::Field,
    entity_name: &str,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<EntityFieldKind> {
    let type_name = field.type_name.as_str();
    if let Some((_, scalar)) = SCALARS.iter().find(|(name, _)| *name == type_name) {
        return Some(EntityFieldKind::Scalar { scalar: *scalar });
    }
    let type_span = Span::new(
        field.type_span.start,
        field.type_span.start + type_name.len(),
    );
    match declarations.lookup(type_name) {
        Some((DeclKind::Entity, _)) => Some(EntityFieldKind::Relation(Relation {
            target_entity: type_name.to_string(),
            opposite_field: String::new(),
            relation_name: None,
            fields: Vec::new(),
            references: Vec::new(),
            on_delete: None,
            on_update: None,
        })),
        Some((kind, decl)) => {
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "field `{}` of entity `{entity_name}` has type `{type_name}`, which is {}",
                        field.name,
                        kind.with_article()
                    ),
                    type_span,
                    "expected a scalar type or an entity",
                )
                .with_secondary(
                    decl.name.span,
                    format!("`{type_name}` is declared here as {}", kind.with_article()),
                )
                .with_help(
                    "entity fields are Prisma scalars (`String`, `Int`, `Boolean`, `DateTime`, ...) or other entities",
                ),
            );
            None
        }
        None => {
            let help = if type_name == "Bool" {
                "Prisma spells it `Boolean`".to_string()
            } else {
                let mut candidates: Vec<&str> = SCALARS.iter().map(|(name, _)| *name).collect();
                candidates.extend(declarations.names_of_kind(DeclKind::Entity));
                match suggest::closest(type_name, candidates.iter().copied()) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None => format!(
                        "use a Prisma scalar (`String`, `Int`, `Boolean`, `DateTime`, ...) or declare `entity {type_name}`"
                    ),
                }
            };
            diagnostics.push(
                Diagnostic::error(
                    format!("cannot find type `{type_name}` for field `{}`", field.name),
                    type_span,
                    "not a scalar type or an entity",
                )
                .with_help(help),
            );
            None
        }
    }
}

fn apply_field_attribute(
    attribute: &Attribute,
    field: &mut EntityField,
    relation_attribute: &mut RelationAttribute,
    map_span: &mut Option<Span>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let name = attribute.name.as_str();
    // Native database types (`@db.VarChar(255)`) do not change what a field holds, so they are
    // only worth a warning: appc picks the column type from the scalar type.
    if let Some(native_type) = name.strip_prefix("db.") {
        diagnostics.push(
            Diagnostic::warning(
                format!(
                    "native type `@db.{native_type}` of field `{}` is ignored",
                    field.name
                ),
                attribute.span,
                "ignored",
            )
            .with_help(
                "appc chooses the column type from the field's scalar type; remove this attribute",
            ),
        );
        return;
    }
    let scalar = match &field.kind {
        EntityFieldKind::Scalar { scalar } => Some(*scalar),
        EntityFieldKind::Relation(_) => None,
    };
    if scalar.is_none() && name != "relation" && FIELD_ATTRIBUTES.contains(&name) {
        diagnostics.push(
            Diagnostic::error(
                format!("`@{name}` cannot be used on relation field `{}`", field.name),
                attribute.span,
                "not allowed on a relation field",
            )
            .with_help(
                "put it on the scalar field that holds the foreign key (the one listed in `@relation(fields: [...])`)",
            ),
        );
        return;
    }
    match name {
        "id" => {
            if field.optional || field.list {
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "the `@id` field `{}` cannot be optional or a list",
                            field.name
                        ),
                        attribute.span,
                        "on an optional or list field",
                    )
                    .with_help("an id always has exactly one value: remove `?` or `[]`"),
                );
            }
            expect_no_arguments(attribute, diagnostics);
            field.is_id = true;
        }
        "unique" => {
            expect_no_arguments(attribute, diagnostics);
            field.is_unique = true;
        }
        "map" => {
            let what = format!("field `{}`", field.name);
            if let Some((column, span)) = mapped_name(attribute, &what, "column", diagnostics) {
                *map_span = Some(span);
                // A map to the field's own name changes nothing; the IR keeps only real maps.
                field.mapped_name = (column != field.name).then_some(column);
            }
        }
        "updatedAt" => {
            expect_no_arguments(attribute, diagnostics);
            if scalar != Some(ScalarType::DateTime) {
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "`@updatedAt` needs a `DateTime` field, but `{}` is not one",
                            field.name
                        ),
                        attribute.span,
                        "only for `DateTime` fields",
                    )
                    .with_help(format!(
                        "declare the field as `{} DateTime @updatedAt`",
                        field.name
                    )),
                );
            }
            field.is_updated_at = true;
        }
        "default" => {
            if let Some(scalar) = scalar {
                field.default = default_value(attribute, &field.name, scalar, diagnostics);
            }
        }
        "relation" => {
            if scalar.is_some() {
                diagnostics.push(
                    Diagnostic::error(
                        format!("`@relation` needs a field whose type is an entity, but `{}` is a scalar", field.name),
                        attribute.span,
                        "on a scalar field",
                    )
                    .with_help("put `@relation(...)` on the field whose type is the related entity"),
                );
                return;
            }
            *relation_attribute = relation_arguments(attribute, diagnostics);
        }
        _ => {
            let help = match suggest::closest(name, FIELD_ATTRIBUTES) {
                Some(suggestion) => format!("did you mean `@{suggestion}`?"),
                None => format!(
                    "field attributes are {}",
                    suggest::quoted_list([
                        "@id",
                        "@default",
                        "@unique",
                        "@updatedAt",
                        "@relation",
                        "@map"
                    ])
                ),
            };
            diagnostics.push(
                Diagnostic::error(
                    format!("unknown attribute `@{name}` on field `{}`", field.name),
                    attribute.span,
                    "unknown attribute",
                )
                .with_help(help),
            );
        }
    }
}

fn expect_no_arguments(attribute: &Attribute, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(first) = attribute.arguments.first() {
        diagnostics.push(
            Diagnostic::error(
                format!("`@{}` takes no arguments", attribute.name),
                first.span,
                "unexpected argument",
            )
            .with_help(format!("write `@{}`", attribute.name)),
        );
    }
}

fn default_value(
    attribute: &Attribute,
    field_name: &str,
    scalar: ScalarType,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<DefaultValue> {
    let [argument] = attribute.arguments.as_slice() else {
        diagnostics.push(
            Diagnostic::error(
                format!("`@default` on field `{field_name}` needs exactly one value"),
                attribute.span,
                "expected one value",
            )
            .with_help(
                "write e.g. `@default(autoincrement())`, `@default(now())` or `@default(0)`",
            ),
        );
        return None;
    };
    let value = &argument.value;
    let (default, fits) = match &value.kind {
        ValueKind::Call(function, arguments) if arguments.is_empty() => match function.as_str() {
            "autoincrement" => (
                DefaultValue::Autoincrement,
                matches!(scalar, ScalarType::Int | ScalarType::BigInt),
            ),
            "now" => (DefaultValue::Now, scalar == ScalarType::DateTime),
            "uuid" => (DefaultValue::Uuid, scalar == ScalarType::String),
            "cuid" => (DefaultValue::Cuid, scalar == ScalarType::String),
            _ => {
                let help = match suggest::closest(function, DEFAULT_FUNCTIONS) {
                    Some(suggestion) => format!("did you mean `{suggestion}()`?"),
                    None => format!(
                        "the default functions are {}",
                        suggest::quoted_list(["autoincrement()", "now()", "uuid()", "cuid()"])
                    ),
                };
                diagnostics.push(
                    Diagnostic::error(
                        format!("unknown default function `{function}()`"),
                        value.span,
                        "unknown function",
                    )
                    .with_help(help),
                );
                return None;
            }
        },
        ValueKind::String(text) => (
            DefaultValue::String(text.clone()),
            matches!(scalar, ScalarType::String | ScalarType::Json),
        ),
        ValueKind::Number(number) => match number.parse::<i64>() {
            Ok(integer) => (
                DefaultValue::Int(integer),
                matches!(
                    scalar,
                    ScalarType::Int | ScalarType::BigInt | ScalarType::Float | ScalarType::Decimal
                ),
            ),
            Err(_) => (
                DefaultValue::Float(number.parse::<f64>().unwrap_or(0.0)),
                matches!(scalar, ScalarType::Float | ScalarType::Decimal),
            ),
        },
        ValueKind::Word(word) if word == "true" || word == "false" => (
            DefaultValue::Bool(word == "true"),
            scalar == ScalarType::Boolean,
        ),
        _ => {
            diagnostics.push(
                Diagnostic::error(
                    format!("unsupported default value for field `{field_name}`"),
                    value.span,
                    "not a literal or a default function",
                )
                .with_help(
                    "write a literal (`\"text\"`, `0`, `1.5`, `true`) or one of `autoincrement()`, `now()`, `uuid()`, `cuid()`",
                ),
            );
            return None;
        }
    };
    if !fits {
        let fitting = match default {
            DefaultValue::Autoincrement => "`Int` and `BigInt` fields",
            DefaultValue::Now => "`DateTime` fields",
            DefaultValue::Uuid | DefaultValue::Cuid => "`String` fields",
            DefaultValue::String(_) => "`String` and `Json` fields",
            DefaultValue::Int(_) => "number fields",
            DefaultValue::Float(_) => "`Float` and `Decimal` fields",
            DefaultValue::Bool(_) => "`Boolean` fields",
        };
        diagnostics.push(
            Diagnostic::error(
                format!("this default does not fit field `{field_name}` of type `{scalar:?}`"),
                value.span,
                format!("not valid for `{scalar:?}`"),
            )
            .with_help(format!("this default is for {fitting}")),
        );
        return None;
    }
    Some(default)
}

fn relation_arguments(
    attribute: &Attribute,
    diagnostics: &mut Vec<Diagnostic>,
) -> RelationAttribute {
    let mut relation = RelationAttribute::default();
    for (index, argument) in attribute.arguments.iter().enumerate() {
        match (argument.name.as_deref(), &argument.value.kind) {
            (None, ValueKind::String(name)) if index == 0 => relation.name = Some(name.clone()),
            (Some("name"), ValueKind::String(name)) => relation.name = Some(name.clone()),
            (Some("fields"), _) => {
                let before = diagnostics.len();
                relation.fields = field_name_list(&argument.value, "fields", diagnostics);
                relation.fields_span = Some(argument.value.span);
                relation.malformed |= diagnostics.len() > before;
            }
            (Some("references"), _) => {
                let before = diagnostics.len();
                relation.references = field_name_list(&argument.value, "references", diagnostics);
                relation.references_span = Some(argument.value.span);
                relation.malformed |= diagnostics.len() > before;
            }
            (Some(which @ ("onDelete" | "onUpdate")), ValueKind::Word(action))
                if REFERENTIAL_ACTIONS.iter().any(|(name, _)| name == action) =>
            {
                let action = REFERENTIAL_ACTIONS
                    .iter()
                    .find(|(name, _)| name == action)
                    .map(|(_, action)| *action);
                if which == "onDelete" {
                    relation.on_delete = action;
                } else {
                    relation.on_update = action;
                }
            }
            (Some("onDelete" | "onUpdate"), _) => diagnostics.push(
                Diagnostic::error(
                    "unknown referential action",
                    argument.value.span,
                    "unknown action",
                )
                .with_help(format!(
                    "use one of {}",
                    suggest::quoted_alternatives(REFERENTIAL_ACTIONS.iter().map(|(name, _)| *name))
                )),
            ),
            (Some("map"), ValueKind::String(_)) => {}
            _ => diagnostics.push(
                Diagnostic::error(
                    "unexpected argument to `@relation`",
                    argument.span,
                    "not understood here",
                )
                .with_help(
                    "write `@relation(\"Name\", fields: [fieldId], references: [id], onDelete: Cascade)`; every part is optional",
                ),
            ),
        }
    }
    relation
}

/// What already indexes exactly `fields` (the id, a `@unique` field, an `@@unique` or an
/// `@@index`), described for a diagnostic, if anything does.
fn existing_index_over(checked: &CheckedEntity, fields: &[String]) -> Option<String> {
    if fields.len() == 1 && fields[0] == checked.id_field {
        return Some("its id".to_string());
    }
    if let Some(index) = checked.indexes.iter().find(|index| index.fields == fields) {
        let kind = if index.unique { "unique" } else { "index" };
        return Some(format!("an `@@{kind}`"));
    }
    if fields.len() == 1
        && checked
            .unique_constraints
            .iter()
            .any(|group| group == fields)
    {
        return Some(format!("`@unique` on `{}`", fields[0]));
    }
    None
}

/// The names in `[a, b]`, as used by `fields:`, `references:` and block attributes.
fn field_name_list(
    value: &psl::Value,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(String, Span)> {
    let ValueKind::List(items) = &value.kind else {
        diagnostics.push(
            Diagnostic::error(
                format!("expected a list of field names for `{what}`"),
                value.span,
                "expected `[fieldName, ...]`",
            )
            .with_help(format!("write `{what}: [fieldName]`")),
        );
        return Vec::new();
    };
    let mut names = Vec::new();
    for item in items {
        match &item.kind {
            ValueKind::Word(name) => names.push((name.clone(), item.span)),
            _ => diagnostics.push(Diagnostic::error(
                format!("expected a field name in `{what}`"),
                item.span,
                "expected a field name",
            )),
        }
    }
    names
}

fn apply_block_attribute(
    attribute: &Attribute,
    checked: &mut CheckedEntity,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let entity_name = checked.name().to_string();
    match attribute.name.as_str() {
        "unique" | "index" => {
            let Some(first) = attribute.arguments.first() else {
                diagnostics.push(
                    Diagnostic::error(
                        format!("`@@{}` needs a list of fields", attribute.name),
                        attribute.span,
                        "no fields given",
                    )
                    .with_help(format!("write `@@{}([fieldA, fieldB])`", attribute.name)),
                );
                return;
            };
            let what = format!("@@{}", attribute.name);
            let names = field_name_list(&first.value, &what, diagnostics);
            let mut group: Vec<String> = Vec::new();
            let mut group_complete = true;
            for (name, span) in names {
                match checked.field(&name) {
                    Some(_) if group.contains(&name) => {
                        group_complete = false;
                        diagnostics.push(
                            Diagnostic::error(
                                format!("`{what}` lists field `{name}` twice"),
                                span,
                                "listed again here",
                            )
                            .with_help(format!("list `{name}` once")),
                        );
                    }
                    Some(found) if matches!(found.field.kind, EntityFieldKind::Scalar { .. }) => {
                        group.push(name)
                    }
                    Some(_) => {
                        group_complete = false;
                        diagnostics.push(
                            Diagnostic::error(
                                format!("`{what}` lists relation field `{name}`"),
                                span,
                                "a relation field",
                            )
                            .with_help("list the scalar fields that hold the foreign key instead"),
                        );
                    }
                    None => {
                        group_complete = false;
                        if !checked.has_unresolved_fields {
                            diagnostics.push(
                                Diagnostic::error(
                                    format!("cannot find field `{name}` in entity `{entity_name}`"),
                                    span,
                                    "no such field",
                                )
                                .with_help(field_help(checked, &name)),
                            );
                        }
                    }
                }
            }
            if group.is_empty() {
                if group_complete && matches!(first.value.kind, ValueKind::List(_)) {
                    diagnostics.push(
                        Diagnostic::error(
                            format!("`{what}` lists no fields"),
                            first.value.span,
                            "an empty list",
                        )
                        .with_help(format!("write `{what}([fieldA, fieldB])`")),
                    );
                }
                return;
            }
            let unique = attribute.name == "unique";
            if !group_complete {
                // Its error is reported. A unique group is kept as far as it goes, as before,
                // for the checks that read unique constraints (a one-to-one relation's); no
                // index is made of it, nor is it compared with the others.
                if unique {
                    checked.unique_constraints.push(group);
                }
                return;
            }
            if let Some(earlier) = existing_index_over(checked, &group) {
                let fields = group
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "the fields ({fields}) of entity `{entity_name}` are already indexed by {earlier}"
                        ),
                        attribute.span,
                        "a second index over the same fields",
                    )
                    .with_help(format!("remove this `{what}`")),
                );
                return;
            }
            if unique {
                checked.unique_constraints.push(group.clone());
            }
            checked.indexes.push(EntityIndex {
                fields: group,
                unique,
                origin: IndexOrigin::Declared,
            });
        }
        "map" => {
            if let Some(first) = &checked.mapped_name {
                diagnostics.push(
                    Diagnostic::error(
                        format!("attribute `@@map` is repeated in entity `{entity_name}`"),
                        attribute.span,
                        "repeated here",
                    )
                    .with_secondary(first.1, "first here")
                    .with_help("remove one of them"),
                );
                return;
            }
            let what = format!("entity `{entity_name}`");
            if let Some((table, span)) = mapped_name(attribute, &what, "table", diagnostics) {
                if let Some(reserved) = RESERVED_TABLE_PREFIXES
                    .iter()
                    .find(|prefix| table.to_ascii_lowercase().starts_with(*prefix))
                {
                    diagnostics.push(
                        Diagnostic::error(
                            format!("entity `{entity_name}` is mapped to table `{table}`, but names starting with `{reserved}` are reserved"),
                            span,
                            "a reserved table name",
                        )
                        .with_help(format!("choose a table name that does not start with `{reserved}`")),
                    );
                    return;
                }
                checked.mapped_name = Some((table, span));
            }
        }
        "id" => diagnostics.push(
            Diagnostic::error(
                format!("entity `{entity_name}` has a composite id (`@@id`), which appc does not support yet"),
                attribute.span,
                "composite id",
            )
            .with_help("give the entity a single `@id` field and make the combination `@@unique([...])`"),
        ),
        other => {
            let help = match suggest::closest(other, BLOCK_ATTRIBUTES) {
                Some(suggestion) => format!("did you mean `@@{suggestion}`?"),
                None => "block attributes are `@@unique([...])`, `@@index([...])` and `@@map(\"table\")`".to_string(),
            };
            diagnostics.push(
                Diagnostic::error(
                    format!("unknown block attribute `@@{other}` in entity `{entity_name}`"),
                    attribute.span,
                    "unknown attribute",
                )
                .with_help(help),
            );
        }
    }
}
