//! The typed entity layer the generator targets: an [`Entity`] trait per spec entity, a
//! [`Table`] handle with find/find_unique/find_many/count/exists/create/update/delete and their
//! `_many` forms over the typed [`Query`] and [`Filter`] of `query.rs`, and [`Transaction`]s.
//!
//! The generator emits, per entity, a struct, a `New*` struct for inserts and an `*Update`
//! struct with optional fields, implements [`Entity`] and [`IntoColumns`] for them, and gives the
//! struct one `Column` const per field and one `by_*` unique key per `@id`, `@unique` and
//! `@@unique`. A complete hand-written example (what the generator emits for a `Message`
//! entity):
//!
//! ```
//! use std::sync::LazyLock;
//! use appc_runtime::codegen::{column, unique_key, ColumnDefault, ColumnSchema, Entity, IntoColumns, SqlType, TableSchema};
//! use appc_runtime::{Column, DbError, Row, UniqueKey, Value};
//!
//! #[derive(Debug, Clone, serde::Serialize)]
//! pub struct Message {
//!     pub id: i64,
//!     pub text: String,
//!     pub room: String,
//! }
//!
//! pub struct NewMessage {
//!     pub text: String,
//!     /// `None` lets the declared default (`"general"`) apply.
//!     pub room: Option<String>,
//! }
//!
//! #[derive(Default)]
//! pub struct MessageUpdate {
//!     pub text: Option<String>,
//!     pub room: Option<String>,
//! }
//!
//! impl Message {
//!     pub const ID: Column<Message, i64> = column("id");
//!     pub const TEXT: Column<Message, String> = column("text");
//!     pub const ROOM: Column<Message, String> = column("room");
//!
//!     pub fn by_id(id: impl Into<i64>) -> UniqueKey<Message> {
//!         let id: i64 = id.into();
//!         unique_key(Message::ID.eq(id))
//!     }
//! }
//!
//! static MESSAGE_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
//!     TableSchema::new("Message")
//!         .column(ColumnSchema::new("id", SqlType::Integer).primary_key().default(ColumnDefault::Autoincrement))
//!         .column(ColumnSchema::new("text", SqlType::Text))
//!         .column(ColumnSchema::new("room", SqlType::Text).default(ColumnDefault::Value(Value::from("general"))))
//! });
//!
//! impl Entity for Message {
//!     type Id = i64;
//!     type New = NewMessage;
//!     type Update = MessageUpdate;
//!     fn schema() -> &'static TableSchema {
//!         &MESSAGE_SCHEMA
//!     }
//!     fn from_row(row: &Row) -> Result<Self, DbError> {
//!         Ok(Message { id: row.get("id")?, text: row.get("text")?, room: row.get("room")? })
//!     }
//! }
//!
//! impl IntoColumns for NewMessage {
//!     fn into_columns(self) -> Vec<(&'static str, Value)> {
//!         let mut columns = vec![("text", Value::from(self.text))];
//!         if let Some(room) = self.room {
//!             columns.push(("room", Value::from(room)));
//!         }
//!         columns
//!     }
//! }
//!
//! impl IntoColumns for MessageUpdate {
//!     fn into_columns(self) -> Vec<(&'static str, Value)> {
//!         let mut columns = Vec::new();
//!         if let Some(text) = self.text {
//!             columns.push(("text", Value::from(text)));
//!         }
//!         if let Some(room) = self.room {
//!             columns.push(("room", Value::from(room)));
//!         }
//!         columns
//!     }
//! }
//!
//! // A server function then reads and writes messages like this:
//! async fn post(database: &appc_runtime::Database) -> Result<(), DbError> {
//!     use appc_runtime::{Filter, Query};
//!     let messages = database.table::<Message>();
//!     let created = messages.create(NewMessage { text: "hello".into(), room: None }).await?;
//!     let latest = messages
//!         .find_many(Query::new().filter(Message::ROOM.eq("general")).order_by(Message::ID.desc()).limit(50))
//!         .await?;
//!     let same = messages.find_unique(Message::by_id(created.id)).await?;
//!     messages.update(created.id, MessageUpdate { text: Some("edited".into()), ..Default::default() }).await?;
//!     let moved: u64 = messages
//!         .update_many(Message::TEXT.starts_with("[off-topic]"), MessageUpdate { room: Some("random".into()), ..Default::default() })
//!         .await?;
//!     let mut transaction = database.begin().await?;
//!     transaction.table::<Message>().delete(created.id).await?;
//!     transaction.table::<Message>().delete_many(Filter::every_row()).await?;
//!     transaction.commit().await?;
//!     # let _ = (latest, same, moved);
//!     Ok(())
//! }
//! ```

