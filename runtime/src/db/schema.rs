//! The declared database schema as plain data: tables, columns, SQL types, defaults, foreign
//! keys and indexes. The generator emits one [`TableSchema`] per entity; migrations compare it with the live
//! database and entity access builds its SQL from it.

use super::system::DbSystem;
use super::value::Value;

/// The portable column types entities use. Each maps to one SQL type per database system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// A 64-bit signed integer (Prisma `Int` and `BigInt`).
    Integer,
    /// A 64-bit float (Prisma `Float` and `Decimal`).
    Float,
    /// A boolean (Prisma `Boolean`).
    Boolean,
    /// UTF-8 text (Prisma `String`).
    Text,
    /// A UTC timestamp (Prisma `DateTime`).
    DateTime,
    /// A JSON document (Prisma `Json`).
    Json,
    /// Raw bytes (Prisma `Bytes`).
    Bytes,
}

impl SqlType {
    /// The SQL type name used in `CREATE TABLE` for this database system. The SQLite names are
    /// chosen so that `PRAGMA table_info` gives each type back unambiguously and so that SQLite's
    /// type affinity keeps text as text (`JSON TEXT` has TEXT affinity).
    pub fn sql_name(self, system: DbSystem) -> &'static str {
        match (system, self) {
            (DbSystem::Sqlite, SqlType::Integer) => "INTEGER",
            (DbSystem::Sqlite, SqlType::Float) => "REAL",
            (DbSystem::Sqlite, SqlType::Boolean) => "BOOLEAN",
            (DbSystem::Sqlite, SqlType::Text) => "TEXT",
            (DbSystem::Sqlite, SqlType::DateTime) => "DATETIME",
            (DbSystem::Sqlite, SqlType::Json) => "JSON TEXT",
            (DbSystem::Sqlite, SqlType::Bytes) => "BLOB",
            (DbSystem::Postgres, SqlType::Integer) => "BIGINT",
            (DbSystem::Postgres, SqlType::Float) => "DOUBLE PRECISION",
            (DbSystem::Postgres, SqlType::Boolean) => "BOOLEAN",
            (DbSystem::Postgres, SqlType::Text) => "TEXT",
            (DbSystem::Postgres, SqlType::DateTime) => "TIMESTAMPTZ",
            (DbSystem::Postgres, SqlType::Json) => "JSONB",
            (DbSystem::Postgres, SqlType::Bytes) => "BYTEA",
        }
    }

    /// Reads back a type name reported by the live database (`PRAGMA table_info` on SQLite,
    /// `information_schema.columns.data_type` on PostgreSQL). Unknown names give `None`, which a
    /// migration treats as a type change it will not make silently.
    pub fn from_live_name(system: DbSystem, live_name: &str) -> Option<SqlType> {
        let name = live_name.trim().to_ascii_lowercase();
        let sql_type = match system {
            DbSystem::Sqlite => match name.as_str() {
                "integer" | "int" | "bigint" => SqlType::Integer,
                "real" | "double" | "float" => SqlType::Float,
                "boolean" | "bool" => SqlType::Boolean,
                "text" | "varchar" => SqlType::Text,
                "datetime" | "timestamp" => SqlType::DateTime,
                "json text" | "json" => SqlType::Json,
                "blob" => SqlType::Bytes,
                _ => return None,
            },
            DbSystem::Postgres => match name.as_str() {
                "bigint" | "integer" | "smallint" => SqlType::Integer,
                "double precision" | "real" | "numeric" => SqlType::Float,
                "boolean" => SqlType::Boolean,
                "text" | "character varying" => SqlType::Text,
                "timestamp with time zone" => SqlType::DateTime,
                "jsonb" | "json" => SqlType::Json,
                "bytea" => SqlType::Bytes,
                _ => return None,
            },
        };
        Some(sql_type)
    }
}

/// How a column gets its value when an insert does not provide one.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnDefault {
    /// The database assigns increasing integers (`@default(autoincrement())`).
    Autoincrement,
    /// The runtime generates a random UUID v4 string (`@default(uuid())`).
    Uuid,
    /// The runtime stores the current time (`@default(now())`).
    Now,
    /// A constant (`@default(0)`, `@default("general")`, `@default(false)`).
    Value(Value),
}

