//! The one place that talks to sqlx: binding [`Value`]s as parameters, decoding rows by the
//! declared column types, and running the schema-level row operations that typed tables, auth
//! and migrations share (their statements are built in `statements.rs`).

use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{
    Arguments as _, AssertSqlSafe, PgConnection, Postgres, Row as _, Sqlite, SqliteConnection,
};

use super::error::DbError;
use super::query::{Comparison, Condition, Selection};
use super::schema::{ColumnSchema, SqlType, TableSchema};
pub(crate) use super::statements::Param;
use super::statements::{Statement, StatementBuilder, coerce};
use super::system::DbSystem;
use super::value::{Row, Value, format_timestamp, parse_timestamp};
use super::writer::{PostgresWriter, SqliteWriter, WriteKind, WriteOutcome};

/// A borrowed connection of either system, from a pool or inside a transaction, or its
/// group-commit writer (for single-row writes outside transactions).
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
    SqliteWriter(&'c SqliteWriter),
    PostgresWriter(&'c PostgresWriter),
}

/// A connection checked out of the pool for one operation.
pub(crate) enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(connection) => Conn::Sqlite(connection),
            Pooled::Postgres(connection) => Conn::Postgres(connection),
        }
    }
}

/// An open transaction of either system, owning its pooled connection; dropping it rolls back.
pub(crate) enum OwnedTransaction {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl OwnedTransaction {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            OwnedTransaction::Sqlite(transaction) => Conn::Sqlite(transaction),
            OwnedTransaction::Postgres(transaction) => Conn::Postgres(transaction),
        }
    }

    pub(crate) async fn commit(self) -> Result<(), DbError> {
        match self {
            OwnedTransaction::Sqlite(transaction) => transaction.commit().await?,
            OwnedTransaction::Postgres(transaction) => transaction.commit().await?,
        }
        Ok(())
    }

    pub(crate) async fn rollback(self) -> Result<(), DbError> {
        match self {
            OwnedTransaction::Sqlite(transaction) => transaction.rollback().await?,
            OwnedTransaction::Postgres(transaction) => transaction.rollback().await?,
        }
        Ok(())
    }
}

