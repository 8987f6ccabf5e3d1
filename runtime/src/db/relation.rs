//! Relations between entities, navigable from both sides and loaded without N+1: a
//! [`Relation`] (generated per `@relation` field, e.g. `Message::USER`, `User::MESSAGES`) and
//! the batched loading behind [`Table::load`], [`Table::find_many_with`] and their
//! [`TxTable`] twins.
//!
//! Loading a relation for a slice of rows reads the key of every row, keeps the distinct
//! non-NULL keys, and fetches the related rows with one
//! `SELECT ... FROM "To" WHERE "key" IN (...) ORDER BY "id"` (keys as bound parameters, built
//! by `StatementBuilder::select_by_keys` like every other row statement), then hands each row
//! its matches. No rows, or only NULL keys, means no query at all. More
//! distinct keys than [`MAX_RELATION_KEYS_PER_QUERY`] bound parameters are split into one
//! query per chunk, because SQLite refuses statements beyond 32,766 parameters and PostgreSQL
//! beyond 65,535.
//!
//! A to-one relation always yields `Option<To>`, also when the foreign key is required: a row
//! may point at a row that is gone by the time it is loaded (deleted in between, or the caller
//! built the row itself), and that must be a `None`, never a panic.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;

use super::entity::{Entity, Table, TxTable};
use super::error::DbError;
use super::query::Query;
use super::schema::TableSchema;
use super::sql::Conn;
use super::statements::StatementBuilder;
use super::value::{Row, Value};

/// The most bound parameters one relation query carries: 10,000 keys of one column (5,000 of
/// two, ...). More distinct keys are loaded in several queries of at most this many
/// parameters each, well below SQLite's 32,766 and PostgreSQL's 65,535.
pub const MAX_RELATION_KEYS_PER_QUERY: usize = 10_000;

/// The kind of a relation with at most one related row: its output is `Option<To>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToOne;

/// The kind of a relation with any number of related rows: its output is `Vec<To>`, ordered by
/// the related table's primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToMany;

/// What loading a relation yields for one row: [`ToOne`] gives `Option<To>`, [`ToMany`]
/// gives `Vec<To>`. Implemented only by those two.
pub trait RelationKind: private::Sealed + Send + Sync + 'static {
    /// The related rows of one row.
    type Output<To>;

    /// The output of a row from its related rows, in the related table's primary key order.
    #[doc(hidden)]
    fn collect<To>(related: Vec<To>) -> Self::Output<To>;
}

impl RelationKind for ToOne {
    type Output<To> = Option<To>;

    fn collect<To>(related: Vec<To>) -> Option<To> {
        // Only a unique key may sit on the remote side of a to-one relation (the analysis
        // checks it), so there is at most one row; the first by primary key wins regardless.
        related.into_iter().next()
    }
}

impl RelationKind for ToMany {
    type Output<To> = Vec<To>;