/// A foreign key from one column to another table's column (`@relation(fields, references)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The referenced table.
    pub table: String,
    /// The referenced column, usually the other table's primary key.
    pub column: String,
    /// What the database does to this row when the referenced row is deleted
    /// (`@relation(onDelete: ...)`); `None` leaves the database's default, `NO ACTION`.
    pub on_delete: Option<ReferentialAction>,
    /// What the database does to this row when the referenced key changes
    /// (`@relation(onUpdate: ...)`); `None` leaves the database's default, `NO ACTION`.
    pub on_update: Option<ReferentialAction>,
}

/// What the database does to the rows that hold a foreign key when the row they point at is
/// deleted or its key changes (Prisma's `onDelete`/`onUpdate` values, SQL's actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferentialAction {
    /// The rows follow: deleted with it, or given the new key (`CASCADE`).
    Cascade,
    /// The change is refused at once while rows point at it (`RESTRICT`).
    Restrict,
    /// The change is refused at the end of the statement while rows point at it (`NO ACTION`).
    NoAction,
    /// The rows' foreign key becomes NULL (`SET NULL`).
    SetNull,
    /// The rows' foreign key becomes its column's default (`SET DEFAULT`).
    SetDefault,
}

impl ReferentialAction {
    /// The action in SQL's words, the same on SQLite and PostgreSQL.
    pub fn sql(self) -> &'static str {
        match self {
            ReferentialAction::Cascade => "CASCADE",
            ReferentialAction::Restrict => "RESTRICT",
            ReferentialAction::NoAction => "NO ACTION",
            ReferentialAction::SetNull => "SET NULL",
            ReferentialAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    /// The column name, used as is (quoted) in SQL.
    pub name: String,
    /// The portable type.
    pub sql_type: SqlType,
    /// Whether the column accepts NULL (Prisma `?`).
    pub nullable: bool,
    /// The default applied when an insert leaves the column out.
    pub default: Option<ColumnDefault>,
    /// Whether this is the table's primary key (`@id`).
    pub primary_key: bool,
    /// Whether values must be unique (`@unique`).
    pub unique: bool,
    /// Whether updates set it to the current time (`@updatedAt`).
    pub updated_at: bool,
    /// The referenced table and column, if any.
    pub foreign_key: Option<ForeignKey>,
    /// Whether the column's integers travel as JSON strings (Prisma `BigInt`; see
    /// [`crate::json`]) where the runtime itself turns a row into JSON (the auth routes' user).
    pub json_string: bool,
}

impl ColumnSchema {
    /// A required (NOT NULL) column without default, key or constraint.
    pub fn new(name: impl Into<String>, sql_type: SqlType) -> Self {
        ColumnSchema {
            name: name.into(),
            sql_type,
            nullable: false,
            default: None,
            primary_key: false,
            unique: false,
            updated_at: false,
            foreign_key: None,
            json_string: false,
        }
    }

    /// Makes the column accept NULL.
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// Makes the column the primary key.
    pub fn primary_key(mut self) -> Self {
        self.primary_key = true;
        self
    }

    /// Makes the column unique.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// Sets the default used when an insert leaves the column out.
    pub fn default(mut self, default: ColumnDefault) -> Self {
        self.default = Some(default);
        self
    }

    /// Makes updates set the column to the current time.
    pub fn updated_at(mut self) -> Self {
        self.updated_at = true;
        self
    }

    /// Makes the column's integers travel as JSON strings (Prisma `BigInt`, beyond what a
    /// JavaScript number holds exactly).
    pub fn json_string(mut self) -> Self {
        self.json_string = true;
        self
    }

    /// Adds a foreign key to `table`.`column`, with the database's default actions until
    /// [`ColumnSchema::on_delete`] and [`ColumnSchema::on_update`] say otherwise.
    pub fn references(mut self, table: impl Into<String>, column: impl Into<String>) -> Self {
        self.foreign_key = Some(ForeignKey {
            table: table.into(),
            column: column.into(),
            on_delete: None,
            on_update: None,
        });
        self
    }

