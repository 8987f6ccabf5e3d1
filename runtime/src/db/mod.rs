//! Database access: the connection pool for SQLite or PostgreSQL ([`Database`]), the declared
//! schema as data ([`TableSchema`]), the generic typed entity layer the generator targets
//! ([`Entity`], [`Table`], [`Query`], [`Transaction`]) and start-up migrations ([`migrate`]).
//!
//! All SQL is built from the declared schema (quoted identifiers) and every value travels as a
//! bound parameter, never spliced into the SQL text.

mod entity;
mod migrate;
mod schema;
mod sql;
mod value;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use entity::{Entity, IntoColumns, Order, Query, Table, Transaction, TxTable};
pub use migrate::{MigrationError, MigrationReport, migrate};
pub use schema::{ColumnDefault, ColumnSchema, ForeignKey, SqlType, TableSchema};
pub use value::{FromValue, Row, Value};

pub(crate) use sql::{Conn, Pooled, RowOps};
use writer::SqliteWriter;

/// Which database system the app runs on, from the spec's `db.system`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbSystem {
    /// SQLite (the default): one file, embedded, WAL mode.
    Sqlite,
    /// PostgreSQL, for apps that run on more than one machine.
    Postgres,
}

impl DbSystem {
    /// The system a `DATABASE_URL` names by its scheme, if it is one we support.
    pub fn from_url(url: &str) -> Option<DbSystem> {
        if url.starts_with("sqlite:") {
            Some(DbSystem::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DbSystem::Postgres)
        } else {
            None
        }
    }
}

/// Errors from database access. Messages name the table and column involved.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The driver or the database reported an error.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A query or a row access named a column the table does not declare.
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The column that was asked for.
        column: String,
    },
    /// A column value could not be turned into the requested Rust type.
    #[error("column `{table}.{column}` could not be decoded: {problem}")]
    Decode {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What was expected and found.
        problem: String,
    },
    /// An operation by id on a table without a primary key.
    #[error("table `{table}` has no primary key; declare one field with @id")]
    NoPrimaryKey {
        /// The table.
        table: String,
    },
    /// The `DATABASE_URL` names a database system this runtime does not support.
    #[error(
        "unsupported database url scheme in `{scheme}`; use sqlite://PATH or postgres://USER:PASSWORD@HOST/DB"
    )]
    UnsupportedUrl {
        /// The part of the url before `:`.
        scheme: String,
    },
}

impl DbError {
    /// Whether the error is a UNIQUE constraint violation (e.g. a taken username).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlx(error) => error
                .as_database_error()
                .is_some_and(|database_error| database_error.is_unique_violation()),
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A cloneable handle on the app's connection pool (cloning is cheap and shares the pool).
///
/// ```no_run
/// # async fn example() -> Result<(), appc_runtime::DbError> {
/// use appc_runtime::Database;
/// let database = Database::connect("sqlite://.appc/dev.db").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool,
    /// SQLite only: the group-commit writer that applies single-row writes made outside
    /// transactions (see `writer.rs`).
    writer: Option<SqliteWriter>,
}

impl Database {
    /// Connects to `sqlite://PATH` (creating the file, in WAL mode with `synchronous = NORMAL` and
    /// foreign keys on) or to `postgres://...`. On SQLite it also starts the group-commit writer
    /// on the current tokio runtime: one more connection that applies the single-row writes
    /// of [`Table`] (outside transactions) in shared transactions.
    pub async fn connect(url: &str) -> Result<Database, DbError> {
        match DbSystem::from_url(url) {
            Some(DbSystem::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // With WAL, NORMAL stays consistent after a crash and skips the fsync on every
                    // commit that FULL (sqlx's default) waits for; under broadcast load those
                    // fsyncs queued writers until their inserts timed out (BENCHMARKS.md).
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // Writers wait for each other instead of failing at once under load.
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options.clone())
                    .await?;
                let writer = SqliteWriter::start(&options).await?;
                Ok(Database {
                    pool: Pool::Sqlite(pool),
                    writer: Some(writer),
                })
            }
            Some(DbSystem::Postgres) => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Database {
                    pool: Pool::Postgres(pool),
                    writer: None,
                })
            }
            None => Err(DbError::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_owned(),
            }),
        }
    }

    /// The database system behind this pool.
    pub fn system(&self) -> DbSystem {
        match self.pool {
            Pool::Sqlite(_) => DbSystem::Sqlite,
            Pool::Postgres(_) => DbSystem::Postgres,
        }
    }

    /// Typed access to one entity's table.
    pub fn table<E: Entity>(&self) -> Table<E> {
        Table::new(self.clone())
    }

    /// Untyped read access: the rows of any declared table, as [`Row`]s.
    ///
    /// ```no_run
    /// # async fn example(database: appc_runtime::Database, table: appc_runtime::codegen::TableSchema) -> Result<(), appc_runtime::DbError> {
    /// use appc_runtime::Query;
    /// for row in database.find_rows(&table, Query::new().limit(10)).await? {
    ///     println!("{}", row.to_json_without(&[]));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_rows(&self, table: &TableSchema, query: Query) -> Result<Vec<Row>, DbError> {
        let mut pooled = self.acquire().await?;
        RowOps::new(table)
            .find_many(&mut pooled.conn(), &query)
            .await
    }

    /// Starts a transaction; use [`Transaction::table`] inside it and finish with
    /// [`Transaction::commit`] (dropping it rolls back).
    pub async fn begin(&self) -> Result<Transaction, DbError> {
        Transaction::begin(self).await
    }

    /// The raw SQLite pool, for queries the typed layer does not cover.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(pool) => Some(pool),
            Pool::Postgres(_) => None,
        }
    }

    /// The raw PostgreSQL pool, for queries the typed layer does not cover.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// Closes every connection, waiting for the ones in use to be returned and for queued
    /// writes to be applied.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Where a single-row write outside a transaction goes: SQLite's group-commit writer, or a
    /// pooled PostgreSQL connection (PostgreSQL has no single-writer lock to queue on).
    pub(crate) async fn write_target(&self) -> Result<WriteTarget<'_>, DbError> {
        Ok(match &self.writer {
            Some(writer) => WriteTarget::Writer(writer),
            None => WriteTarget::Pooled(self.acquire().await?),
        })
    }

    pub(crate) async fn acquire(&self) -> Result<Pooled, DbError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Pooled::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Pooled::Postgres(pool.acquire().await?),
        })
    }
}

/// See [`Database::write_target`].
pub(crate) enum WriteTarget<'d> {
    Writer(&'d SqliteWriter),
    Pooled(Pooled),
}

impl WriteTarget<'_> {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            WriteTarget::Writer(writer) => Conn::SqliteWriter(writer),
            WriteTarget::Pooled(pooled) => pooled.conn(),
        }
    }
}
