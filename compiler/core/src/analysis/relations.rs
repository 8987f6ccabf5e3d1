//! Relations between entities: checks `@relation(fields: [...], references: [...])` against both
//! entities and pairs each relation field with its opposite field, so that the IR names both sides.
//!
//! Runs once every entity has been checked on its own (by `entities`), because each side reads
//! the other.

use super::checked_entity::{CheckedEntity, CheckedField, field_help};
use super::ir::{EntityFieldKind, Relation};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::Span;
use std::collections::HashMap;

/// Checks every relation field against the entity it points at and links both sides.
pub fn resolve_relations(entities: &mut [CheckedEntity], diagnostics: &mut Vec<Diagnostic>) {
    let index_by_name: HashMap<String, usize> = entities
        .iter()
        .enumerate()
        .map(|(index, checked)| (checked.name().to_string(), index))
        .collect();
    // Computed first and applied afterwards, because each side reads the other.
    let mut resolved: Vec<(usize, usize, Relation)> = Vec::new();
    for (entity_index, checked) in entities.iter().enumerate() {
        for (field_index, checked_field) in checked.fields.iter().enumerate() {
            let EntityFieldKind::Relation(relation) = &checked_field.field.kind else {
                continue;
            };
            let Some(&target_index) = index_by_name.get(&relation.target_entity) else {
                // The target entity failed its own checks; that was reported already.
                continue;
            };
            let target = &entities[target_index];
            if let Some(relation) = resolve_relation(checked, field_index, target, diagnostics) {
                resolved.push((entity_index, field_index, relation));
            }
        }
    }
    for (entity_index, field_index, relation) in resolved {
        entities[entity_index].fields[field_index].field.kind = EntityFieldKind::Relation(relation);
    }
}