impl Conn<'_> {
    pub(crate) fn system(&self) -> DbSystem {
        match self {
            Conn::Sqlite(_) | Conn::SqliteWriter(_) => DbSystem::Sqlite,
            Conn::Postgres(_) | Conn::PostgresWriter(_) => DbSystem::Postgres,
        }
    }

    /// Runs a statement and returns how many rows it changed.
    pub(crate) async fn execute(&mut self, sql: &str, params: Vec<Param>) -> Result<u64, DbError> {
        match self {
            Conn::Sqlite(connection) => {
                let query =
                    sqlx::query_with(AssertSqlSafe(sql.to_owned()), sqlite_arguments(params)?);
                Ok(query.execute(&mut **connection).await?.rows_affected())
            }
            Conn::SqliteWriter(writer) => {
                match writer
                    .write(
                        sql.to_owned(),
                        sqlite_arguments(params)?,
                        WriteKind::Affected,
                    )
                    .await?
                {
                    WriteOutcome::Affected(count) => Ok(count),
                    WriteOutcome::Rows(rows) => Ok(rows.len() as u64),
                }
            }
            Conn::Postgres(connection) => {
                let query = bind_all_postgres(sqlx::query(AssertSqlSafe(sql.to_owned())), params);
                Ok(query.execute(&mut **connection).await?.rows_affected())
            }
            Conn::PostgresWriter(writer) => {
                match writer
                    .write(
                        sql.to_owned(),
                        postgres_arguments(params)?,
                        WriteKind::Affected,
                    )
                    .await?
                {
                    WriteOutcome::Affected(count) => Ok(count),
                    WriteOutcome::Rows(rows) => Ok(rows.len() as u64),
                }
            }
        }
    }

    /// Runs a query whose rows hold the columns of `table` in schema order.
    pub(crate) async fn fetch_rows(
        &mut self,
        sql: &str,
        params: Vec<Param>,
        table: &TableSchema,
    ) -> Result<Vec<Row>, DbError> {
        match self {
            Conn::Postgres(_) | Conn::PostgresWriter(_) => self
                .fetch_postgres_rows(sql, params)
                .await?
                .iter()
                .map(|row| decode_postgres_row(row, table))
                .collect(),
            _ => self
                .fetch_sqlite_rows(sql, params)
                .await?
                .iter()
                .map(|row| decode_sqlite_row(row, table))
                .collect(),
        }
    }

    /// Runs a query on SQLite, through the connection or the writer; empty on PostgreSQL,
    /// whose callers never come here.
    async fn fetch_sqlite_rows(
        &mut self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Vec<SqliteRow>, DbError> {
        let arguments = sqlite_arguments(params)?;
        match self {
            Conn::Sqlite(connection) => {
                Ok(sqlx::query_with(AssertSqlSafe(sql.to_owned()), arguments)
                    .fetch_all(&mut **connection)
                    .await?)
            }
            Conn::SqliteWriter(writer) => {
                match writer
                    .write(sql.to_owned(), arguments, WriteKind::Rows)
                    .await?
                {
                    WriteOutcome::Rows(rows) => Ok(rows),
                    WriteOutcome::Affected(_) => Ok(Vec::new()),
                }
            }
            Conn::Postgres(_) | Conn::PostgresWriter(_) => Ok(Vec::new()),
        }
    }

    /// Runs a query on PostgreSQL, through the connection or the writer; empty on SQLite,
    /// whose callers never come here.
    async fn fetch_postgres_rows(
        &mut self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Vec<PgRow>, DbError> {
        match self {
            Conn::Postgres(connection) => {
                let query = bind_all_postgres(sqlx::query(AssertSqlSafe(sql.to_owned())), params);
                Ok(query.fetch_all(&mut **connection).await?)
            }
            Conn::PostgresWriter(writer) => {
                match writer
                    .write(sql.to_owned(), postgres_arguments(params)?, WriteKind::Rows)
                    .await?
                {
                    WriteOutcome::Rows(rows) => Ok(rows),
                    WriteOutcome::Affected(_) => Ok(Vec::new()),
                }
            }
            Conn::Sqlite(_) | Conn::SqliteWriter(_) => Ok(Vec::new()),
        }
    }

    /// Runs a query whose single row has one integer column (e.g. `COUNT(*)`).
    pub(crate) async fn fetch_integer(
        &mut self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<i64, DbError> {
        match self {
            Conn::Postgres(_) | Conn::PostgresWriter(_) => {
                let rows = self.fetch_postgres_rows(sql, params).await?;
                let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
                Ok(row.try_get::<i64, _>(0)?)
            }
            _ => {
                let rows = self.fetch_sqlite_rows(sql, params).await?;
                let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
                Ok(row.try_get::<i64, _>(0)?)
            }
        }
    }

    /// Runs a query whose rows are all text columns (used for schema introspection).
    pub(crate) async fn fetch_text_rows(
        &mut self,
        sql: &str,
        params: Vec<Param>,
    ) -> Result<Vec<Vec<Option<String>>>, DbError> {
        match self {
            Conn::Postgres(_) | Conn::PostgresWriter(_) => {
                let rows = self.fetch_postgres_rows(sql, params).await?;
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|index| row.try_get::<Option<String>, _>(index))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(DbError::from)
                    })
                    .collect()
            }
            _ => {
                let rows = self.fetch_sqlite_rows(sql, params).await?;
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|index| {
                                // PRAGMA results mix integers and text; read both as text.
                                row.try_get::<Option<String>, _>(index).or_else(|_| {
                                    row.try_get::<Option<i64>, _>(index)
                                        .map(|number| number.map(|number| number.to_string()))
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(DbError::from)
                    })
                    .collect()
            }
        }
    }
}

