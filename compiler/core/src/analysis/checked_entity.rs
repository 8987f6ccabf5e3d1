//! The entity data that `entities` produces and `relations` and `auth` read: each entity as
//! checked, with one [`CheckedField`] per field that keeps the field and the spans later checks
//! point at together.
//!
//! A leaf, so that `entities` and `relations` share it without importing each other. The IR's
//! [`Entity`] is built from it once every check has run ([`CheckedEntity::into_entity`]).

use super::ir::{
    Entity, EntityField, EntityFieldKind, EntityIndex, IndexOrigin, ReferentialAction,
};
use super::suggest;
use crate::syntax::ast::{Decl, Span};

/// An entity as checked, with the spans later passes point at.
pub struct CheckedEntity<'a> {
    pub decl: &'a Decl,
    /// The fields that were resolved, in declaration order.
    pub fields: Vec<CheckedField>,
    /// The name of the `@id` field; empty when the entity has none (which was reported).
    pub id_field: String,
    /// `@unique` fields and `@@unique([...])` groups, in declaration order.
    pub unique_constraints: Vec<Vec<String>>,
    /// `@@unique([...])` and `@@index([...])` groups, in declaration order.
    pub indexes: Vec<EntityIndex>,
    /// True when some field was dropped (its type is unknown or its line could not be read); a
    /// field that seems missing may then just be that dropped field, so it is not reported.
    pub has_unresolved_fields: bool,
    /// `@@map("table")` and where its name is written, when given.
    pub mapped_name: Option<(String, Span)>,
}

/// One field of an entity as checked.
pub struct CheckedField {
    pub field: EntityField,
    /// Where the field's name is written.
    pub name_span: Span,
    /// What the field's `@relation(...)` says; empty when it has none (as every scalar field).
    pub relation_attribute: RelationAttribute,
    /// Where the name of the field's `@map("column")` is written, when it has one.
    pub map_span: Option<Span>,
}

impl CheckedEntity<'_> {
    /// The table's name in SQL: `@@map("...")` when given, the entity's name otherwise.
    pub fn table(&self) -> &str {
        match &self.mapped_name {
            Some((name, _)) => name,
            None => self.name(),
        }
    }

    /// The entity's name, as declared.
    pub fn name(&self) -> &str {
        &self.decl.name.name
    }

    /// The field named `name`, if it was resolved.
    pub fn field(&self, name: &str) -> Option<&CheckedField> {
        self.fields
            .iter()
            .find(|checked| checked.field.name == name)
    }

    /// The IR entity, with an index for every foreign key that no other index covers.
    pub fn into_entity(self) -> Entity {
        let fields: Vec<EntityField> = self
            .fields
            .into_iter()
            .map(|checked| checked.field)
            .collect();
        let mut indexes = self.indexes;
        for field in &fields {
            let EntityFieldKind::Relation(relation) = &field.kind else {
                continue;
            };
            if relation.fields.is_empty() {
                continue;
            }
            // An index serves a lookup by any prefix of its fields, so one that starts with the
            // foreign key (the id, a unique field or a declared index) already covers it.
            let starts_with_key = |group: &[String]| {
                group.len() >= relation.fields.len()
                    && group[..relation.fields.len()] == relation.fields[..]
            };
            let covered = starts_with_key(std::slice::from_ref(&self.id_field))
                || self
                    .unique_constraints
                    .iter()
                    .any(|group| starts_with_key(group))
                || indexes.iter().any(|index| starts_with_key(&index.fields));
            if !covered {
                indexes.push(EntityIndex {
                    fields: relation.fields.clone(),
                    unique: false,
                    origin: IndexOrigin::ForeignKey,
                });
            }
        }
        Entity {
            name: self.decl.name.name.clone(),
            mapped_name: self.mapped_name.map(|(name, _)| name),
            fields,
            id_field: self.id_field,
            unique_constraints: self.unique_constraints,
            indexes,
        }
    }
}

/// What `@relation(...)` says, with spans.
#[derive(Default)]
pub struct RelationAttribute {
    pub name: Option<String>,
    pub fields: Vec<(String, Span)>,
    pub fields_span: Option<Span>,
    pub references: Vec<(String, Span)>,
    pub references_span: Option<Span>,
    pub on_delete: Option<ReferentialAction>,
    pub on_update: Option<ReferentialAction>,
    /// True when an argument was reported as malformed; the key is then not checked further.
    pub malformed: bool,
}

/// A did-you-mean over the fields of an entity, or the list of its fields.
pub fn field_help(checked: &CheckedEntity, name: &str) -> String {
    let names: Vec<&str> = checked
        .fields
        .iter()
        .map(|checked_field| checked_field.field.name.as_str())
        .collect();
    suggest::help_for_unknown(name, &names, "fields", || {
        format!("add a field `{name}` to entity `{}`", checked.name())
    })
}