    /// Sets what the database does to this row when the row its foreign key points at is
    /// deleted. Call it after [`ColumnSchema::references`]: a column without a foreign key has
    /// nothing to act on (a debug build panics to say so).
    pub fn on_delete(mut self, action: ReferentialAction) -> Self {
        debug_assert!(
            self.foreign_key.is_some(),
            "`on_delete` on column `{}`, which has no foreign key: call `references` first",
            self.name
        );
        if let Some(foreign_key) = &mut self.foreign_key {
            foreign_key.on_delete = Some(action);
        }
        self
    }

    /// Sets what the database does to this row when the key its foreign key points at changes.
    /// Call it after [`ColumnSchema::references`], as [`ColumnSchema::on_delete`].
    pub fn on_update(mut self, action: ReferentialAction) -> Self {
        debug_assert!(
            self.foreign_key.is_some(),
            "`on_update` on column `{}`, which has no foreign key: call `references` first",
            self.name
        );
        if let Some(foreign_key) = &mut self.foreign_key {
            foreign_key.on_update = Some(action);
        }
        self
    }

    /// Whether existing rows can receive this column without losing or inventing data: it is
    /// nullable or has a default that can be written into old rows.
    pub fn can_be_added_to_existing_rows(&self) -> bool {
        self.nullable
            || matches!(
                self.default,
                Some(ColumnDefault::Value(_)) | Some(ColumnDefault::Now)
            )
    }
}

/// The longest identifier PostgreSQL keeps (it cuts longer ones to this many bytes, silently).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// One index of a table beyond its primary key and its `@unique` columns: an `@@index([...])`,
/// an `@@unique([...])` (then `unique`, and a constraint the database enforces), or the index the
/// generator adds for a foreign key. Plain data (name, table, columns, unique), so the same
/// description serves start-up migrations and later migration files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSchema {
    /// The index name, derived from the table and columns by [`index_name`].
    pub name: String,
    /// The indexed table.
    pub table: String,
    /// The indexed columns, in order (a query filtering or sorting by a prefix of them can use
    /// the index).
    pub columns: Vec<String>,
    /// Whether no two rows may hold the same values in all the columns (rows with a NULL in
    /// one of them never clash, on SQLite and PostgreSQL alike).
    pub unique: bool,
}

impl IndexSchema {
    /// An index on `table` over `columns`, unique or not, named by [`index_name`].
    pub fn new(table: &str, columns: &[&str], unique: bool) -> Self {
        IndexSchema {
            name: index_name(table, columns, unique),
            table: table.to_owned(),
            columns: columns.iter().map(|column| (*column).to_owned()).collect(),
            unique,
        }
    }
}

/// The deterministic name of an index: `Table_columnA_columnB_idx`, or `..._key` for a unique
/// one (Prisma's convention, so the names read the same in both tools). A name longer than
/// PostgreSQL keeps ([`MAX_IDENTIFIER_BYTES`]) is cut and ends with a hash of the whole name, so
/// two long names stay distinct and the name the database reports is the name declared.
///
/// The migration planner keeps a copy of this rule (`appc_core::migrations::index_name`, since
/// neither crate may depend on the other); the two must agree, and a test of each pins the same
/// long name.
///
/// ```
/// use appc_runtime::codegen::index_name;
/// assert_eq!(index_name("Message", &["roomId", "createdAt"], false), "Message_roomId_createdAt_idx");
/// assert_eq!(index_name("User", &["email"], true), "User_email_key");
/// ```
pub fn index_name(table: &str, columns: &[&str], unique: bool) -> String {
    let suffix = if unique { "key" } else { "idx" };
    let name = format!("{table}_{}_{suffix}", columns.join("_"));
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name;
    }
    // FNV-1a: tiny, and stable across Rust versions and platforms, unlike std's hasher.
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    let mut keep = MAX_IDENTIFIER_BYTES - 9;
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}_{hash:08x}", &name[..keep])
}

