//! [`AppState`]: what every HTTP handler, socket connection and server hook is built from (the
//! database, auth, the socket emitter and the configuration).
//!
//! It is a leaf of the runtime's module graph: it names the services it holds and nothing that
//! serves, builds contexts or runs hooks, so `server`, `context` and `hooks` can all depend on it
//! without depending on each other.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::Auth;
use crate::config::Config;
use crate::db::Database;
use crate::handlers::RunningHandlers;
use crate::operation_limit::OperationLimiter;
use crate::socket::Emitter;

/// What every handler can reach: the database, auth, the socket emitter and the config.
/// Generated code builds each handler's context (user, `entities`) from it; HTTP handlers
/// extract it (or one of its parts) with `State`.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The connection pool.
    pub database: Database,
    /// The auth service (disabled for apps without auth).
    pub auth: Auth,
    /// Emits to sockets from anywhere.
    pub emitter: Emitter,
    /// The resolved configuration.
    pub config: Arc<Config>,
    /// The socket handlers that are running, which shutdown waits for.
    pub(crate) handlers: RunningHandlers,
    /// The per-client rate limit of queries, actions and apis.
    pub(crate) operation_limiter: Arc<OperationLimiter>,
}

impl FromRef<AppState> for Auth {
    fn from_ref(state: &AppState) -> Auth {
        state.auth.clone()
    }
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Database {
        state.database.clone()
    }
}

impl FromRef<AppState> for Emitter {
    fn from_ref(state: &AppState) -> Emitter {
        state.emitter.clone()
    }
}
