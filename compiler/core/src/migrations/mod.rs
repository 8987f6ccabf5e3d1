//! Versioned migrations, the pure part: the schema an app declares as a [`SchemaSnapshot`], and
//! [`plan_migration`], which compares two snapshots and writes the SQL that turns a database of
//! the first into one of the second, for SQLite and for PostgreSQL, with one human line per
//! change and a warning for every change that loses data.
//!
//! The CLI (`appc db migrate`) stores each plan as a migration directory (`sqlite.sql`,
//! `postgresql.sql`, `schema.json`) and the runtime applies the files; nothing here reads or
//! writes them. The SQL is deterministic (the same snapshots always give the same text), every
//! statement ends with `;`, the file starts with a comment saying what it does, and every
//! statement that loses data is preceded by a `-- destructive: ...` comment, so that a team
//! reviewing or editing the file sees it.
//!
//! SQLite cannot alter a column in place, so a table whose columns change in any other way than
//! being added or renamed is rebuilt the way SQLite documents it: create `new_X` with the new
//! columns, copy the rows over, drop `X`, rename `new_X` to `X`, create its indexes again. Such a
//! file must run with foreign keys off (`PRAGMA foreign_keys = OFF` before its transaction, which
//! SQLite ignores inside one): dropping `X` would otherwise cascade to the rows of other tables
//! that point at it. The file itself sets `PRAGMA defer_foreign_keys = ON`, so the copy is only
//! checked at commit.

mod diff;
mod plan;
mod snapshot;
mod sql;

#[cfg(test)]
mod tests;

pub use diff::Rename;
use sql::System;

pub use snapshot::{
    Action, ColumnDefault, ColumnSnapshot, ColumnType, Constant, ForeignKeySnapshot, IndexSnapshot,
    PASSWORD_HASH_COLUMN, SNAPSHOT_VERSION, SchemaSnapshot, TableSnapshot, index_name,
};

/// Plans the migration from a database that holds `previous` to one that holds `next`.
///
/// ```
/// use appc_core::migrations::{PlanOptions, SchemaSnapshot, plan_migration};
///
/// let plan = plan_migration(&SchemaSnapshot::empty(), &SchemaSnapshot::empty(), &PlanOptions::default());
/// assert!(plan.is_empty());
/// ```
pub fn plan_migration(
    previous: &SchemaSnapshot,
    next: &SchemaSnapshot,
    options: &PlanOptions,
) -> MigrationPlan {
    let diff = plan::diff(previous, next, &options.renames);
    let sqlite = sql::render(&diff, System::Sqlite, options.allow_destructive);
    let postgres = sql::render(&diff, System::Postgres, options.allow_destructive);
    MigrationPlan {
        changes: diff.changes,
        destructive: diff.destructive,
        warnings: diff.warnings,
        sqlite,
        postgres,
    }
}

/// What the caller tells [`plan_migration`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Tables and columns that were renamed rather than dropped and added.
    pub renames: Vec<Rename>,
    /// The team allowed destructive changes (`--allow-destructive`). The plan is the same
    /// either way, except that its file header says the destructive changes were allowed; the
    /// caller refuses to write a plan with destructive changes without it.
    pub allow_destructive: bool,
}

/// A planned migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationPlan {
    /// One line per change, in the order the SQL makes them.
    pub changes: Vec<String>,
    /// One line per change that drops data (or fails on existing data), saying which.
    pub destructive: Vec<String>,
    /// Renames from the options that could not be used, and why (the plan was made without
    /// them).
    pub warnings: Vec<String>,
    /// The migration for SQLite.
    pub sqlite: String,
    /// The migration for PostgreSQL.
    pub postgres: String,
}

impl MigrationPlan {
    /// Whether the two snapshots declare the same schema.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}
