//! [`SocketContext`]: what the team's socket functions and event handlers receive besides their
//! payload: the socket's user, typed access to exactly the entities the spec lists for that
//! namespace, the raw database, and the emitter. While the context's tables or database live,
//! its handler counts as running (see `handlers.rs`): shutdown waits for it before closing the
//! database, so keep them only as long as the work that needs them. (Setup functions and seeds receive a
//! [`ServerContext`](crate::ServerContext) instead.)
//!
//! The generator emits one entity set per function (a struct of [`Table`](crate::Table)s
//! implementing [`EntitySet`]); the function then reads `ctx.entities.message`:
//!
//! ```
//! use appc_runtime::codegen::EntitySet;
//! use appc_runtime::{Database, DbError, Query, SocketContext, Table};
//! # use appc_runtime::codegen::{Entity, IntoColumns, TableSchema};
//! # use appc_runtime::{Row, Value};
//! # pub struct Message;
//! # pub struct NewMessage;
//! # impl IntoColumns for NewMessage { fn into_columns(self) -> Vec<(&'static str, Value)> { Vec::new() } }
//! # impl Entity for Message {
//! #     type Id = i64; type New = NewMessage; type Update = NewMessage;
//! #     fn schema() -> &'static TableSchema { unimplemented!() }
//! #     fn from_row(_: &Row) -> Result<Self, DbError> { unimplemented!() }
//! # }
//!
//! /// Generated from `entities: [Message]`.
//! #[derive(Clone)]
//! pub struct ChatEntities {
//!     pub message: Table<Message>,
//! }
//!
//! impl EntitySet for ChatEntities {
//!     fn from_database(database: &Database) -> Self {
//!         ChatEntities { message: database.table() }
//!     }
//! }
//!
//! /// The team's code.
//! async fn post_message(ctx: SocketContext<ChatEntities>, text: String) -> Result<(), DbError> {
//!     let Some(user) = &ctx.user else { return Ok(()) };
//!     println!("{} posts {text}", user.username());
//!     let count = ctx.entities.message.count(Query::new()).await?;
//!     println!("{count} messages so far");
//!     Ok(())
//! }
//! ```

use crate::app_state::AppState;
use crate::auth::AuthUser;
use crate::db::Database;
use crate::socket::Emitter;

/// A generated struct of typed tables: the entities one server function may use.
pub trait EntitySet: Clone + Send + Sync + 'static {
    /// Builds the tables on the app's pool.
    fn from_database(database: &Database) -> Self;
}

/// No entities (`entities` omitted in the spec).
impl EntitySet for () {
    fn from_database(_: &Database) -> Self {}
}

/// What a socket function or event handler receives besides its own arguments.
#[derive(Debug, Clone)]
pub struct SocketContext<Entities> {
    /// The logged-in user, if any.
    pub user: Option<AuthUser>,
    /// Typed access to the entities the spec lists for this function.
    pub entities: Entities,
    /// The raw pool, for anything the typed access does not cover.
    pub database: Database,
    /// Emits to sockets.
    pub emitter: Emitter,
}

impl<Entities: EntitySet> SocketContext<Entities> {
    /// The context of one event handler over the app's state, on behalf of `user`. The handler
    /// counts as running while the context's tables or database live, so shutdown lets it
    /// finish its writes before closing the database (up to `APPC_SHUTDOWN_TIMEOUT_SECS`).
    pub fn new(state: &AppState, user: Option<AuthUser>) -> Self {
        let database = state.database.for_handler(state.handlers.token());
        SocketContext::over(database, state, user)
    }

    /// The context of a connection's socket function, which may keep it (in its handlers) for
    /// the connection's whole life: it does not count as a running handler, or every open
    /// connection would hold shutdown to its timeout. Its writes still finish or fail with an
    /// error when the database closes, never reported done and lost.
    pub fn for_connection(state: &AppState, user: Option<AuthUser>) -> Self {
        SocketContext::over(state.database.clone(), state, user)
    }

    fn over(database: Database, state: &AppState, user: Option<AuthUser>) -> Self {
        SocketContext {
            user,
            entities: Entities::from_database(&database),
            database,
            emitter: state.emitter.clone(),
        }
    }
}