use std::marker::PhantomData;

use super::database::Database;
use super::error::DbError;
use super::query::{Filter, Query, UniqueKey};
use super::schema::TableSchema;
use super::sql::{Conn, OwnedTransaction, RowOps};
use super::value::{Row, Value};
use crate::effect_order::{self, HeldWriteTurn};

/// A spec entity with typed access. Implemented by generated code.
pub trait Entity: Sized + Send + Sync + 'static {
    /// The primary key type (`i64` for `@default(autoincrement())`, `String` for `uuid()`).
    type Id: Into<Value> + Send;
    /// The insert struct: required fields, and `Option`s for fields with defaults.
    type New: IntoColumns + Send;
    /// The update struct: every field optional, only `Some` fields are written.
    type Update: IntoColumns + Send;
    /// The declared table schema.
    fn schema() -> &'static TableSchema;
    /// Builds the entity from a row holding every declared column.
    fn from_row(row: &Row) -> Result<Self, DbError>;
}

/// Turns an insert or update struct into the columns it sets.
pub trait IntoColumns {
    /// The column names and values to write; omitted columns keep their default or old value.
    fn into_columns(self) -> Vec<(&'static str, Value)>;
}

impl Database {
    /// Typed access to one entity's table.
    pub fn table<E: Entity>(&self) -> Table<E> {
        Table::new(self.clone())
    }

    /// Starts a transaction; use [`Transaction::table`] inside it and finish with
    /// [`Transaction::commit`] (dropping it rolls back).
    ///
    /// In a socket event's handler, the transaction waits for the socket's earlier handlers'
    /// writes and holds the later ones back until it ends: waiting at the commit instead could
    /// leave it holding SQLite's write lock while an earlier handler waits for that lock.
    pub async fn begin(&self) -> Result<Transaction, DbError> {
        let write_turn = effect_order::hold_write_turn().await;
        Ok(Transaction {
            inner: self.begin_transaction(false).await?,
            _write_turn: write_turn,
        })
    }
}

fn decode_all<E: Entity>(rows: Vec<Row>) -> Result<Vec<E>, DbError> {
    rows.iter().map(E::from_row).collect()
}

/// Typed access to one entity's table through the pool. Cheap to clone; this is what
/// `ctx.entities.message` is.
#[derive(Debug)]
pub struct Table<E> {
    database: Database,
    entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Table<E> {
    fn clone(&self) -> Self {
        Table {
            database: self.database.clone(),
            entity: PhantomData,
        }
    }
}

impl<E: Entity> Table<E> {
    pub(crate) fn new(database: Database) -> Self {
        Table {
            database,
            entity: PhantomData,
        }
    }

    /// The pool, for the relation loading in `relation.rs`.
    pub(super) fn database(&self) -> &Database {
        &self.database
    }

    /// The row with this primary key, if any.
    pub async fn find(&self, id: E::Id) -> Result<Option<E>, DbError> {
        let mut pooled = self.database.acquire().await?;
        let row = RowOps::new(E::schema())
            .find_by_id(&mut pooled.conn(), id.into())
            .await?;
        row.as_ref().map(E::from_row).transpose()
    }