    fn collect<To>(related: Vec<To>) -> Vec<To> {
        related
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::ToOne {}
    impl Sealed for super::ToMany {}
}

/// One side of a `@relation` between entity `From` and entity `To`, generated as an associated
/// const of `From` named after the relation field: `Message::USER`
/// (`Relation<Message, User, ToOne>`), `User::MESSAGES` (`Relation<User, Message, ToMany>`).
///
/// Pass it to [`Table::load`] (related rows of rows already loaded) or
/// [`Table::find_many_with`] (rows and their related rows); each issues one query per
/// relation, whatever the number of rows:
///
/// ```
/// # use std::sync::LazyLock;
/// # use appc_runtime::codegen::{ColumnSchema, Entity, IntoColumns, SqlType, TableSchema, key_value, relation};
/// # use appc_runtime::{Database, DbError, Query, Relation, Row, ToMany, ToOne, Value};
/// # #[derive(Debug, Clone)] pub struct User { pub id: i64, pub username: String }
/// # #[derive(Debug, Clone)] pub struct Message { pub id: i64, pub text: String, pub user_id: Option<i64> }
/// # pub struct NoColumns;
/// # impl IntoColumns for NoColumns { fn into_columns(self) -> Vec<(&'static str, Value)> { Vec::new() } }
/// # static USER: LazyLock<TableSchema> = LazyLock::new(|| TableSchema::new("User")
/// #     .column(ColumnSchema::new("id", SqlType::Integer).primary_key())
/// #     .column(ColumnSchema::new("username", SqlType::Text)));
/// # static MESSAGE: LazyLock<TableSchema> = LazyLock::new(|| TableSchema::new("Message")
/// #     .column(ColumnSchema::new("id", SqlType::Integer).primary_key())
/// #     .column(ColumnSchema::new("text", SqlType::Text))
/// #     .column(ColumnSchema::new("userId", SqlType::Integer).nullable().references("User", "id")));
/// # impl Entity for User {
/// #     type Id = i64; type New = NoColumns; type Update = NoColumns;
/// #     fn schema() -> &'static TableSchema { &USER }
/// #     fn from_row(row: &Row) -> Result<Self, DbError> { Ok(User { id: row.get("id")?, username: row.get("username")? }) }
/// # }
/// # impl Entity for Message {
/// #     type Id = i64; type New = NoColumns; type Update = NoColumns;
/// #     fn schema() -> &'static TableSchema { &MESSAGE }
/// #     fn from_row(row: &Row) -> Result<Self, DbError> {
/// #         Ok(Message { id: row.get("id")?, text: row.get("text")?, user_id: row.get("userId")? })
/// #     }
/// # }
/// // What the generator emits for `user User? @relation(fields: [userId], references: [id])`
/// // and its opposite field `messages Message[]`:
/// impl Message {
///     pub const USER: Relation<Message, User, ToOne> =
///         relation("Message.user", &["userId"], &["id"], |message| vec![key_value(&message.user_id)]);
/// }
/// impl User {
///     pub const MESSAGES: Relation<User, Message, ToMany> =
///         relation("User.messages", &["id"], &["userId"], |user| vec![key_value(&user.id)]);
/// }
///
/// // What the team writes: two queries for 50 messages and their authors...
/// async fn history(database: &Database) -> Result<Vec<(Message, Option<User>)>, DbError> {
///     database.table::<Message>().find_many_with(Query::new().limit(50), Message::USER).await
/// }
///
/// // ...and one more for the messages of users already loaded, aligned with them.
/// async fn messages_of(database: &Database, users: &[User]) -> Result<Vec<Vec<Message>>, DbError> {
///     database.table::<User>().load(users, User::MESSAGES).await
/// }
/// ```
///
/// A relation knows the columns that hold the key on each side and how to read the key from a
/// `From` row: for `Message::USER` the local column is the foreign key `userId` and the remote
/// one `User.id`; for `User::MESSAGES` it is the other way round. Rows whose key is NULL (in any
/// of its columns) have no related rows.
pub struct Relation<From, To, Kind> {
    name: &'static str,
    local_columns: &'static [&'static str],
    remote_columns: &'static [&'static str],
    local_key: fn(&From) -> Vec<Value>,
    types: PhantomData<fn() -> (To, Kind)>,
}

impl<From, To, Kind> Clone for Relation<From, To, Kind> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<From, To, Kind> Copy for Relation<From, To, Kind> {}

impl<From, To, Kind> std::fmt::Debug for Relation<From, To, Kind> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Relation")
            .field("name", &self.name)
            .field("local_columns", &self.local_columns)
            .field("remote_columns", &self.remote_columns)
            .finish()
    }
}

impl<From, To, Kind> Relation<From, To, Kind> {
    /// The relation as the spec names it (`Message.user`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The columns of `From` whose values the related rows hold.
    pub fn local_columns(&self) -> &'static [&'static str] {
        self.local_columns
    }

    /// The columns of `To` that hold those values.
    pub fn remote_columns(&self) -> &'static [&'static str] {
        self.remote_columns
    }
}

/// Builds a relation; only generated code calls it. `name` is `Entity.field`; `local_columns`
/// and `remote_columns` pair up, one per key column; `local_key` reads the values of
/// `local_columns` from a row, in the same order (see [`key_value`]).
pub const fn relation<From, To, Kind>(
    name: &'static str,
    local_columns: &'static [&'static str],
    remote_columns: &'static [&'static str],
    local_key: fn(&From) -> Vec<Value>,
) -> Relation<From, To, Kind> {
    Relation {
        name,
        local_columns,
        remote_columns,
        local_key,
        types: PhantomData,
    }
}

