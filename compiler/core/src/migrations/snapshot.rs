//! The database schema an app declares, as plain data: tables, columns, defaults, keys and
//! indexes under their SQL names. It mirrors the `TableSchema`s the generated server declares
//! (`templates/server/entities.rs`), plus the `passwordHash` column the runtime adds to the user
//! entity's table, so that a database the runtime's start-up migrator created from a spec holds
//! the same schema as one built from the migrations planned from that spec.
//!
//! Snapshots are stored beside every migration (`schema.json`) and the next migration is planned
//! from the last one, so their JSON is stable: tables and indexes are sorted by name, columns
//! keep the spec's order (that is the order `CREATE TABLE` declares them in), and `version`
//! says which shape of snapshot a file holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::ir::{
    AppSpec, DefaultValue, Entity, EntityFieldKind, MAX_SQL_IDENTIFIER_BYTES, ReferentialAction,
    ScalarType,
};

/// The shape of snapshot this version of appc writes. A snapshot of another version is refused
/// by the caller instead of being compared field by field.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The column the runtime adds to the user entity's table for the password hash (the runtime's
/// `appc_runtime::auth::PASSWORD_HASH_COLUMN`): nullable text, last.
pub const PASSWORD_HASH_COLUMN: &str = "passwordHash";

/// Every table of an app's database, by SQL name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchemaSnapshot {
    /// [`SNAPSHOT_VERSION`] when written by this version of appc.
    pub version: u32,
    /// The tables, by SQL name (sorted).
    pub tables: BTreeMap<String, TableSnapshot>,
}

/// One table: an entity's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableSnapshot {
    /// The entity the table stores (for messages; the table's SQL name is its key).
    pub entity: String,
    /// The columns, in the order the spec declares the fields.
    pub columns: Vec<ColumnSnapshot>,
    /// The indexes beyond the primary key and the `@unique` columns, by name (sorted).
    pub indexes: BTreeMap<String, IndexSnapshot>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnSnapshot {
    /// The SQL name (`@map`, else the field's name).
    pub name: String,
    /// The portable type; each system has one SQL type for it.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Whether the column accepts NULL (`?`).
    pub nullable: bool,
    /// What an insert that leaves the column out stores.
    pub default: Option<ColumnDefault>,
    /// `@id`.
    pub primary_key: bool,
    /// `@unique` (a column constraint; `@@unique` groups are indexes).
    pub unique: bool,
    /// `@updatedAt`: the runtime writes the current time on every update (no SQL of its own).
    pub updated_at: bool,
    /// `@relation(fields: [this], references: [...])`.
    pub foreign_key: Option<ForeignKeySnapshot>,
}

/// The portable column types, as the runtime's `SqlType` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ColumnType {
    /// A 64-bit integer: Prisma `Int` and `BigInt`.
    Integer,
    /// A 64-bit float: Prisma `Float` and `Decimal`.
    Float,
    Boolean,
    /// Prisma `String`.
    Text,
    /// A UTC timestamp.
    DateTime,
    Json,
    Bytes,
}

/// How a column gets its value when an insert leaves it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum ColumnDefault {
    /// The database counts up (`@default(autoincrement())`).
    Autoincrement,
    /// The runtime writes a random UUID (`@default(uuid())` and `cuid()`); no SQL default.
    Uuid,
    /// The database's own current time (`@default(now())`).
    Now,
    /// A constant.
    Constant(Constant),
}

/// A constant default, as the spec writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum Constant {
    Text(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// Where a foreign key points, and what the database does to this row when that row goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForeignKeySnapshot {
    /// The referenced table's SQL name.
    pub table: String,
    /// The referenced column's SQL name.
    pub column: String,
    /// `onDelete:` when the spec gives it; without it the database's default (no action).
    pub on_delete: Option<Action>,
    /// `onUpdate:`, likewise.
    pub on_update: Option<Action>,
}

/// A referential action, in SQL's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Cascade,
    Restrict,
    NoAction,
    SetNull,
    SetDefault,
}

/// One index: an `@@index`, an `@@unique`, or the index of a foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexSnapshot {
    /// The indexed columns' SQL names, in order.
    pub columns: Vec<String>,
    /// Whether no two rows may repeat the values of all the columns.
    pub unique: bool,
}

impl SchemaSnapshot {
    /// A database without tables: where the first migration starts.
    pub fn empty() -> Self {
        SchemaSnapshot {
            version: SNAPSHOT_VERSION,
            tables: BTreeMap::new(),
        }
    }

    /// The schema `spec` declares: one table per entity, with the runtime's `passwordHash`
    /// column on the user entity's table when the spec has username-and-password auth.
    pub fn from_spec(spec: &AppSpec) -> Self {
        let user_entity = spec
            .auth
            .as_ref()
            .filter(|auth| auth.methods.username_and_password)
            .map(|auth| auth.user_entity.as_str());
        let tables = spec
            .entities
            .iter()
            .map(|entity| {
                let mut table = table_of(spec, entity);
                if user_entity == Some(entity.name.as_str()) {
                    table.columns.push(ColumnSnapshot {
                        name: PASSWORD_HASH_COLUMN.to_owned(),
                        column_type: ColumnType::Text,
                        nullable: true,
                        default: None,
                        primary_key: false,
                        unique: false,
                        updated_at: false,
                        foreign_key: None,
                    });
                }
                (entity.table().to_owned(), table)
            })
            .collect();
        SchemaSnapshot {
            version: SNAPSHOT_VERSION,
            tables,
        }
    }