/// The SQLite arguments for `params`, in order.
fn sqlite_arguments(params: Vec<Param>) -> Result<SqliteArguments, DbError> {
    let mut arguments = SqliteArguments::default();
    for param in params {
        let added = match coerce(param.value, param.sql_type) {
            Value::Null => arguments.add(None::<String>),
            Value::Bool(flag) => arguments.add(flag),
            Value::Int(number) => arguments.add(number),
            Value::Float(number) => arguments.add(number),
            Value::Text(text) => arguments.add(text),
            // Timestamps are stored as fixed-width RFC 3339 text so that text order is time order.
            Value::DateTime(timestamp) => arguments.add(format_timestamp(&timestamp)),
            Value::Json(document) => arguments.add(document.to_string()),
            Value::Bytes(bytes) => arguments.add(bytes),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(arguments)
}

/// The PostgreSQL arguments for `params`, in order, for the writer; typed nulls as
/// [`bind_all_postgres`] binds them.
fn postgres_arguments(params: Vec<Param>) -> Result<PgArguments, DbError> {
    let mut arguments = PgArguments::default();
    for param in params {
        let added = match coerce(param.value, param.sql_type) {
            Value::Null => match param.sql_type {
                SqlType::Integer => arguments.add(None::<i64>),
                SqlType::Float => arguments.add(None::<f64>),
                SqlType::Boolean => arguments.add(None::<bool>),
                SqlType::Text => arguments.add(None::<String>),
                SqlType::DateTime => arguments.add(None::<DateTime<Utc>>),
                SqlType::Json => arguments.add(None::<serde_json::Value>),
                SqlType::Bytes => arguments.add(None::<Vec<u8>>),
            },
            Value::Bool(flag) => arguments.add(flag),
            Value::Int(number) => arguments.add(number),
            Value::Float(number) => arguments.add(number),
            Value::Text(text) => arguments.add(text),
            Value::DateTime(timestamp) => arguments.add(timestamp),
            Value::Json(document) => arguments.add(document),
            Value::Bytes(bytes) => arguments.add(bytes),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(arguments)
}

fn bind_all_postgres(
    mut query: Query<'static, Postgres, PgArguments>,
    params: Vec<Param>,
) -> Query<'static, Postgres, PgArguments> {
    for param in params {
        query = match coerce(param.value, param.sql_type) {
            Value::Null => match param.sql_type {
                SqlType::Integer => query.bind(None::<i64>),
                SqlType::Float => query.bind(None::<f64>),
                SqlType::Boolean => query.bind(None::<bool>),
                SqlType::Text => query.bind(None::<String>),
                SqlType::DateTime => query.bind(None::<DateTime<Utc>>),
                SqlType::Json => query.bind(None::<serde_json::Value>),
                SqlType::Bytes => query.bind(None::<Vec<u8>>),
            },
            Value::Bool(flag) => query.bind(flag),
            Value::Int(number) => query.bind(number),
            Value::Float(number) => query.bind(number),
            Value::Text(text) => query.bind(text),
            Value::DateTime(timestamp) => query.bind(timestamp),
            Value::Json(document) => query.bind(document),
            Value::Bytes(bytes) => query.bind(bytes),
        };
    }
    query
}

fn decode_error(table: &TableSchema, column: &ColumnSchema, problem: impl ToString) -> DbError {
    DbError::Decode {
        table: table.name.clone(),
        column: column.name.clone(),
        problem: problem.to_string(),
    }
}

fn decode_sqlite_row(row: &SqliteRow, table: &TableSchema) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(table.columns.len());
    for (index, column) in table.columns.iter().enumerate() {
        let value = match column.sql_type {
            SqlType::Integer => row.try_get::<Option<i64>, _>(index)?.into(),
            SqlType::Float => row.try_get::<Option<f64>, _>(index)?.into(),
            SqlType::Boolean => row.try_get::<Option<bool>, _>(index)?.into(),
            SqlType::Text => row.try_get::<Option<String>, _>(index)?.into(),
            SqlType::Bytes => row.try_get::<Option<Vec<u8>>, _>(index)?.into(),
            SqlType::DateTime => match row.try_get::<Option<String>, _>(index)? {
                None => Value::Null,
                Some(text) => Value::DateTime(
                    parse_timestamp(&text)
                        .map_err(|problem| decode_error(table, column, problem))?,
                ),
            },
            SqlType::Json => match row.try_get::<Option<String>, _>(index)? {
                None => Value::Null,
                Some(text) => Value::Json(
                    serde_json::from_str(&text)
                        .map_err(|problem| decode_error(table, column, problem))?,
                ),
            },
        };
        values.push((column.name.clone(), value));
    }
    Ok(Row::new(&table.name, values))
}

fn decode_postgres_row(row: &PgRow, table: &TableSchema) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(table.columns.len());
    for (index, column) in table.columns.iter().enumerate() {
        let value = match column.sql_type {
            SqlType::Integer => row.try_get::<Option<i64>, _>(index)?.into(),
            SqlType::Float => row.try_get::<Option<f64>, _>(index)?.into(),
            SqlType::Boolean => row.try_get::<Option<bool>, _>(index)?.into(),
            SqlType::Text => row.try_get::<Option<String>, _>(index)?.into(),
            SqlType::Bytes => row.try_get::<Option<Vec<u8>>, _>(index)?.into(),
            SqlType::DateTime => row.try_get::<Option<DateTime<Utc>>, _>(index)?.into(),
            SqlType::Json => row.try_get::<Option<serde_json::Value>, _>(index)?.into(),
        };
        values.push((column.name.clone(), value));
    }
    Ok(Row::new(&table.name, values))
}

/// Schema-level row operations: what `Table` (in `entity.rs`) runs for an entity, and what auth
/// runs on the user table whose Rust type it does not know.
pub(crate) struct RowOps<'t> {
    pub(crate) table: &'t TableSchema,
}

