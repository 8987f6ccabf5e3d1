//! [`Database`]: the cloneable handle on the app's connection pool for SQLite or PostgreSQL,
//! with its group-commit writer, and the connections, transactions and write targets the
//! typed layer (`entity.rs`), auth and migrations borrow from it.
//!
//! It knows nothing of entities: `Database::table` and `Database::begin` are defined beside
//! [`Table`](super::Table) and [`Transaction`](super::Transaction) in `entity.rs`, which builds on
//! this module, so the two never import each other.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use super::changes::{ChangeListener, ChangeSink};
use super::error::DbError;
use super::postgres_tls::{PostgresTlsSettings, ssl_mode_name};
use super::query::Query;
use super::schema::TableSchema;
use super::sql::{Conn, OwnedTransaction, Pooled, RowOps};
use super::system::DbSystem;
use super::value::Row;
use super::writer::{GroupWriter, PostgresWriter, RestartPolicy, SqliteWriter};
use crate::handlers::HandlerToken;

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
    /// The group-commit writer that applies single-row writes made outside transactions (see
    /// `writer.rs`).
    writer: GroupWriter,
    /// The socket handler this handle was made for (see [`Database::for_handler`]): it counts
    /// as running while any clone of the handle, or a table built on it, lives.
    _handler: Option<HandlerToken>,
    /// Where committed writes are reported (the live queries' hub, once the server set it).
    changes: ChangeSink,
}

impl Database {
    /// Connects to `sqlite://PATH` (creating the file, in WAL mode with `synchronous = NORMAL` and
    /// foreign keys on) or to `postgres://...`. It also starts the group-commit writer on the
    /// current tokio runtime: one more connection that applies the single-row writes of
    /// [`Table`] (outside transactions) in shared transactions.
    ///
    /// PostgreSQL is reached over TLS (rustls, with Mozilla's root certificates) as the url's
    /// `sslmode` says: `prefer` (the default) uses TLS when the server offers it, `require`
    /// insists on it without checking the certificate, `verify-ca` and `verify-full` check it
    /// against `sslrootcert` (or the built-in roots), `verify-full` also checks the host name. As
    /// in libpq, `require` with an `sslrootcert` checks the certificate like `verify-ca`.
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
                    // sqlx pings an idle connection before lending it, a round trip to the
                    // connection's own thread that finds nothing on SQLite: the database is a
                    // file in this process, never a peer that hung up, and a worker thread that
                    // died fails the next statement with `WorkerCrashed` all the same. Skipping
                    // it saves two thread switches on every read (BENCHMARKS.md, operations).
                    .test_before_acquire(false)
                    .connect_with(options.clone())
                    .await?;
                let writer = SqliteWriter::start(&options, RestartPolicy::default()).await?;
                Ok(Database {
                    pool: Pool::Sqlite(pool),
                    writer: GroupWriter::Sqlite(writer),
                    _handler: None,
                    changes: ChangeSink::default(),
                })
            }
            Some(DbSystem::Postgres) => {
                // Read first, so that a wrong sslmode gets this message rather than sqlx's.
                let tls_settings = PostgresTlsSettings::from_url(url)
                    .map_err(|problem| DbError::Sqlx(sqlx::Error::Configuration(problem.into())))?;
                let mut options = PgConnectOptions::from_str(url)?;
                if let Some(ssl_mode) = tls_settings.effective_ssl_mode() {
                    options = options.ssl_mode(ssl_mode);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.clone())
                    .await
                    .map_err(|error| postgres_connect_error(&options, error))?;
                let writer = PostgresWriter::start(&options, RestartPolicy::default()).await?;
                Ok(Database {
                    pool: Pool::Postgres(pool),
                    writer: GroupWriter::Postgres(writer),
                    _handler: None,
                    changes: ChangeSink::default(),
                })
            }
            None => Err(DbError::UnsupportedUrl {
                scheme: url.split(':').next().unwrap_or_default().to_owned(),
            }),
        }
    }

    /// A handle on the same pool that keeps `handler` counted as running while it, a clone of
    /// it or a table built on it lives: the database a socket handler's context holds, so that
    /// shutdown waits for the handler's writes before closing the pool. Whatever part of the
    /// context the handler keeps (its tables, the raw database), the count follows it.
    pub(crate) fn for_handler(&self, handler: HandlerToken) -> Database {
        Database {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            _handler: Some(handler),
            changes: self.changes.clone(),
        }
    }

    /// Where the entity layer reports committed writes; every clone of this handle shares it.
    pub(crate) fn changes(&self) -> &ChangeSink {
        &self.changes
    }

    /// Reports every committed write made through this pool (any clone of it) to `listener`
    /// from now on; `false` if a listener was already set.
    pub(crate) fn listen_for_changes(&self, listener: Arc<dyn ChangeListener>) -> bool {
        self.changes.listen(listener)
    }

    /// The database system behind this pool.
    pub fn system(&self) -> DbSystem {
        match self.pool {
            Pool::Sqlite(_) => DbSystem::Sqlite,
            Pool::Postgres(_) => DbSystem::Postgres,
        }
    }

    /// Untyped read access: the rows of any declared table, as [`Row`]s. Its columns are named
    /// with [`Column::named`](crate::Column::named), checked against `table` when the query runs.
    ///
    /// ```no_run
    /// # async fn example(database: appc_runtime::Database, table: appc_runtime::codegen::TableSchema) -> Result<(), appc_runtime::DbError> {
    /// use appc_runtime::{Column, Query, Row};
    /// let text = Column::<Row, String>::named("text");
    /// for row in database.find_rows(&table, Query::new().filter(text.contains("hello")).order_by(text.asc()).limit(10)).await? {
    ///     println!("{}", row.to_json_without(&[]));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_rows(
        &self,
        table: &TableSchema,
        query: Query<Row>,
    ) -> Result<Vec<Row>, DbError> {
        let mut pooled = self.acquire().await?;
        RowOps::new(table)
            .find_many(&mut pooled.conn(), &query.selection)
            .await
    }

    /// How the database would run a query on `table` (a typed `find_many`, or `find_rows`):
    /// one line per step of SQLite's `EXPLAIN QUERY PLAN` (`SCAN Message USING INDEX
    /// Message_createdAt_idx`) or of PostgreSQL's `EXPLAIN`. Use it to check that a frequent
    /// query is served by an index (`@@index([...])` in the entity).
    pub async fn query_plan<E>(
        &self,
        table: &TableSchema,
        query: &Query<E>,
    ) -> Result<Vec<String>, DbError> {
        let mut pooled = self.acquire().await?;
        RowOps::new(table)
            .query_plan(&mut pooled.conn(), &query.selection)
            .await
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

    /// Completes, with the reason, if SQLite's group-commit writer gives up after failing
    /// again and again (see `writer.rs`); never on PostgreSQL (whose writer waits for the
    /// server to come back) or while the writer works. The server waits for it next to its
    /// shutdown signal and stops with an error.
    pub async fn writer_stopped(&self) -> String {
        self.writer.stopped().await.to_string()
    }

    /// Why SQLite's group-commit writer gave up, if it has.
    pub fn writer_stop_reason(&self) -> Option<String> {
        self.writer.stop_reason().map(|reason| reason.to_string())
    }

    /// Tests only: makes the writer panic while it applies its next batch.
    #[cfg(test)]
    pub(crate) async fn panic_writer_for_test(&self) {
        self.writer.panic_for_test().await;
    }

    /// Closes every connection, waiting for the ones in use to be returned and for queued
    /// writes to be applied.
    pub async fn close(&self) {
        self.writer.close().await;
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// Where a single-row write outside a transaction goes: the group-commit writer.
    pub(crate) async fn write_target(&self) -> Result<WriteTarget<'_>, DbError> {
        Ok(WriteTarget(&self.writer))
    }

    /// Begins a transaction on a pooled connection. With `immediate`, SQLite takes the write
    /// lock at once (`BEGIN IMMEDIATE`), so work that reads then writes, like a migration,
    /// cannot interleave with another process doing the same; PostgreSQL begins as usual.
    pub(crate) async fn begin_transaction(
        &self,
        immediate: bool,
    ) -> Result<OwnedTransaction, DbError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) if immediate => {
                OwnedTransaction::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            Pool::Sqlite(pool) => OwnedTransaction::Sqlite(pool.begin().await?),
            Pool::Postgres(pool) => OwnedTransaction::Postgres(pool.begin().await?),
        })
    }

    pub(crate) async fn acquire(&self) -> Result<Pooled, DbError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Pooled::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Pooled::Postgres(pool.acquire().await?),
        })
    }
}

