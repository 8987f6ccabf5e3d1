//! [`SocketContext`]: what the team's socket functions and event handlers receive besides their
//! payload: the socket's user as the spec's typed user entity, typed access to exactly the
//! entities the spec lists for that namespace, the raw database, and the emitter. While the
//! context's tables or database live, its handler counts as running (see `handlers.rs`):
//! shutdown waits for it before closing the database, so keep them only as long as the work
//! that needs them. (Setup functions and seeds receive a [`ServerContext`](crate::ServerContext)
//! instead: they run for no user.)
//!
//! ## The user
//!
//! `ctx.user` is typed by the context's second parameter, a [`ContextUser`] (in the leaf module
//! `context_user.rs`, which the socket middleware uses too), which the generator
//! picks per namespace from `main.wasp` (as the namespace's `SocketUser` alias):
//!
//! | the spec | `ctx.user` | team code reads |
//! | --- | --- | --- |
//! | `auth: true` on the namespace | the user entity (`User`) | `ctx.user.id`, `ctx.user.username` |
//! | `app.auth`, namespace without `auth: true` | `Option<User>` (`None` for an anonymous socket) | `ctx.user.as_ref().map(\|user\| user.id)` |
//! | no `app.auth` | [`NoUser`] | nothing: no socket can log in |
//!
//! An `auth: true` namespace has refused every socket without a valid token before the team's
//! code runs, so its user needs no `Option`. An app without auth has no user entity to name;
//! [`NoUser`] (rather than no field, or `()`) keeps one context type for every app and turns a
//! stray `ctx.user.id` into a compile error that names `NoUser`, whose docs say what to add.
//!
//! The typed user is decoded once per connection, when the socket connects, from the row the
//! token check has already loaded ([`ConnectionUser`]); every context of that socket gets a
//! copy, so an event costs no decoding. A user row that does not decode as the entity (a column
//! the entity declares is missing or of another type) refuses the connection with a logged
//! reason. The untyped [`AuthUser`] stays reachable through [`SocketContext::auth_user`], with
//! the claims of the socket's token ([`AuthUser::claims`]: subject, issue and expiry times).
//!
//! ## Entities
//!
//! The generator emits one entity set per function (a struct of [`Table`](crate::Table)s
//! implementing [`EntitySet`]); the function then reads `ctx.entities.message`:
//!
//! ```
//! use appc_runtime::codegen::EntitySet;
//! use appc_runtime::{Database, DbError, Query, SocketContext, Table};
//! # use appc_runtime::codegen::{Entity, IntoColumns, TableSchema};
//! # use appc_runtime::{Row, Value};
//! # #[derive(Clone)]
//! # pub struct User { pub id: i64, pub username: String }
//! # pub struct Message;
//! # pub struct NewMessage;
//! # impl IntoColumns for NewMessage { fn into_columns(self) -> Vec<(&'static str, Value)> { Vec::new() } }
//! # impl Entity for Message {
//! #     type Id = i64; type New = NewMessage; type Update = NewMessage;
//! #     fn schema() -> &'static TableSchema { unimplemented!() }
//! #     fn from_row(_: &Row) -> Result<Self, DbError> { unimplemented!() }
//! # }
//! # impl Entity for User {
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
//! /// The team's code, in a namespace without `auth: true`.
//! async fn post_message(ctx: SocketContext<ChatEntities, Option<User>>, text: String) -> Result<(), DbError> {
//!     let Some(user) = &ctx.user else { return Ok(()) };
//!     println!("{} (user {}) posts {text}", user.username, user.id);
//!     let count = ctx.entities.message.count(Query::new()).await?;
//!     println!("{count} messages so far");
//!     Ok(())
//! }
//! ```

use std::sync::Arc;

use crate::app_state::AppState;
use crate::auth::AuthUser;
use crate::context_user::{ConnectionUser, ContextUser, NoUser};
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
pub struct SocketContext<Entities, User = NoUser> {
    /// The socket's user as the spec's user entity: the entity itself in a namespace with
    /// `auth: true`, an `Option` of it in other namespaces, [`NoUser`] in an app
    /// without auth.
    pub user: User,
    /// Typed access to the entities the spec lists for this function.
    pub entities: Entities,
    /// The raw pool, for anything the typed access does not cover.
    pub database: Database,
    /// Emits to sockets.
    pub emitter: Emitter,
    auth_user: Option<Arc<AuthUser>>,
}

impl<Entities: EntitySet, User: ContextUser> SocketContext<Entities, User> {
    /// The context of one event handler over the app's state, on behalf of the connection's
    /// `user`. The handler counts as running while the context's tables or database live, so
    /// shutdown lets it finish its writes before closing the database (up to
    /// `APPC_SHUTDOWN_TIMEOUT_SECS`).
    pub fn new(state: &AppState, user: &ConnectionUser<User>) -> Self {
        let database = state.database.for_handler(state.handlers.token());
        SocketContext::over(database, state, user)
    }

    /// The context of a connection's socket function, which may keep it (in its handlers) for
    /// the connection's whole life: it does not count as a running handler, or every open
    /// connection would hold shutdown to its timeout. Its writes still finish or fail with an
    /// error when the database closes, never reported done and lost.
    pub fn for_connection(state: &AppState, user: &ConnectionUser<User>) -> Self {
        SocketContext::over(state.database.clone(), state, user)
    }

    fn over(database: Database, state: &AppState, user: &ConnectionUser<User>) -> Self {
        SocketContext {
            user: user.user.clone(),
            entities: Entities::from_database(&database),
            database,
            emitter: state.emitter.clone(),
            auth_user: user.auth_user.clone(),
        }
    }
}

impl<Entities, User> SocketContext<Entities, User> {
    /// Tells the live queries that read `E` that its rows changed, after a write made with raw
    /// SQL (writes through `ctx.entities` and transactions are noticed on their own); see
    /// [`Database::invalidate`](crate::Database::invalidate).
    pub fn invalidate<E: crate::db::Entity>(&self) {
        self.database.invalidate::<E>();
    }

    /// The socket's user as the token check loaded it, untyped (`get` reads any column), with
    /// the claims of the socket's token: `ctx.auth_user().and_then(AuthUser::claims)` gives
    /// its subject, issue and expiry times. `None` for an anonymous socket.
    pub fn auth_user(&self) -> Option<&AuthUser> {
        self.auth_user.as_deref()
    }
}