impl<'t> RowOps<'t> {
    pub(crate) fn new(table: &'t TableSchema) -> Self {
        RowOps { table }
    }

    fn statements(&self, conn: &Conn<'_>) -> StatementBuilder<'t> {
        StatementBuilder::new(self.table, conn.system())
    }

    /// The condition that selects the row with this primary key.
    fn by_id(&self, conn: &Conn<'_>, id: Value) -> Result<Condition, DbError> {
        let primary_key = self.statements(conn).primary_key()?;
        Ok(Condition::Compare {
            column: primary_key.name.clone().into(),
            operator: Comparison::Equal,
            value: id,
        })
    }

    pub(crate) async fn find_many(
        &self,
        conn: &mut Conn<'_>,
        selection: &Selection,
    ) -> Result<Vec<Row>, DbError> {
        let Statement { sql, params } = self.statements(conn).select(selection)?;
        conn.fetch_rows(&sql, params, self.table).await
    }

    /// How the database would run `find_many(selection)`: SQLite's `EXPLAIN QUERY PLAN`
    /// details (`SEARCH Message USING INDEX ...`), or PostgreSQL's `EXPLAIN` lines.
    pub(crate) async fn query_plan(
        &self,
        conn: &mut Conn<'_>,
        selection: &Selection,
    ) -> Result<Vec<String>, DbError> {
        let Statement { sql, params } = self.statements(conn).select(selection)?;
        let explain = match conn.system() {
            DbSystem::Sqlite => "EXPLAIN QUERY PLAN",
            DbSystem::Postgres => "EXPLAIN",
        };
        let rows = conn
            .fetch_text_rows(&format!("{explain} {sql}"), params)
            .await?;
        // SQLite's rows are (id, parent, notused, detail); PostgreSQL's are one text column.
        Ok(rows
            .into_iter()
            .filter_map(|mut row| row.pop().flatten())
            .collect())
    }

    pub(crate) async fn find_by_id(
        &self,
        conn: &mut Conn<'_>,
        id: Value,
    ) -> Result<Option<Row>, DbError> {
        let selection = Selection {
            filter: Some(self.by_id(conn, id)?),
            limit: Some(1),
            ..Selection::default()
        };
        Ok(self.find_many(conn, &selection).await?.into_iter().next())
    }

    /// How many rows the selection's filter and cursor select.
    pub(crate) async fn count(
        &self,
        conn: &mut Conn<'_>,
        selection: &Selection,
    ) -> Result<i64, DbError> {
        let Statement { sql, params } = self.statements(conn).count(selection)?;
        conn.fetch_integer(&sql, params).await
    }

    /// Whether the selection's filter and cursor select at least one row.
    pub(crate) async fn exists(
        &self,
        conn: &mut Conn<'_>,
        selection: &Selection,
    ) -> Result<bool, DbError> {
        let Statement { sql, params } = self.statements(conn).exists(selection)?;
        Ok(conn.fetch_integer(&sql, params).await? > 0)
    }

    pub(crate) async fn insert(
        &self,
        conn: &mut Conn<'_>,
        provided: Vec<(&str, Value)>,
    ) -> Result<Row, DbError> {
        let Statement { sql, params } = self.statements(conn).insert(provided)?;
        let mut rows = conn.fetch_rows(&sql, params, self.table).await?;
        // INSERT ... RETURNING yields exactly one row; anything else is a driver problem.
        rows.pop().ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))
    }

    /// Writes `changes` to the row with this id and returns it; `None` if there is no such row.
    pub(crate) async fn update(
        &self,
        conn: &mut Conn<'_>,
        id: Value,
        changes: Vec<(&str, Value)>,
    ) -> Result<Option<Row>, DbError> {
        let condition = self.by_id(conn, id.clone())?;
        match self
            .statements(conn)
            .update(changes, &condition, Some(self.table))?
        {
            Some(Statement { sql, params }) => Ok(conn
                .fetch_rows(&sql, params, self.table)
                .await?
                .into_iter()
                .next()),
            None => self.find_by_id(conn, id).await,
        }
    }

    /// Writes `changes` to every row the condition selects; how many it changed. With no
    /// change to write, how many rows the condition selects.
    pub(crate) async fn update_many(
        &self,
        conn: &mut Conn<'_>,
        condition: &Condition,
        changes: Vec<(&str, Value)>,
    ) -> Result<u64, DbError> {
        match self.statements(conn).update(changes, condition, None)? {
            Some(Statement { sql, params }) => conn.execute(&sql, params).await,
            None => {
                let selection = Selection {
                    filter: Some(condition.clone()),
                    ..Selection::default()
                };
                let count = self.count(conn, &selection).await?;
                Ok(u64::try_from(count).unwrap_or_default())
            }
        }
    }

    /// Writes `changes` to every row the condition selects and returns the columns of
    /// `returned` (a schema of some of this table's columns) of each changed row. With no
    /// change to write, nothing changed: no rows.
    pub(crate) async fn update_many_returning(
        &self,
        conn: &mut Conn<'_>,
        condition: &Condition,
        changes: Vec<(&str, Value)>,
        returned: &TableSchema,
    ) -> Result<Vec<Row>, DbError> {
        match self
            .statements(conn)
            .update(changes, condition, Some(returned))?
        {
            Some(Statement { sql, params }) => conn.fetch_rows(&sql, params, returned).await,
            None => Ok(Vec::new()),
        }
    }

    /// The condition that selects the row with this primary key, for the entity layer.
    pub(crate) fn id_condition(&self, conn: &Conn<'_>, id: Value) -> Result<Condition, DbError> {
        self.by_id(conn, id)
    }

    /// Deletes every row the condition selects; how many there were.
    pub(crate) async fn delete_many(
        &self,
        conn: &mut Conn<'_>,
        condition: &Condition,
    ) -> Result<u64, DbError> {
        let Statement { sql, params } = self.statements(conn).delete(condition, None)?;
        conn.execute(&sql, params).await
    }

    /// Deletes every row the condition selects and returns the columns of `returned` of each.
    pub(crate) async fn delete_many_returning(
        &self,
        conn: &mut Conn<'_>,
        condition: &Condition,
        returned: &TableSchema,
    ) -> Result<Vec<Row>, DbError> {
        let Statement { sql, params } = self.statements(conn).delete(condition, Some(returned))?;
        conn.fetch_rows(&sql, params, returned).await
    }
}
