//! [`DbError`]: every error of database access. A leaf of the `db` module graph, so that the
//! writer, values, SQL and tables can all return it without importing each other.

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
    /// A query the database cannot run as asked (e.g. a cursor that does not match the order).
    #[error("invalid query on table `{table}`: {problem}")]
    InvalidQuery {
        /// The table.
        table: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A statement would bind more values than the runtime's limit (`MAX_BOUND_VALUES`).
    #[error(
        "a statement on table `{table}` would bind {count} values, more than the {limit} one statement may bind; split the `is_in` list into several queries"
    )]
    TooManyValues {
        /// The table.
        table: String,
        /// How many values the statement would bind.
        count: usize,
        /// The most one statement may bind.
        limit: usize,
    },
    /// An operation by id on a table without a primary key.
    #[error("table `{table}` has no primary key; declare one field with @id")]
    NoPrimaryKey {
        /// The table.
        table: String,
    },
    /// The group-commit writer failed while applying the batch that held this write (it
    /// restarts and applies later writes): the write may or may not have been applied.
    #[error(
        "the database writer failed while applying this write, which may or may not have been applied; check before writing it again"
    )]
    WriteInterrupted,
    /// The PostgreSQL writer could not reconnect to apply this write (the server is down or
    /// unreachable); the write was not applied, and the next one tries again.
    #[error(
        "could not reach {system} to apply this write ({reason}); the write was not applied, send it again once the database is back"
    )]
    DatabaseUnreachable {
        /// The database system.
        system: &'static str,
        /// What the connection attempt reported.
        reason: String,
    },
    /// SQLite's writer gave up after failing again and again; the server is stopping.
    #[error(
        "the database writer stopped ({reason}) and the server is shutting down; the write was not applied, send it again once the server is back"
    )]
    WriterStopped {
        /// Why the writer gave up.
        reason: String,
    },
    /// The first connection to PostgreSQL failed (unreachable, refused, or TLS not agreed on).
    #[error(
        "could not connect to PostgreSQL at {server} with sslmode={ssl_mode}: {source}{advice}"
    )]
    PostgresConnect {
        /// `host:port`, or the folder of the Unix socket.
        server: String,
        /// The `sslmode` the connection was made with.
        ssl_mode: &'static str,
        /// What the driver reported (boxed: connecting is rare, and every `Result` that holds a
        /// `DbError` stays small).
        #[source]
        source: Box<sqlx::Error>,
        /// What to check, when the failure says (empty otherwise).
        advice: &'static str,
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
