//! Versioned migrations: the SQL files of the project's `migrations/` folder, embedded in the
//! server binary ([`EmbeddedMigration`]), their history in the database (table
//! `_appc_migrations`: name, checksum, applied_at), and [`prepare_schema`], which brings a
//! database to the build's schema at start-up.
//!
//! Under the start-up lock (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's advisory lock, the same one
//! the additive migrator takes), each pending migration runs in its own transaction and is
//! recorded in the same one, so several processes starting at once apply it once. A database
//! that recorded a migration this build does not embed is ahead of it, and one whose recorded
//! checksum differs from the embedded file was migrated with another version of that file: the
//! server refuses both, since running on either could lose data or fail at random.
//!
//! Then the mode decides. In development, changes the migrations do not cover yet are applied
//! additively by [`migrate`](super::migrate::migrate) and reported, so `appc dev` keeps working
//! while the team edits entities. In production the schema is never changed beyond the migration
//! files: a database that still differs from the declared entities refuses the start, naming the
//! differences. Recognising a schema that is already what a migration would produce (a database
//! created before migrations existed, or a change `appc dev` made without one) compares shapes
//! (`live_schema.rs`) with the migrations applied to a scratch database.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Connection};

use super::database::Database;
use super::error::DbError;
use super::live_schema::{HISTORY_TABLE, SchemaShape};
use super::migrate::{MIGRATION_LOCK_KEY, MigrationError, MigrationReport, migrate};
use super::schema::{SqlType, TableSchema, quote_identifier};
use super::sql::{Conn, Param, Pooled};
use super::system::DbSystem;
use super::value::Value;

/// One migration of the project's `migrations/` folder as the generated server embeds it: the
/// folder's name (`20260101093000_add_room`) and its SQL for each database system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedMigration {
    /// The folder name; migrations apply in the order of their names.
    pub name: &'static str,
    /// `sqlite.sql`.
    pub sqlite: &'static str,
    /// `postgresql.sql`.
    pub postgresql: &'static str,
}

impl EmbeddedMigration {
    /// The SQL this migration runs on `system`.
    pub fn sql(&self, system: DbSystem) -> &'static str {
        match system {
            DbSystem::Sqlite => self.sqlite,
            DbSystem::Postgres => self.postgresql,
        }
    }

    /// The file holding [`EmbeddedMigration::sql`], as the team finds it:
    /// `migrations/20260101093000_add_room/sqlite.sql`.
    pub fn file(&self, system: DbSystem) -> String {
        let file = match system {
            DbSystem::Sqlite => "sqlite.sql",
            DbSystem::Postgres => "postgresql.sql",
        };
        format!("migrations/{}/{file}", self.name)
    }

    /// What the history records: the SHA-256 of the applied SQL, in lower-case hex.
    pub fn checksum(&self, system: DbSystem) -> String {
        Sha256::digest(self.sql(system).as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// One row of the migration history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The migration's name.
    pub name: String,
    /// The checksum of the SQL that was applied.
    pub checksum: String,
    /// When it was applied, as the database wrote it.
    pub applied_at: String,
}

/// How a database stands against the migrations of this build (`server migrate status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The recorded migrations, oldest first.
    pub applied: Vec<AppliedMigration>,
    /// Embedded migrations not applied yet, in the order they would run.
    pub pending: Vec<String>,
    /// Recorded migrations this build does not embed: the database is ahead of it.
    pub unknown: Vec<String>,
    /// Recorded migrations whose embedded SQL has changed since they were applied.
    pub changed: Vec<String>,
    /// With nothing pending, how the schema still differs from the declared entities.
    pub differences: Vec<String>,
}

/// Why a migration was recorded without running its SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedReason {
    /// The database was created before migrations existed and already has the first one's
    /// schema.
    Baseline,
    /// Development only: the database already has the migration's schema (the additive
    /// changes `appc dev` made before the migration was written).
    AlreadyInDevelopmentDatabase,
}

/// What [`prepare_schema`] did.
#[derive(Debug, Clone, Default)]
pub struct SchemaReport {
    /// Migrations run now, with how long each took.
    pub applied: Vec<(String, Duration)>,
    /// Migrations recorded as applied without running them, and why.
    pub recorded: Vec<(String, RecordedReason)>,
    /// Development only: the additive changes made without a migration.
    pub development_changes: MigrationReport,
    /// Development only: how the schema still differs from the entities afterwards (changes
    /// the additive migrator does not make, such as a column made required).
    pub development_differences: Vec<String>,
}