/// One key value of a row, for the key readers of generated relations: a copy of the field as
/// a [`Value`] (an `Option` field that is `None` gives NULL).
pub fn key_value<T: Clone + Into<Value>>(field: &T) -> Value {
    field.clone().into()
}

impl<E: Entity> Table<E> {
    /// The related rows of each of `rows` through `relation`, in the order of `rows`: one
    /// `Option<To>` per row for a to-one relation (`None` when the key is NULL or points at no
    /// row), one `Vec<To>` (by the related table's primary key) for a to-many one.
    ///
    /// Issues one query for all the rows (one per [`MAX_RELATION_KEYS_PER_QUERY`] distinct
    /// keys), and none when `rows` is empty or every key is NULL.
    pub async fn load<To, Kind>(
        &self,
        rows: &[E],
        relation: Relation<E, To, Kind>,
    ) -> Result<Vec<Kind::Output<To>>, DbError>
    where
        To: Entity + Clone,
        Kind: RelationKind,
    {
        let keys = RowKeys::read(rows, &relation);
        // Without a key there is nothing to fetch, so no connection is taken from the pool.
        let related = if keys.distinct.is_empty() {
            HashMap::new()
        } else {
            let mut pooled = self.database().acquire().await?;
            fetch_related::<To>(&mut pooled.conn(), relation.remote_columns, &keys).await?
        };
        Ok(keys.hand_out::<To, Kind>(related))
    }

    /// The rows `query` selects (as [`Table::find_many`]), each with its related rows through
    /// `relation` (as [`Table::load`]): two queries in all.
    pub async fn find_many_with<To, Kind>(
        &self,
        query: Query<E>,
        relation: Relation<E, To, Kind>,
    ) -> Result<Vec<(E, Kind::Output<To>)>, DbError>
    where
        To: Entity + Clone,
        Kind: RelationKind,
    {
        let rows = self.find_many(query).await?;
        let related = self.load(&rows, relation).await?;
        Ok(rows.into_iter().zip(related).collect())
    }
}

impl<E: Entity> TxTable<'_, E> {
    /// [`Table::load`] inside the transaction: it sees the transaction's own writes.
    pub async fn load<To, Kind>(
        &mut self,
        rows: &[E],
        relation: Relation<E, To, Kind>,
    ) -> Result<Vec<Kind::Output<To>>, DbError>
    where
        To: Entity + Clone,
        Kind: RelationKind,
    {
        let keys = RowKeys::read(rows, &relation);
        // `fetch_related` issues no query when there is no key.
        let related = fetch_related::<To>(&mut self.conn(), relation.remote_columns, &keys).await?;
        Ok(keys.hand_out::<To, Kind>(related))
    }

    /// [`Table::find_many_with`] inside the transaction.
    pub async fn find_many_with<To, Kind>(
        &mut self,
        query: Query<E>,
        relation: Relation<E, To, Kind>,
    ) -> Result<Vec<(E, Kind::Output<To>)>, DbError>
    where
        To: Entity + Clone,
        Kind: RelationKind,
    {
        let rows = self.find_many(query).await?;
        let related = self.load(&rows, relation).await?;
        Ok(rows.into_iter().zip(related).collect())
    }
}

/// One key value in a form that can be hashed and compared: what the database gives back for
/// a remote key must meet what the row held locally.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyPart {
    Bool(bool),
    Int(i64),
    /// The float's bits (`-0.0` counts as `0.0`).
    Float(u64),
    Text(String),
    /// Microseconds since the epoch: SQLite stores timestamps with microseconds, so a key read
    /// back from it has no finer digits than that.
    Timestamp(i64),
    Json(String),
    Bytes(Vec<u8>),
}

/// A whole key; `None` when one of its values is NULL, which matches no row (as in SQL).
fn key_of(values: &[Value]) -> Option<Vec<KeyPart>> {
    values
        .iter()
        .map(|value| {
            Some(match value {
                Value::Null => return None,
                Value::Bool(flag) => KeyPart::Bool(*flag),
                Value::Int(number) => KeyPart::Int(*number),
                Value::Float(number) => KeyPart::Float((number + 0.0).to_bits()),
                Value::Text(text) => KeyPart::Text(text.clone()),
                Value::DateTime(timestamp) => KeyPart::Timestamp(timestamp.timestamp_micros()),
                Value::Json(document) => KeyPart::Json(document.to_string()),
                Value::Bytes(bytes) => KeyPart::Bytes(bytes.clone()),
            })
        })
        .collect()
}

