//! [`DbSystem`]: which database the app runs on. A leaf: the schema, the SQL builder and the
//! pool all ask it which dialect to speak.

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
