//! The neutral result of comparing two snapshots ([`Diff`]): which tables are created, renamed,
//! altered or dropped, and within an altered table which columns and indexes change. `plan`
//! computes it and writes the human lines, `sql` writes it as SQL for each system; both read
//! this leaf module and neither imports the other.

use std::collections::BTreeMap;

use super::snapshot::{ColumnDefault, ColumnSnapshot, ColumnType, IndexSnapshot, TableSnapshot};

/// A rename the team asks for, so that the data is kept: without it a table or column that
/// vanished while another appeared is planned as a drop (losing its data) and an add.
/// Names are SQL names (`@@map`/`@map` when given, else the entity's or field's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rename {
    /// The table `from` of the previous snapshot is the table `to` of the next one.
    Table { from: String, to: String },
    /// The column `from` of `table` (named as in either snapshot) is now the column `to`.
    Column {
        table: String,
        from: String,
        to: String,
    },
}

/// Everything that changes between two snapshots.
pub(super) struct Diff {
    /// Renamed tables, sorted by their old names.
    pub table_renames: Vec<TableRename>,
    /// New tables in the order they can be created (a table after the tables it points at,
    /// where there is no cycle), each with its name.
    pub created: Vec<(String, TableSnapshot)>,
    /// Tables that exist in both, sorted by name.
    pub altered: Vec<TableDiff>,
    /// Dropped tables, each after the tables that point at it.
    pub dropped: Vec<(String, TableSnapshot)>,
    pub changes: Vec<String>,
    pub destructive: Vec<String>,
    pub warnings: Vec<String>,
}

/// A table the options rename.
pub(super) struct TableRename {
    pub from: String,
    pub to: String,
    /// The table as the previous snapshot has it (old column names).
    pub previous: TableSnapshot,
}

/// What changes in one table that both snapshots hold.
pub(super) struct TableDiff {
    /// The table's name in the next snapshot (a table rename has already happened).
    pub name: String,
    /// The table as the previous snapshot had it, with the renames applied to its column names
    /// (and to the tables and columns its foreign keys point at).
    pub old: TableSnapshot,
    pub new: TableSnapshot,
    /// `(old name, new name)` of renamed columns.
    pub column_renames: Vec<(String, String)>,
    /// Columns only the next snapshot has, in its order.
    pub added: Vec<ColumnSnapshot>,
    /// Columns only the previous snapshot has (by their old names).
    pub dropped: Vec<ColumnSnapshot>,
    /// `(old, new)` of columns whose definition changes.
    pub changed: Vec<(ColumnSnapshot, ColumnSnapshot)>,
    /// Indexes that go, by name (the previous snapshot's names).
    pub dropped_indexes: Vec<(String, IndexSnapshot)>,
    /// Indexes that come, by name.
    pub created_indexes: Vec<(String, IndexSnapshot)>,
    /// The description of each destructive change of this table, keyed by what it does to
    /// which column (`drop text`, `type text`, `required text`, `add text`): the SQL writers
    /// put it above the statements that make the change.
    pub destructive_columns: BTreeMap<String, String>,
}

impl TableDiff {
    /// Whether SQLite has to rebuild the table: it can only rename columns and add simple ones.
    pub fn needs_sqlite_rebuild(&self) -> bool {
        !self.dropped.is_empty()
            || self
                .changed
                .iter()
                .any(|(old, new)| column_changes(old, new).touches_sql())
            || self
                .added
                .iter()
                .any(|column| !sqlite_can_add_column(column))
    }

    /// The previous name of a column of the next snapshot, when it existed before.
    pub fn old_column_name<'a>(&'a self, new_name: &'a str) -> Option<&'a str> {
        if let Some((old, _)) = self
            .column_renames
            .iter()
            .find(|(_, renamed)| renamed == new_name)
        {
            return Some(old);
        }
        self.old.column(new_name).map(|_| new_name)
    }
}

/// Which parts of a column's definition differ.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ColumnChanges {
    pub column_type: bool,
    pub nullable: bool,
    /// A default the database applies (a UUID default is written by the runtime, not SQL).
    pub sql_default: bool,
    pub runtime_default: bool,
    pub primary_key: bool,
    pub unique: bool,
    pub foreign_key: bool,
    pub updated_at: bool,
}

impl ColumnChanges {
    /// Whether the change needs SQL (`@updatedAt` and UUID defaults are the runtime's).
    pub fn touches_sql(self) -> bool {
        self.column_type
            || self.nullable
            || self.sql_default
            || self.primary_key
            || self.unique
            || self.foreign_key
    }
}

pub(super) fn column_changes(old: &ColumnSnapshot, new: &ColumnSnapshot) -> ColumnChanges {
    ColumnChanges {
        column_type: old.column_type != new.column_type,
        nullable: old.nullable != new.nullable,
        sql_default: sql_default(old) != sql_default(new),
        runtime_default: old.default != new.default,
        primary_key: old.primary_key != new.primary_key,
        unique: old.unique != new.unique,
        foreign_key: old.foreign_key != new.foreign_key,
        updated_at: old.updated_at != new.updated_at,
    }
}

/// The default the database itself applies (none for a UUID, which the runtime writes).
pub(super) fn sql_default(column: &ColumnSnapshot) -> Option<&ColumnDefault> {
    column
        .default
        .as_ref()
        .filter(|default| **default != ColumnDefault::Uuid)
}

/// Whether every value of type `old` has a value of type `new` that means the same.
pub(super) fn is_widening(old: ColumnType, new: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        (old, new),
        (Integer, Float)
            | (Integer, Text)
            | (Float, Text)
            | (Boolean, Integer)
            | (Boolean, Text)
            | (DateTime, Text)
            | (Json, Text)
    )
}

/// Whether SQLite can add `column` with `ALTER TABLE ... ADD COLUMN`: not a key, not unique,
/// not a default that is an expression, and not required without a default (SQLite refuses
/// each of these; the table is rebuilt instead).
pub(super) fn sqlite_can_add_column(column: &ColumnSnapshot) -> bool {
    let default = sql_default(column);
    !column.primary_key
        && !column.unique
        && !matches!(
            default,
            Some(ColumnDefault::Autoincrement | ColumnDefault::Now)
        )
        && (column.nullable || default.is_some())
        // With foreign keys on, SQLite adds a column with REFERENCES only when its default is NULL.
        && (column.foreign_key.is_none() || default.is_none())
}
