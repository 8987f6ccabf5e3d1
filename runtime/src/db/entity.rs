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

use super::changes::{ChangeListener, ChangeSink, TableChange};
use super::database::Database;
use super::error::DbError;
use super::query::{Condition, Filter, Query, UniqueKey};
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

    /// Tells the live queries that read `E` that its rows changed: for writes made with raw
    /// SQL (`sqlite_pool`, `postgres_pool`), which the entity layer does not see. Call it after
    /// the write committed. Whose rows they were is unknown, so every live query reading `E`
    /// refreshes, whatever its scope.
    pub fn invalidate<E: Entity>(&self) {
        if self.changes().watching(table_name::<E>()).is_some() {
            self.changes()
                .publish(vec![TableChange::unknown_owners(table_name::<E>(), true)]);
        }
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
            sink: self.changes().clone(),
            changes: Vec::new(),
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
        let sink = self.database.changes();
        let (row, change) = effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            written::create::<E>(&mut target.conn(), sink.watching(table_name::<E>()), new).await
        })
        .await?;
        sink.publish(change.into_iter().collect());
        E::from_row(&row)
    }

    /// Writes the `Some` fields of `update` to the row with this id; `None` if there is no such row.
    pub async fn update(&self, id: E::Id, update: E::Update) -> Result<Option<E>, DbError> {
        let sink = self.database.changes();
        let (row, change) = effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            let listener = sink.watching(table_name::<E>());
            written::update::<E>(&mut target.conn(), listener, id.into(), update).await
        })
        .await?;
        sink.publish(change.into_iter().collect());
        row.as_ref().map(E::from_row).transpose()
    }

    /// Writes the `Some` fields of `update` to every row the filter selects
    /// ([`Filter::every_row`] for all of them), in one statement; how many rows it changed.
    pub async fn update_many(&self, filter: Filter<E>, update: E::Update) -> Result<u64, DbError> {
        let sink = self.database.changes();
        let (count, change) = effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            let listener = sink.watching(table_name::<E>());
            written::update_many::<E>(&mut target.conn(), listener, &filter, update).await
        })
        .await?;
        sink.publish(change.into_iter().collect());
        Ok(count)
    }

    /// Deletes the row with this id; `false` if there was none.
    pub async fn delete(&self, id: E::Id) -> Result<bool, DbError> {
        let sink = self.database.changes();
        let (count, change) = effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            let mut conn = target.conn();
            let condition = RowOps::new(E::schema()).id_condition(&conn, id.into())?;
            let listener = sink.watching(table_name::<E>());
            written::delete_many::<E>(&mut conn, listener, &condition).await
        })
        .await?;
        sink.publish(change.into_iter().collect());
        Ok(count > 0)
    }

    /// Deletes every row the filter selects ([`Filter::every_row`] for all of them), in one
    /// statement; how many it deleted.
    pub async fn delete_many(&self, filter: Filter<E>) -> Result<u64, DbError> {
        let sink = self.database.changes();
        let (count, change) = effect_order::write_in_order(async {
            let mut target = self.database.write_target().await?;
            let listener = sink.watching(table_name::<E>());
            written::delete_many::<E>(&mut target.conn(), listener, &filter.condition).await
        })
        .await?;
        sink.publish(change.into_iter().collect());
        Ok(count)
    }
}

/// The name of `E`'s table, as changes report it.
fn table_name<E: Entity>() -> &'static str {
    &E::schema().name
}

/// The writes of [`Table`] and [`TxTable`], each returning its result and, when a listener
/// watches the table, the [`TableChange`] it made (reported once it is committed). The owners
/// of the rows come back from the statement itself (`RETURNING` the owner columns), so knowing
/// them costs no extra query.
mod written {
    use super::*;