    /// The row a unique key names (`User::by_username("ada")`), if any.
    pub async fn find_unique(&self, key: UniqueKey<E>) -> Result<Option<E>, DbError> {
        self.find_first(Query::new().filter(key.into())).await
    }

    /// The rows the query selects, in its order.
    pub async fn find_many(&self, query: Query<E>) -> Result<Vec<E>, DbError> {
        let mut pooled = self.database.acquire().await?;
        decode_all(
            RowOps::new(E::schema())
                .find_many(&mut pooled.conn(), &query.selection)
                .await?,
        )
    }

    /// The first row the query selects, if any.
    pub async fn find_first(&self, query: Query<E>) -> Result<Option<E>, DbError> {
        Ok(self.find_many(query.limit(1)).await?.into_iter().next())
    }

    /// How many rows the query's filters and cursor select (its order, limit and offset are
    /// ignored).
    pub async fn count(&self, query: Query<E>) -> Result<i64, DbError> {
        let mut pooled = self.database.acquire().await?;
        RowOps::new(E::schema())
            .count(&mut pooled.conn(), &query.selection)
            .await
    }

    /// Whether the query's filters and cursor select at least one row (the database stops at
    /// the first).
    pub async fn exists(&self, query: Query<E>) -> Result<bool, DbError> {
        let mut pooled = self.database.acquire().await?;
        RowOps::new(E::schema())
            .exists(&mut pooled.conn(), &query.selection)
            .await
    }

    /// Inserts a row and returns it as stored (with generated id and defaults), once it is
    /// committed. On SQLite, writes made at the same time from many tasks are committed together
    /// by one writer connection (group commit); each still succeeds or fails on its own.
    pub async fn create(&self, new: E::New) -> Result<E, DbError> {
        let row = effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            RowOps::new(E::schema())
                .insert(&mut target.conn(), new.into_columns())
                .await
        })
        .await?;
        E::from_row(&row)
    }

    /// Writes the `Some` fields of `update` to the row with this id; `None` if there is no such row.
    pub async fn update(&self, id: E::Id, update: E::Update) -> Result<Option<E>, DbError> {
        let row = effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            RowOps::new(E::schema())
                .update(&mut target.conn(), id.into(), update.into_columns())
                .await
        })
        .await?;
        row.as_ref().map(E::from_row).transpose()
    }

    /// Writes the `Some` fields of `update` to every row the filter selects
    /// ([`Filter::every_row`] for all of them), in one statement; how many rows it changed.
    pub async fn update_many(&self, filter: Filter<E>, update: E::Update) -> Result<u64, DbError> {
        effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            RowOps::new(E::schema())
                .update_many(&mut target.conn(), &filter.condition, update.into_columns())
                .await
        })
        .await
    }

    /// Deletes the row with this id; `false` if there was none.
    pub async fn delete(&self, id: E::Id) -> Result<bool, DbError> {
        effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            RowOps::new(E::schema())
                .delete(&mut target.conn(), id.into())
                .await
        })
        .await
    }

    /// Deletes every row the filter selects ([`Filter::every_row`] for all of them), in one
    /// statement; how many it deleted.
    pub async fn delete_many(&self, filter: Filter<E>) -> Result<u64, DbError> {
        effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            RowOps::new(E::schema())
                .delete_many(&mut target.conn(), &filter.condition)
                .await
        })
        .await
    }
}

/// A database transaction. Work done through [`Transaction::table`] is applied all together by
/// [`Transaction::commit`], or not at all if the transaction is dropped or rolled back.
pub struct Transaction {
    inner: OwnedTransaction,
    /// In a socket event's handler, the socket's write turn, held from the start of the
    /// transaction to its end (released when `commit` or `rollback` returns, or on drop).
    _write_turn: Option<HeldWriteTurn>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Transaction")
    }
}