/// One declared table: the schema of an entity.
///
/// ```
/// use appc_runtime::codegen::{ColumnDefault, ColumnSchema, SqlType, TableSchema};
///
/// let message = TableSchema::new("Message")
///     .column(ColumnSchema::new("id", SqlType::Integer).primary_key().default(ColumnDefault::Autoincrement))
///     .column(ColumnSchema::new("text", SqlType::Text))
///     .column(ColumnSchema::new("authorId", SqlType::Integer).references("User", "id"))
///     .column(ColumnSchema::new("createdAt", SqlType::DateTime))
///     .index(&["authorId"])
///     .index(&["createdAt"]);
/// assert_eq!(message.primary_key().map(|column| column.name.as_str()), Some("id"));
/// assert_eq!(message.indexes[1].name, "Message_createdAt_idx");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// The table name, used as is (quoted) in SQL. Entities keep their spec name (`Message`).
    pub name: String,
    /// The columns in declaration order.
    pub columns: Vec<ColumnSchema>,
    /// The indexes beyond the primary key and `@unique` columns, in declaration order.
    pub indexes: Vec<IndexSchema>,
}

impl TableSchema {
    /// An empty table schema.
    pub fn new(name: impl Into<String>) -> Self {
        TableSchema {
            name: name.into(),
            columns: Vec::new(),
            indexes: Vec::new(),
        }
    }

    /// Adds a column.
    pub fn column(mut self, column: ColumnSchema) -> Self {
        self.columns.push(column);
        self
    }

    /// Adds an index over `columns` (`@@index([...])`, or a foreign key's).
    pub fn index(mut self, columns: &[&str]) -> Self {
        self.indexes
            .push(IndexSchema::new(&self.name, columns, false));
        self
    }

    /// Adds a unique index over `columns` (`@@unique([...])`): the database refuses a second
    /// row with the same values in all of them.
    pub fn unique_index(mut self, columns: &[&str]) -> Self {
        self.indexes
            .push(IndexSchema::new(&self.name, columns, true));
        self
    }

    /// The primary key column, if one is declared.
    pub fn primary_key(&self) -> Option<&ColumnSchema> {
        self.columns.iter().find(|column| column.primary_key)
    }

    /// Finds a column by name.
    pub fn find_column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|column| column.name == name)
    }
}

/// Quotes an identifier for SQL (both SQLite and PostgreSQL accept double quotes). Identifiers
/// only ever come from the declared schema, and quoting also doubles any embedded quote, so a
/// name can never end the identifier early.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_index_names_are_cut_to_what_postgres_keeps_and_stay_distinct() {
        let columns_a = [
            "aVeryLongColumnNameThatGoesOnAndOn",
            "anotherLongColumnName",
        ];
        let columns_b = [
            "aVeryLongColumnNameThatGoesOnAndOn",
            "anotherLongColumnNameB",
        ];
        let name_a = index_name("MembershipOfUsersInRooms", &columns_a, true);
        let name_b = index_name("MembershipOfUsersInRooms", &columns_b, true);
        assert_eq!(name_a.len(), MAX_IDENTIFIER_BYTES);
        assert_eq!(name_b.len(), MAX_IDENTIFIER_BYTES);
        assert_ne!(name_a, name_b);
        // The exact name, hash included: the compiler's copy of this rule
        // (compiler/core/src/migrations/snapshot.rs) is tested against the same literal.
        assert_eq!(
            name_a,
            "MembershipOfUsersInRooms_aVeryLongColumnNameThatGoesOn_441bb643"
        );
        // Deterministic: the same declaration always gives the same name.
        assert_eq!(
            name_a,
            index_name("MembershipOfUsersInRooms", &columns_a, true)
        );
        // Exactly at the limit, a name is kept as is.
        let table = "T".repeat(MAX_IDENTIFIER_BYTES - "_c_idx".len());
        assert_eq!(index_name(&table, &["c"], false), format!("{table}_c_idx"));
    }

    #[test]
    fn cutting_a_long_name_respects_character_boundaries() {
        let name = index_name(
            "Tabelle",
            &["größeGrößeGrößeGrößeGrößeGrößeGrößeGrößeGröße"],
            false,
        );
        assert!(name.len() <= MAX_IDENTIFIER_BYTES);
    }
}