/// Brings the database to this build's schema: pending `migrations` first (refusing a database
/// ahead of or diverged from them), then, with `development`, the additive changes the
/// migrations do not cover; without it (production), a schema that still differs from `tables`
/// is refused. See the module documentation.
pub async fn prepare_schema(
    database: &Database,
    migrations: &[EmbeddedMigration],
    tables: &[&TableSchema],
    development: bool,
) -> Result<SchemaReport, MigrationError> {
    let system = database.system();
    let mut migrations = migrations.to_vec();
    migrations.sort_by_key(|migration| migration.name);
    let mut report = SchemaReport::default();
    // The shape after each migration, on a scratch database; computed once, when needed.
    let mut shapes: Option<Vec<SchemaShape>> = None;
    loop {
        let mut locked = LockedConnection::begin(database).await?;
        let history = read_history(&mut locked.conn()).await?;
        check_history(history.as_deref().unwrap_or_default(), &migrations, system)?;
        let recorded = history.as_deref().unwrap_or_default();
        let Some(first_pending) = migrations.iter().position(|migration| {
            !recorded
                .iter()
                .any(|applied| applied.name == migration.name)
        }) else {
            locked.commit().await?;
            break;
        };
        let live = SchemaShape::read(&mut locked.conn()).await?;
        let baseline = history.is_none() && !live.is_empty();
        if baseline || (development && !live.is_empty()) {
            if shapes.is_none() {
                shapes = Some(scratch_shapes(database, &migrations).await?);
            }
            let shapes = shapes.as_deref().unwrap_or_default();
            // Production baselines only onto the first migration; development also recognises
            // later ones, up to the last whose schema the database already has.
            let last_candidate = if development {
                migrations.len() - 1
            } else {
                first_pending
            };
            let matched = (first_pending..=last_candidate)
                .rev()
                .find(|&index| live.differences(&shapes[index], true).is_empty());
            if let Some(last) = matched {
                let reason = if development {
                    RecordedReason::AlreadyInDevelopmentDatabase
                } else {
                    RecordedReason::Baseline
                };
                ensure_history_table(&mut locked.conn()).await?;
                for migration in &migrations[first_pending..=last] {
                    record(&mut locked.conn(), migration, system).await?;
                    report.recorded.push((migration.name.to_owned(), reason));
                }
                locked.commit().await?;
                continue;
            }
            if baseline && !development {
                return Err(MigrationError::NotBaselined {
                    name: migrations[first_pending].name.to_owned(),
                    differences: live.differences(&shapes[first_pending], true),
                });
            }
        }
        let migration = migrations[first_pending];
        let started = Instant::now();
        ensure_history_table(&mut locked.conn()).await?;
        let failed = |reason: String| MigrationError::Failed {
            name: migration.name.to_owned(),
            file: migration.file(system),
            reason,
            development,
        };
        locked
            .run_script(migration.sql(system))
            .await
            .map_err(|error| failed(error.to_string()))?;
        record(&mut locked.conn(), &migration, system).await?;
        if let Some(problem) = locked.foreign_key_problem().await? {
            return Err(failed(problem));
        }
        locked.commit().await?;
        report
            .applied
            .push((migration.name.to_owned(), started.elapsed()));
    }

    let declared = SchemaShape::declared(system, tables);
    if development {
        report.development_changes = migrate(database, tables).await?;
        let live = read_shape(database).await?;
        report.development_differences = live.differences(&declared, false);
    } else {
        let live = read_shape(database).await?;
        let differences = live.differences(&declared, false);
        if !differences.is_empty() {
            return Err(MigrationError::Undeclared { differences });
        }
    }
    Ok(report)
}

/// How the database stands against `migrations` and the declared `tables`, without changing
/// anything.
pub async fn migration_status(
    database: &Database,
    migrations: &[EmbeddedMigration],
    tables: &[&TableSchema],
) -> Result<MigrationStatus, DbError> {
    let system = database.system();
    let mut pooled = database.acquire().await?;
    let applied = read_history(&mut pooled.conn()).await?.unwrap_or_default();
    let mut status = MigrationStatus::default();
    for migration in migrations {
        match applied
            .iter()
            .find(|applied| applied.name == migration.name)
        {
            None => status.pending.push(migration.name.to_owned()),
            Some(applied) if applied.checksum != migration.checksum(system) => {
                status.changed.push(migration.name.to_owned())
            }
            Some(_) => {}
        }
    }
    status.pending.sort();
    status.unknown = unknown_migrations(&applied, migrations);
    if status.pending.is_empty() {
        let live = SchemaShape::read(&mut pooled.conn()).await?;
        status.differences = live.differences(&SchemaShape::declared(system, tables), false);
    }
    status.applied = applied;
    Ok(status)
}

/// The names in `history` of the migrations this build lacks (applied by a newer build or
/// another branch), in the history's order.
fn unknown_migrations(
    history: &[AppliedMigration],
    migrations: &[EmbeddedMigration],
) -> Vec<String> {
    history
        .iter()
        .filter(|applied| {
            !migrations
                .iter()
                .any(|migration| migration.name == applied.name)
        })
        .map(|applied| applied.name.clone())
        .collect()
}