    /// The snapshot as `schema.json` holds it: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("a snapshot is always JSON");
        json.push('\n');
        json
    }

    /// Reads `schema.json`; the error says what is wrong with it.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let snapshot: SchemaSnapshot = serde_json::from_str(json)
            .map_err(|error| format!("the schema snapshot is not valid: {error}"))?;
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(format!(
                "the schema snapshot has version {}, but this appc reads version {SNAPSHOT_VERSION}; use the appc that wrote it",
                snapshot.version
            ));
        }
        Ok(snapshot)
    }
}

impl TableSnapshot {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSnapshot> {
        self.columns.iter().find(|column| column.name == name)
    }
}

impl ColumnType {
    /// The type of a Prisma scalar (as the generated `TableSchema` declares it).
    pub fn of_scalar(scalar: ScalarType) -> Self {
        match scalar {
            ScalarType::Int | ScalarType::BigInt => ColumnType::Integer,
            ScalarType::Float | ScalarType::Decimal => ColumnType::Float,
            ScalarType::Boolean => ColumnType::Boolean,
            ScalarType::String => ColumnType::Text,
            ScalarType::DateTime => ColumnType::DateTime,
            ScalarType::Json => ColumnType::Json,
            ScalarType::Bytes => ColumnType::Bytes,
        }
    }
}

impl From<ReferentialAction> for Action {
    fn from(action: ReferentialAction) -> Self {
        match action {
            ReferentialAction::Cascade => Action::Cascade,
            ReferentialAction::Restrict => Action::Restrict,
            ReferentialAction::NoAction => Action::NoAction,
            ReferentialAction::SetNull => Action::SetNull,
            ReferentialAction::SetDefault => Action::SetDefault,
        }
    }
}

fn table_of(spec: &AppSpec, entity: &Entity) -> TableSnapshot {
    let table = entity.table();
    let mut foreign_keys: Vec<(&str, ForeignKeySnapshot)> = Vec::new();
    for field in &entity.fields {
        let EntityFieldKind::Relation(relation) = &field.kind else {
            continue;
        };
        let Some(target) = spec.entity(&relation.target_entity) else {
            continue;
        };
        for (column_field, referenced_field) in relation.fields.iter().zip(&relation.references) {
            let (Some(column), Some(referenced)) = (
                entity.column_of(column_field),
                target.column_of(referenced_field),
            ) else {
                continue;
            };
            foreign_keys.push((
                column,
                ForeignKeySnapshot {
                    table: target.table().to_owned(),
                    column: referenced.to_owned(),
                    on_delete: relation.on_delete.map(Action::from),
                    on_update: relation.on_update.map(Action::from),
                },
            ));
        }
    }
    let columns = entity
        .fields
        .iter()
        .filter_map(|field| {
            let EntityFieldKind::Scalar { scalar } = &field.kind else {
                return None;
            };
            let name = field.column();
            Some(ColumnSnapshot {
                name: name.to_owned(),
                column_type: ColumnType::of_scalar(*scalar),
                nullable: field.optional,
                default: field.default.as_ref().map(column_default),
                primary_key: field.is_id,
                unique: field.is_unique,
                updated_at: field.is_updated_at,
                foreign_key: foreign_keys
                    .iter()
                    .find(|(column, _)| *column == name)
                    .map(|(_, foreign_key)| foreign_key.clone()),
            })
        })
        .collect();
    let indexes = entity
        .indexes
        .iter()
        .map(|index| {
            let columns: Vec<&str> = index
                .fields
                .iter()
                .map(|field| entity.column_of(field).unwrap_or(field))
                .collect();
            (
                index_name(table, &columns, index.unique),
                IndexSnapshot {
                    columns: columns.iter().map(|column| (*column).to_owned()).collect(),
                    unique: index.unique,
                },
            )
        })
        .collect();
    TableSnapshot {
        entity: entity.name.clone(),
        columns,
        indexes,
    }
}

fn column_default(default: &DefaultValue) -> ColumnDefault {
    match default {
        DefaultValue::Autoincrement => ColumnDefault::Autoincrement,
        // The runtime has no cuid generator: both become a random UUID it writes itself.
        DefaultValue::Uuid | DefaultValue::Cuid => ColumnDefault::Uuid,
        DefaultValue::Now => ColumnDefault::Now,
        DefaultValue::String(text) => ColumnDefault::Constant(Constant::Text(text.clone())),
        DefaultValue::Int(number) => ColumnDefault::Constant(Constant::Integer(*number)),
        DefaultValue::Float(number) => ColumnDefault::Constant(Constant::Float(*number)),
        DefaultValue::Bool(flag) => ColumnDefault::Constant(Constant::Boolean(*flag)),
    }
}

/// The name of an index, exactly as the runtime's `appc_runtime::codegen::index_name` makes it
/// (so that a database the start-up migrator created has the names migrations drop and
/// create): `Table_columnA_columnB_idx`, or `..._key` when unique; a name longer than
/// PostgreSQL keeps is cut and ends with an FNV-1a hash of the whole name. A copy, since neither
/// crate may depend on the other: the two must agree, and a test of each pins the same long name.
pub fn index_name(table: &str, columns: &[&str], unique: bool) -> String {
    let suffix = if unique { "key" } else { "idx" };
    let name = format!("{table}_{}_{suffix}", columns.join("_"));
    if name.len() <= MAX_SQL_IDENTIFIER_BYTES {
        return name;
    }
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    let mut keep = MAX_SQL_IDENTIFIER_BYTES - 9;
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}_{hash:08x}", &name[..keep])
}