/// Whether the TLS handshake failed on the server's certificate: rustls reports that as the io
/// error of the handshake.
#[cfg(feature = "postgres-tls")]
fn certificate_refused(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(io_error) if io_error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|tls_error| matches!(tls_error, rustls::Error::InvalidCertificate(_)))
    )
}

/// Without TLS built in, no certificate is ever checked.
#[cfg(not(feature = "postgres-tls"))]
fn certificate_refused(_error: &sqlx::Error) -> bool {
    false
}

/// A failed first connection to PostgreSQL, with the server and the `sslmode` it was made with,
/// and what to check when the server's certificate was refused or TLS was not offered.
fn postgres_connect_error(options: &PgConnectOptions, error: sqlx::Error) -> DbError {
    let server = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let certificate_refused = certificate_refused(&error);
    let advice = if certificate_refused {
        "; the server's TLS certificate was not accepted: set sslrootcert in DATABASE_URL to the PEM file of the authority that signed it (with verify-full the certificate must also name the host of the url)"
    } else if matches!(&error, sqlx::Error::Tls(_)) {
        "; check that the server accepts TLS (ssl = on), or lower sslmode in DATABASE_URL if the connection may go unencrypted"
    } else {
        ""
    };
    DbError::PostgresConnect {
        server,
        ssl_mode: ssl_mode_name(options.get_ssl_mode()),
        source: Box::new(error),
        advice,
    }
}

/// See [`Database::write_target`].
pub(crate) struct WriteTarget<'d>(&'d GroupWriter);

impl WriteTarget<'_> {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self.0 {
            GroupWriter::Sqlite(writer) => Conn::SqliteWriter(writer),
            GroupWriter::Postgres(writer) => Conn::PostgresWriter(writer),
        }
    }
}