/// Refuses a history that names a migration this build lacks, or whose checksum differs.
fn check_history(
    history: &[AppliedMigration],
    migrations: &[EmbeddedMigration],
    system: DbSystem,
) -> Result<(), MigrationError> {
    let unknown = unknown_migrations(history, migrations);
    if !unknown.is_empty() {
        return Err(MigrationError::Ahead { names: unknown });
    }
    let changed: Vec<String> = history
        .iter()
        .filter_map(|applied| {
            let migration = migrations
                .iter()
                .find(|migration| migration.name == applied.name)?;
            (migration.checksum(system) != applied.checksum).then(|| applied.name.clone())
        })
        .collect();
    if !changed.is_empty() {
        return Err(MigrationError::Diverged { names: changed });
    }
    Ok(())
}

/// The history, oldest first, or `None` when the database has no history table.
async fn read_history(conn: &mut Conn<'_>) -> Result<Option<Vec<AppliedMigration>>, DbError> {
    let exists_sql = match conn.system() {
        DbSystem::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
        DbSystem::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let name = Param {
        value: Value::Text(HISTORY_TABLE.to_owned()),
        sql_type: SqlType::Text,
    };
    if conn.fetch_integer(exists_sql, vec![name]).await? == 0 {
        return Ok(None);
    }
    let applied_at = match conn.system() {
        DbSystem::Sqlite => "applied_at",
        DbSystem::Postgres => "applied_at::text",
    };
    let rows = conn
        .fetch_text_rows(
            &format!(
                "SELECT name, checksum, {applied_at} FROM {} ORDER BY applied_at, name",
                quote_identifier(HISTORY_TABLE)
            ),
            Vec::new(),
        )
        .await?;
    Ok(Some(
        rows.into_iter()
            .map(|row| {
                let mut row = row.into_iter().map(Option::unwrap_or_default);
                AppliedMigration {
                    name: row.next().unwrap_or_default(),
                    checksum: row.next().unwrap_or_default(),
                    applied_at: row.next().unwrap_or_default(),
                }
            })
            .collect(),
    ))
}

async fn ensure_history_table(conn: &mut Conn<'_>) -> Result<(), DbError> {
    // `applied_at` is the database's own time, as text on SQLite (RFC 3339, like every
    // timestamp the runtime stores there).
    let applied_at = match conn.system() {
        DbSystem::Sqlite => "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))",
        DbSystem::Postgres => "TIMESTAMPTZ NOT NULL DEFAULT now()",
    };
    conn.execute(
        &format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  \"name\" TEXT PRIMARY KEY NOT NULL,\n  \"checksum\" TEXT NOT NULL,\n  \"applied_at\" {applied_at}\n)",
            quote_identifier(HISTORY_TABLE)
        ),
        Vec::new(),
    )
    .await?;
    Ok(())
}

async fn record(
    conn: &mut Conn<'_>,
    migration: &EmbeddedMigration,
    system: DbSystem,
) -> Result<(), DbError> {
    let text = |text: String| Param {
        value: Value::Text(text),
        sql_type: SqlType::Text,
    };
    let placeholders = match system {
        DbSystem::Sqlite => "?, ?",
        DbSystem::Postgres => "$1, $2",
    };
    conn.execute(
        &format!(
            "INSERT INTO {} (\"name\", \"checksum\") VALUES ({placeholders})",
            quote_identifier(HISTORY_TABLE)
        ),
        vec![
            text(migration.name.to_owned()),
            text(migration.checksum(system)),
        ],
    )
    .await?;
    Ok(())
}

async fn read_shape(database: &Database) -> Result<SchemaShape, DbError> {
    let mut pooled = database.acquire().await?;
    SchemaShape::read(&mut pooled.conn()).await
}