    /// The change `rows` (holding at least the owner columns) make to `E`'s table.
    fn change_of_rows<E: Entity>(
        listener: &dyn ChangeListener,
        rows: &[Row],
        deleted: bool,
    ) -> TableChange {
        let table = table_name::<E>();
        match listener.owner_schema(table) {
            Some(owner_schema) => TableChange::of_rows(table, owner_schema, rows, deleted),
            // Nobody's rows: only unscoped live queries read this table.
            None => TableChange {
                table: table.to_owned(),
                deleted,
                owners: Some(Vec::new()),
            },
        }
    }

    /// Whether the update writes an owner column: its rows' former owners are then unknown.
    fn moves_owners<E: Entity>(
        listener: &dyn ChangeListener,
        columns: &[(&'static str, Value)],
    ) -> bool {
        listener
            .owner_schema(table_name::<E>())
            .is_some_and(|owner_schema| {
                owner_schema
                    .columns
                    .iter()
                    .any(|owner| columns.iter().any(|(name, _)| *name == owner.name))
            })
    }

    pub(super) async fn create<E: Entity>(
        conn: &mut Conn<'_>,
        listener: Option<&dyn ChangeListener>,
        new: E::New,
    ) -> Result<(Row, Option<TableChange>), DbError> {
        let row = RowOps::new(E::schema())
            .insert(conn, new.into_columns())
            .await?;
        let change = listener
            .map(|listener| change_of_rows::<E>(listener, std::slice::from_ref(&row), false));
        Ok((row, change))
    }

    pub(super) async fn update<E: Entity>(
        conn: &mut Conn<'_>,
        listener: Option<&dyn ChangeListener>,
        id: Value,
        update: E::Update,
    ) -> Result<(Option<Row>, Option<TableChange>), DbError> {
        let columns = update.into_columns();
        let moves = listener.is_some_and(|listener| moves_owners::<E>(listener, &columns));
        let wrote = !columns.is_empty();
        let row = RowOps::new(E::schema()).update(conn, id, columns).await?;
        let change = match (listener, &row) {
            (Some(_), Some(_)) if moves => {
                Some(TableChange::unknown_owners(table_name::<E>(), false))
            }
            (Some(listener), Some(row)) if wrote => Some(change_of_rows::<E>(
                listener,
                std::slice::from_ref(row),
                false,
            )),
            _ => None,
        };
        Ok((row, change))
    }

    pub(super) async fn update_many<E: Entity>(
        conn: &mut Conn<'_>,
        listener: Option<&dyn ChangeListener>,
        filter: &Filter<E>,
        update: E::Update,
    ) -> Result<(u64, Option<TableChange>), DbError> {
        let columns = update.into_columns();
        let operations = RowOps::new(E::schema());
        let Some(listener) = listener.filter(|_| !columns.is_empty()) else {
            // Nothing to write, or nobody to tell.
            let count = operations
                .update_many(conn, &filter.condition, columns)
                .await?;
            return Ok((count, None));
        };
        let moves = moves_owners::<E>(listener, &columns);
        let (count, change) = match listener.owner_schema(table_name::<E>()) {
            Some(owner_schema) => {
                let rows = operations
                    .update_many_returning(conn, &filter.condition, columns, owner_schema)
                    .await?;
                let change = if moves {
                    TableChange::unknown_owners(table_name::<E>(), false)
                } else {
                    change_of_rows::<E>(listener, &rows, false)
                };
                (rows.len() as u64, change)
            }
            None => {
                let count = operations
                    .update_many(conn, &filter.condition, columns)
                    .await?;
                (count, change_of_rows::<E>(listener, &[], false))
            }
        };
        Ok((count, (count > 0).then_some(change)))
    }

    pub(super) async fn delete_many<E: Entity>(
        conn: &mut Conn<'_>,
        listener: Option<&dyn ChangeListener>,
        condition: &Condition,
    ) -> Result<(u64, Option<TableChange>), DbError> {
        let operations = RowOps::new(E::schema());
        let Some(listener) = listener else {
            return Ok((operations.delete_many(conn, condition).await?, None));
        };
        let (count, change) = match listener.owner_schema(table_name::<E>()) {
            Some(owner_schema) => {
                let rows = operations
                    .delete_many_returning(conn, condition, owner_schema)
                    .await?;
                let change = change_of_rows::<E>(listener, &rows, true);
                (rows.len() as u64, change)
            }
            None => {
                let count = operations.delete_many(conn, condition).await?;
                (count, change_of_rows::<E>(listener, &[], true))
            }
        };
        Ok((count, (count > 0).then_some(change)))
    }
}

/// A database transaction. Work done through [`Transaction::table`] is applied all together by
/// [`Transaction::commit`], or not at all if the transaction is dropped or rolled back.
pub struct Transaction {
    inner: OwnedTransaction,
    /// Where the changes are reported once the transaction commits.
    sink: ChangeSink,
    /// What the transaction's writes changed so far, one entry per table.
    changes: Vec<TableChange>,
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

    /// Applies everything done in the transaction, then reports what it changed to the live
    /// queries (never before the commit succeeded).
    pub async fn commit(self) -> Result<(), DbError> {
        self.inner.commit().await?;
        self.sink.publish(self.changes);
        Ok(())
    }

    /// Tells the live queries that read `E` that its rows changed, once this transaction
    /// commits: for writes made with raw SQL on the transaction, which the entity layer does
    /// not see. Whose rows they were is unknown, so every live query reading `E` refreshes.
    pub fn invalidate<E: Entity>(&mut self) {
        self.record(Some(TableChange::unknown_owners(table_name::<E>(), true)));
    }

    /// Keeps a write's change for the commit, merged with the earlier ones of its table.
    fn record(&mut self, change: Option<TableChange>) {
        let Some(change) = change else { return };
        match self
            .changes
            .iter_mut()
            .find(|recorded| recorded.table == change.table)
        {
            Some(recorded) => recorded.merge(change),
            None => self.changes.push(change),
        }
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
        let listener = self.transaction.sink.watching(table_name::<E>());
        let (row, change) =
            written::create::<E>(&mut self.transaction.inner.conn(), listener, new).await?;
        self.transaction.record(change);
        E::from_row(&row)
    }

    /// Writes the `Some` fields of `update`; `None` if there is no such row.
    pub async fn update(&mut self, id: E::Id, update: E::Update) -> Result<Option<E>, DbError> {
        let listener = self.transaction.sink.watching(table_name::<E>());
        let (row, change) = written::update::<E>(
            &mut self.transaction.inner.conn(),
            listener,
            id.into(),
            update,
        )
        .await?;
        self.transaction.record(change);
        row.as_ref().map(E::from_row).transpose()
    }

    /// Writes the `Some` fields of `update` to every row the filter selects; how many it changed.
    pub async fn update_many(
        &mut self,
        filter: Filter<E>,
        update: E::Update,
    ) -> Result<u64, DbError> {
        let listener = self.transaction.sink.watching(table_name::<E>());
        let (count, change) = written::update_many::<E>(
            &mut self.transaction.inner.conn(),
            listener,
            &filter,
            update,
        )
        .await?;
        self.transaction.record(change);
        Ok(count)
    }

    /// Deletes the row with this id; `false` if there was none.
    pub async fn delete(&mut self, id: E::Id) -> Result<bool, DbError> {
        let listener = self.transaction.sink.watching(table_name::<E>());
        let mut conn = self.transaction.inner.conn();
        let condition = RowOps::new(E::schema()).id_condition(&conn, id.into())?;
        let (count, change) = written::delete_many::<E>(&mut conn, listener, &condition).await?;
        self.transaction.record(change);
        Ok(count > 0)
    }

    /// Deletes every row the filter selects; how many it deleted.
    pub async fn delete_many(&mut self, filter: Filter<E>) -> Result<u64, DbError> {
        let listener = self.transaction.sink.watching(table_name::<E>());
        let (count, change) = written::delete_many::<E>(
            &mut self.transaction.inner.conn(),
            listener,
            &filter.condition,
        )
        .await?;
        self.transaction.record(change);
        Ok(count)
    }
}