fn resolve_relation(
    checked: &CheckedEntity,
    field_index: usize,
    target: &CheckedEntity,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Relation> {
    let checked_field = &checked.fields[field_index];
    let field = &checked_field.field;
    let field_span = checked_field.name_span;
    let attribute = &checked_field.relation_attribute;
    let entity_name = checked.name();
    let target_name = target.name();
    // On a list field, `fields` are wrong in themselves (reported below); checking what they
    // name would only add noise.
    let mut ok = field.list || check_foreign_key(checked, checked_field, target, diagnostics);

    // The opposite side: a field of the target whose type is this entity, with the same relation
    // name, that is not this very field (self-relations have both sides in one entity).
    let opposites: Vec<usize> = target
        .fields
        .iter()
        .enumerate()
        .filter(|(index, candidate)| {
            let EntityFieldKind::Relation(candidate_relation) = &candidate.field.kind else {
                return false;
            };
            let same_field = target.name() == checked.name() && *index == field_index;
            let candidate_name = candidate.relation_attribute.name.as_deref();
            candidate_relation.target_entity == entity_name
                && !same_field
                && candidate_name == attribute.name.as_deref()
        })
        .map(|(index, _)| index)
        .collect();
    let opposite_index = match opposites.as_slice() {
        [only] => *only,
        [] if target.has_unresolved_fields => return None,
        [] => {
            let suggestion = if field.list {
                format!(
                    "add a field such as `{} {entity_name} @relation(fields: [{}Id], references: [id])` to entity `{target_name}`",
                    lower_first(entity_name),
                    lower_first(entity_name)
                )
            } else {
                format!(
                    "add a field such as `{}s {entity_name}[]` to entity `{target_name}`",
                    lower_first(entity_name)
                )
            };
            let help = match &attribute.name {
                Some(name) => format!("{suggestion}, with `@relation(\"{name}\")`"),
                None => suggestion,
            };
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "relation field `{}` of entity `{entity_name}` has no opposite field in entity `{target_name}`",
                        field.name
                    ),
                    field_span,
                    format!("refers to `{target_name}`, which does not refer back"),
                )
                .with_secondary(target.decl.name.span, format!("`{target_name}` declared here"))
                .with_help(help),
            );
            return None;
        }
        [first, second, ..] => {
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "relation field `{}` of entity `{entity_name}` matches several fields of entity `{target_name}`",
                        field.name
                    ),
                    field_span,
                    "ambiguous relation",
                )
                .with_secondary(target.fields[*first].name_span, "could be this field")
                .with_secondary(target.fields[*second].name_span, "or this one")
                .with_help("name each relation on both sides with `@relation(\"Name\")`"),
            );
            return None;
        }
    };
    let opposite_field = &target.fields[opposite_index];
    let opposite = &opposite_field.field;
    let this_has_key = attribute.fields_span.is_some();
    let opposite_has_key = opposite_field.relation_attribute.fields_span.is_some();
    // Each problem of the pair is reported once, from the side that comes first.
    let reports_for_pair =
        (entity_name, field.name.as_str()) <= (target_name, opposite.name.as_str());
    match (field.list, opposite.list) {
        (true, true) => {
            if this_has_key {
                ok = false;
                diagnostics.push(
                    list_field_holds_key(&field.name, attribute.fields_span, field_span).with_help(
                        "a many-to-many relation needs no `fields` or `references`: remove them",
                    ),
                );
            }
        }
        (false, true) => {
            // `references` without `fields` was already reported by `check_foreign_key`.
            if !this_has_key && attribute.references_span.is_none() && !attribute.malformed {
                ok = false;
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "relation field `{}` of entity `{entity_name}` needs `@relation(fields: [...], references: [...])`",
                            field.name
                        ),
                        field_span,
                        "this side holds the foreign key",
                    )
                    .with_help(format!(
                        "add a scalar field such as `{}Id Int` and write `{} {target_name} @relation(fields: [{}Id], references: [{}])`",
                        field.name, field.name, field.name, default_reference(target)
                    )),
                );
            }
        }
        (true, false) => {
            if this_has_key {
                ok = false;
                diagnostics.push(
                    list_field_holds_key(&field.name, attribute.fields_span, field_span)
                        .with_help(format!(
                        "move `fields` and `references` to field `{}` of entity `{target_name}`",
                        opposite.name
                    )),
                );
            }
        }
        (false, false) => {
            if this_has_key == opposite_has_key && reports_for_pair {
                ok = false;
                let message = if this_has_key {
                    "both sides of a one-to-one relation hold a foreign key"
                } else {
                    "neither side of a one-to-one relation holds a foreign key"
                };
                diagnostics.push(
                    Diagnostic::error(
                        format!("{message}: `{entity_name}.{}` and `{target_name}.{}`", field.name, opposite.name),
                        field_span,
                        "one side",
                    )
                    .with_secondary(opposite_field.name_span, "other side")
                    .with_help("write `@relation(fields: [...], references: [...])` on exactly one of the two fields"),
                );
            } else if this_has_key && !is_unique_key(checked, &attribute.fields) {
                // Without a unique key, two rows could point at the same row: that is
                // one-to-many, not one-to-one.
                ok = false;
                let names: Vec<&str> = attribute
                    .fields
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect();
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "the foreign key of one-to-one relation field `{}` must be unique",
                            field.name
                        ),
                        attribute.fields_span.unwrap_or(field_span),
                        "not unique",
                    )
                    .with_help(match names.as_slice() {
                        [single] => format!("mark `{single}` with `@unique`"),
                        _ => format!(
                            "add `@@unique([{}])` to entity `{entity_name}`",
                            names.join(", ")
                        ),
                    }),
                );
            }
        }
    }
    ok.then(|| Relation {
        target_entity: target_name.to_string(),
        opposite_field: opposite.name.clone(),
        relation_name: attribute.name.clone(),
        fields: attribute
            .fields
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
        references: attribute
            .references
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
        on_delete: attribute.on_delete,
        on_update: attribute.on_update,
    })
}