/// The schema after each of `migrations`, applied in order to a scratch database: an in-memory
/// SQLite database, or on PostgreSQL a schema of its own inside a transaction that is rolled
/// back, so nothing of it remains.
async fn scratch_shapes(
    database: &Database,
    migrations: &[EmbeddedMigration],
) -> Result<Vec<SchemaShape>, MigrationError> {
    let system = database.system();
    let broken = |migration: &EmbeddedMigration, error: DbError| MigrationError::Failed {
        name: migration.name.to_owned(),
        file: migration.file(system),
        reason: format!("{error} (while applying it to an empty scratch database)"),
        development: false,
    };
    let mut shapes = Vec::with_capacity(migrations.len());
    match system {
        DbSystem::Sqlite => {
            let mut scratch = sqlx::SqliteConnection::connect("sqlite::memory:")
                .await
                .map_err(DbError::from)?;
            for migration in migrations {
                sqlx::raw_sql(AssertSqlSafe(migration.sqlite.to_owned()))
                    .execute(&mut scratch)
                    .await
                    .map_err(|error| broken(migration, error.into()))?;
                shapes.push(SchemaShape::read(&mut Conn::Sqlite(&mut scratch)).await?);
            }
            let _ = scratch.close().await;
        }
        DbSystem::Postgres => {
            let mut pooled = database.acquire().await?;
            let Pooled::Postgres(connection) = &mut pooled else {
                return Ok(shapes);
            };
            connection.close_on_drop();
            let schema =
                quote_identifier(&format!("_appc_scratch_{}", uuid::Uuid::new_v4().simple()));
            let mut transaction = connection.begin().await.map_err(DbError::from)?;
            sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema}"
            )))
            .execute(&mut *transaction)
            .await
            .map_err(DbError::from)?;
            for migration in migrations {
                sqlx::raw_sql(AssertSqlSafe(migration.postgresql.to_owned()))
                    .execute(&mut *transaction)
                    .await
                    .map_err(|error| broken(migration, error.into()))?;
                shapes.push(SchemaShape::read(&mut Conn::Postgres(&mut transaction)).await?);
            }
            transaction.rollback().await.map_err(DbError::from)?;
        }
    }
    Ok(shapes)
}

/// A pooled connection inside a transaction that holds the migration lock. On SQLite foreign
/// key enforcement is off for the transaction (SQLite ignores that pragma inside one), so a
/// migration that rebuilds a table does not trip over the rows referencing it; the keys are
/// checked with `PRAGMA foreign_key_check` before the commit instead. The connection is closed
/// when this is dropped, never returned to the pool half-way (a rollback by disconnecting).
/// `reset.rs` drops tables through it too.
pub(super) struct LockedConnection {
    pooled: Pooled,
}

impl LockedConnection {
    pub(super) async fn begin(database: &Database) -> Result<LockedConnection, DbError> {
        let mut pooled = database.acquire().await?;
        match &mut pooled {
            Pooled::Sqlite(connection) => connection.close_on_drop(),
            Pooled::Postgres(connection) => connection.close_on_drop(),
        }
        let mut locked = LockedConnection { pooled };
        let start = match database.system() {
            DbSystem::Sqlite => "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE".to_owned(),
            // Several server processes may start at once against one database; the lock (held
            // until the transaction ends) makes them migrate one after the other, and the later
            // ones find the work recorded.
            DbSystem::Postgres => {
                format!("BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            }
        };
        locked.run_script(&start).await?;
        Ok(locked)
    }

    pub(super) fn conn(&mut self) -> Conn<'_> {
        self.pooled.conn()
    }

    /// Runs every statement of `sql` (a migration file) as it is.
    pub(super) async fn run_script(&mut self, sql: &str) -> Result<(), DbError> {
        let script = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        match &mut self.pooled {
            Pooled::Sqlite(connection) => {
                script.execute(&mut **connection).await?;
            }
            Pooled::Postgres(connection) => {
                script.execute(&mut **connection).await?;
            }
        }
        Ok(())
    }

    /// On SQLite, the rows that break a foreign key after the transaction's changes (which
    /// ran with enforcement off), described; `None` when every key holds.
    async fn foreign_key_problem(&mut self) -> Result<Option<String>, DbError> {
        if !matches!(self.pooled, Pooled::Sqlite(_)) {
            return Ok(None);
        }
        let violations = self
            .conn()
            .fetch_text_rows("PRAGMA foreign_key_check", Vec::new())
            .await?;
        Ok(violations.first().map(|first| {
            let table = first.first().cloned().flatten().unwrap_or_default();
            let parent = first.get(2).cloned().flatten().unwrap_or_default();
            format!(
                "{} rows break a foreign key afterwards (the first in `{table}`, referencing `{parent}`)",
                violations.len()
            )
        }))
    }

    pub(super) async fn commit(mut self) -> Result<(), DbError> {
        self.run_script("COMMIT").await?;
        if let Pooled::Sqlite(_) = self.pooled {
            // The connection is closed when dropped, but a pooled one must never go back
            // without its foreign keys.
            let _ = self.run_script("PRAGMA foreign_keys = ON").await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_the_sha256_of_the_system_s_file() {
        let migration = EmbeddedMigration {
            name: "20260101000000_init",
            sqlite: "",
            postgresql: "abc",
        };
        assert_eq!(
            migration.checksum(DbSystem::Sqlite),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            migration.checksum(DbSystem::Postgres),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            migration.file(DbSystem::Postgres),
            "migrations/20260101000000_init/postgresql.sql"
        );
    }
}
