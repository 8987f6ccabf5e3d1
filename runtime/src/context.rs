//! The context handed to the team's server functions: the current user, typed access to
//! exactly the entities the spec lists for that function, the raw database, and the emitter.
//!
//! The generator emits one entity set per function (a struct of [`Table`](crate::db::Table)s
//! implementing [`EntitySet`]); the function then reads `ctx.entities.message`:
//!
//! ```
//! use appc_runtime::context::{Context, EntitySet};
//! use appc_runtime::db::{Database, Table};
//! # use appc_runtime::db::{DbError, Entity, IntoColumns, Row, TableSchema, Value};
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
//! async fn post_message(ctx: Context<ChatEntities>, text: String) -> Result<(), DbError> {
//!     let Some(user) = &ctx.user else { return Ok(()) };
//!     println!("{} posts {text}", user.username());
//!     let count = ctx.entities.message.count(appc_runtime::db::Query::new()).await?;
//!     println!("{count} messages so far");
//!     Ok(())
//! }
//! ```

use crate::auth::AuthUser;
use crate::db::Database;
use crate::server::AppState;
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

/// What a server function receives besides its own arguments.
#[derive(Debug, Clone)]
pub struct Context<Entities> {
    /// The logged-in user, if any.
    pub user: Option<AuthUser>,
    /// Typed access to the entities the spec lists for this function.
    pub entities: Entities,
    /// The raw pool, for anything the typed access does not cover.
    pub database: Database,
    /// Emits to sockets.
    pub emitter: Emitter,
}

impl AppState {
    /// The context for a function that uses `Entities`, on behalf of `user`.
    pub fn context<Entities: EntitySet>(&self, user: Option<AuthUser>) -> Context<Entities> {
        Context {
            user,
            entities: Entities::from_database(&self.database),
            database: self.database.clone(),
            emitter: self.emitter.clone(),
        }
    }
}