/// Checks `fields` and `references` of one relation field; true when they are sound.
fn check_foreign_key(
    checked: &CheckedEntity,
    checked_field: &CheckedField,
    target: &CheckedEntity,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let field = &checked_field.field;
    let field_span = checked_field.name_span;
    let attribute = &checked_field.relation_attribute;
    if attribute.malformed {
        return false;
    }
    let before = diagnostics.len();
    let target_name = target.name();
    match (attribute.fields_span, attribute.references_span) {
        (None, None) => return true,
        (Some(span), None) => diagnostics.push(
            Diagnostic::error(
                format!(
                    "`@relation` of field `{}` has `fields` but no `references`",
                    field.name
                ),
                span,
                "needs `references` too",
            )
            .with_help(format!("add `references: [{}]`", default_reference(target))),
        ),
        (None, Some(span)) => diagnostics.push(
            Diagnostic::error(
                format!(
                    "`@relation` of field `{}` has `references` but no `fields`",
                    field.name
                ),
                span,
                "needs `fields` too",
            )
            .with_help(format!(
                "add `fields: [{}Id]` naming a scalar field of this entity",
                field.name
            )),
        ),
        (Some(fields_span), Some(_)) => {
            if attribute.fields.len() != attribute.references.len() || attribute.fields.is_empty() {
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "`fields` and `references` of field `{}` have different lengths",
                            field.name
                        ),
                        fields_span,
                        format!(
                            "{} fields here, {} in `references`",
                            attribute.fields.len(),
                            attribute.references.len()
                        ),
                    )
                    .with_help("list one field of this entity for each referenced field"),
                );
            }
            for ((name, span), (reference, reference_span)) in
                attribute.fields.iter().zip(&attribute.references)
            {
                let local = checked.field(name);
                let remote = target.field(reference);
                if local.is_none() && !checked.has_unresolved_fields {
                    diagnostics.push(
                        Diagnostic::error(
                            format!("cannot find field `{name}` in entity `{}`", checked.name()),
                            *span,
                            "no such field",
                        )
                        .with_help(field_help(checked, name)),
                    );
                }
                if remote.is_none() && !target.has_unresolved_fields {
                    diagnostics.push(
                        Diagnostic::error(
                            format!("cannot find field `{reference}` in entity `{target_name}`"),
                            *reference_span,
                            "no such field",
                        )
                        .with_help(field_help(target, reference)),
                    );
                }
                let (Some(local), Some(remote)) = (local, remote) else {
                    continue;
                };
                let (local, remote) = (&local.field, &remote.field);
                if let (
                    EntityFieldKind::Scalar { scalar: local_type },
                    EntityFieldKind::Scalar {
                        scalar: remote_type,
                    },
                ) = (&local.kind, &remote.kind)
                {
                    if local_type != remote_type {
                        diagnostics.push(
                            Diagnostic::error(
                                format!(
                                    "foreign key `{name}` is `{local_type:?}` but `{target_name}.{reference}` is `{remote_type:?}`"
                                ),
                                *span,
                                "type differs from the referenced field",
                            )
                            .with_help(format!("declare `{name}` as `{remote_type:?}`")),
                        );
                    }
                } else {
                    diagnostics.push(
                        Diagnostic::error(
                            "`fields` and `references` must name scalar fields",
                            if matches!(local.kind, EntityFieldKind::Relation(_)) { *span } else { *reference_span },
                            "a relation field",
                        )
                        .with_help("name the scalar fields that hold and receive the key, e.g. `userId` and `id`"),
                    );
                }
            }
            let referenced: Vec<String> = attribute
                .references
                .iter()
                .map(|(name, _)| name.clone())
                .collect();
            let is_key = referenced == [target.id_field.clone()]
                || target.unique_constraints.contains(&referenced);
            if !referenced.is_empty()
                && referenced.iter().all(|name| target.field(name).is_some())
                && !is_key
            {
                diagnostics.push(
                    Diagnostic::error(
                        format!("`references` of field `{}` must be the id or a unique field of `{target_name}`", field.name),
                        attribute.references_span.unwrap_or(field_span),
                        "neither the id nor unique",
                    )
                    .with_help(format!("reference `{}`, or mark the referenced field `@unique`", default_reference(target))),
                );
            }
            // A required relation cannot rest on a key that may be missing.
            let optional_key = attribute.fields.iter().find(|(name, _)| {
                checked
                    .field(name)
                    .is_some_and(|key_field| key_field.field.optional)
            });
            if let Some((name, span)) = optional_key
                && !field.optional
            {
                diagnostics.push(
                    Diagnostic::error(
                        format!(
                            "relation field `{}` is required, but its foreign key `{name}` is optional",
                            field.name
                        ),
                        *span,
                        "optional foreign key",
                    )
                    .with_secondary(field_span, "required relation field")
                    .with_help(format!(
                        "make both optional (`{} {target_name}?`) or both required (remove `?` from `{name}`)",
                        field.name
                    )),
                );
            }
        }
    }
    diagnostics.len() == before
}

/// Whether `fields` are the entity's id or one of its unique constraints.
fn is_unique_key(checked: &CheckedEntity, fields: &[(String, Span)]) -> bool {
    let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
    names == [checked.id_field.as_str()]
        || checked
            .unique_constraints
            .iter()
            .any(|group| group.iter().map(String::as_str).eq(names.iter().copied()))
}

fn default_reference<'e>(target: &'e CheckedEntity) -> &'e str {
    if target.id_field.is_empty() {
        "id"
    } else {
        &target.id_field
    }
}

fn lower_first(name: &str) -> String {
    let mut characters = name.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// A list side of a relation (`messages Message[]`) with `@relation(fields: ...)`: the foreign key
/// belongs on the other side, or nowhere for many-to-many.
fn list_field_holds_key(
    field_name: &str,
    fields_span: Option<Span>,
    field_span: Span,
) -> Diagnostic {
    Diagnostic::error(
        format!("list relation field `{field_name}` cannot hold a foreign key"),
        fields_span.unwrap_or(field_span),
        "`fields` on a list field",
    )
}