/// The key of every row and the distinct keys among them, in the order they first appear.
struct RowKeys {
    per_row: Vec<Option<Vec<KeyPart>>>,
    /// The distinct non-NULL keys, each with its values to bind.
    distinct: Vec<Vec<Value>>,
}

impl RowKeys {
    fn read<From, To, Kind>(rows: &[From], relation: &Relation<From, To, Kind>) -> RowKeys {
        let mut seen = HashSet::new();
        let mut distinct = Vec::new();
        let per_row = rows
            .iter()
            .map(|row| {
                let values = (relation.local_key)(row);
                let key = key_of(&values)?;
                if seen.insert(key.clone()) {
                    distinct.push(values);
                }
                Some(key)
            })
            .collect();
        RowKeys { per_row, distinct }
    }

    /// Each row's output from the related rows grouped by key. A key shared by several rows
    /// gives each a copy; the last one takes the rows themselves.
    fn hand_out<To: Clone, Kind: RelationKind>(
        self,
        mut related: HashMap<Vec<KeyPart>, Vec<To>>,
    ) -> Vec<Kind::Output<To>> {
        let mut uses_left: HashMap<&Vec<KeyPart>, usize> = HashMap::new();
        for key in self.per_row.iter().flatten() {
            *uses_left.entry(key).or_default() += 1;
        }
        let mut outputs = Vec::with_capacity(self.per_row.len());
        for key in &self.per_row {
            let matches = match key {
                None => Vec::new(),
                Some(key) => {
                    let uses = uses_left.get_mut(key).map_or(0, |uses| {
                        *uses -= 1;
                        *uses
                    });
                    if uses == 0 {
                        related.remove(key).unwrap_or_default()
                    } else {
                        related.get(key).cloned().unwrap_or_default()
                    }
                }
            };
            outputs.push(Kind::collect(matches));
        }
        outputs
    }
}

/// Fetches the rows of `To` whose remote key is one of `keys.distinct`, grouped by key, each
/// group in primary key order: one query per [`MAX_RELATION_KEYS_PER_QUERY`] parameters.
/// `remote_columns` are the relation's key columns in `To`; the function is not generic over
/// the relation's `From`, so it is compiled once per related entity.
async fn fetch_related<To: Entity>(
    conn: &mut Conn<'_>,
    remote_columns: &[&str],
    keys: &RowKeys,
) -> Result<HashMap<Vec<KeyPart>, Vec<To>>, DbError> {
    let table = To::schema();
    let columns_per_key = remote_columns.len().max(1);
    let keys_per_query = (MAX_RELATION_KEYS_PER_QUERY / columns_per_key).max(1);
    let mut related: HashMap<Vec<KeyPart>, Vec<To>> = HashMap::new();
    for chunk in keys.distinct.chunks(keys_per_query) {
        let statement =
            StatementBuilder::new(table, conn.system()).select_by_keys(remote_columns, chunk)?;
        for row in conn
            .fetch_rows(&statement.sql, statement.params, table)
            .await?
        {
            let Some(key) = key_of(&remote_key(&row, table, remote_columns)?) else {
                continue;
            };
            related.entry(key).or_default().push(To::from_row(&row)?);
        }
    }
    Ok(related)
}

/// The values of the relation's remote columns in a fetched row.
fn remote_key(
    row: &Row,
    table: &TableSchema,
    remote_columns: &[&str],
) -> Result<Vec<Value>, DbError> {
    remote_columns
        .iter()
        .map(|column| {
            row.values()
                .iter()
                .find(|(name, _)| name == column)
                .map(|(_, value)| value.clone())
                .ok_or_else(|| DbError::UnknownColumn {
                    table: table.name.clone(),
                    column: (*column).to_owned(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_in_any_key_column_means_no_key() {
        assert_eq!(key_of(&[Value::Int(1), Value::Null]), None);
        assert_eq!(key_of(&[Value::Float(-0.0)]), key_of(&[Value::Float(0.0)]));
    }
}