impl Transaction {
    /// Typed access to one entity's table inside this transaction.
    pub fn table<E: Entity>(&mut self) -> TxTable<'_, E> {
        TxTable {
            transaction: self,
            entity: PhantomData,
        }
    }

    /// Applies everything done in the transaction.
    pub async fn commit(self) -> Result<(), DbError> {
        self.inner.commit().await
    }

    /// Discards everything done in the transaction.
    pub async fn rollback(self) -> Result<(), DbError> {
        self.inner.rollback().await
    }
}

/// Typed access to one entity's table inside a [`Transaction`]; same operations as [`Table`].
pub struct TxTable<'t, E> {
    transaction: &'t mut Transaction,
    entity: PhantomData<fn() -> E>,
}

impl<E: Entity> TxTable<'_, E> {
    /// The transaction's connection, for the relation loading in `relation.rs`.
    pub(super) fn conn(&mut self) -> Conn<'_> {
        self.transaction.inner.conn()
    }

    /// The row with this primary key, if any.
    pub async fn find(&mut self, id: E::Id) -> Result<Option<E>, DbError> {
        let row = RowOps::new(E::schema())
            .find_by_id(&mut self.transaction.inner.conn(), id.into())
            .await?;
        row.as_ref().map(E::from_row).transpose()
    }

    /// The row a unique key names, if any.
    pub async fn find_unique(&mut self, key: UniqueKey<E>) -> Result<Option<E>, DbError> {
        self.find_first(Query::new().filter(key.into())).await
    }

    /// The rows the query selects, in its order.
    pub async fn find_many(&mut self, query: Query<E>) -> Result<Vec<E>, DbError> {
        decode_all(
            RowOps::new(E::schema())
                .find_many(&mut self.transaction.inner.conn(), &query.selection)
                .await?,
        )
    }

    /// The first row the query selects, if any.
    pub async fn find_first(&mut self, query: Query<E>) -> Result<Option<E>, DbError> {
        Ok(self.find_many(query.limit(1)).await?.into_iter().next())
    }

    /// How many rows the query's filters and cursor select.
    pub async fn count(&mut self, query: Query<E>) -> Result<i64, DbError> {
        RowOps::new(E::schema())
            .count(&mut self.transaction.inner.conn(), &query.selection)
            .await
    }

    /// Whether the query's filters and cursor select at least one row.
    pub async fn exists(&mut self, query: Query<E>) -> Result<bool, DbError> {
        RowOps::new(E::schema())
            .exists(&mut self.transaction.inner.conn(), &query.selection)
            .await
    }

    /// Inserts a row and returns it as stored.
    pub async fn create(&mut self, new: E::New) -> Result<E, DbError> {
        let row = RowOps::new(E::schema())
            .insert(&mut self.transaction.inner.conn(), new.into_columns())
            .await?;
        E::from_row(&row)
    }

    /// Writes the `Some` fields of `update`; `None` if there is no such row.
    pub async fn update(&mut self, id: E::Id, update: E::Update) -> Result<Option<E>, DbError> {
        let row = RowOps::new(E::schema())
            .update(
                &mut self.transaction.inner.conn(),
                id.into(),
                update.into_columns(),
            )
            .await?;
        row.as_ref().map(E::from_row).transpose()
    }

    /// Writes the `Some` fields of `update` to every row the filter selects; how many it changed.
    pub async fn update_many(
        &mut self,
        filter: Filter<E>,
        update: E::Update,
    ) -> Result<u64, DbError> {
        RowOps::new(E::schema())
            .update_many(
                &mut self.transaction.inner.conn(),
                &filter.condition,
                update.into_columns(),
            )
            .await
    }

    /// Deletes the row with this id; `false` if there was none.
    pub async fn delete(&mut self, id: E::Id) -> Result<bool, DbError> {
        RowOps::new(E::schema())
            .delete(&mut self.transaction.inner.conn(), id.into())
            .await
    }

    /// Deletes every row the filter selects; how many it deleted.
    pub async fn delete_many(&mut self, filter: Filter<E>) -> Result<u64, DbError> {
        RowOps::new(E::schema())
            .delete_many(&mut self.transaction.inner.conn(), &filter.condition)
            .await
    }
}
