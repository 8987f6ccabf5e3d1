//! Database access: the connection pool for SQLite or PostgreSQL ([`Database`]), the declared
//! schema as data ([`TableSchema`]), the generic typed entity layer the generator targets
//! ([`Entity`], [`Table`], [`Query`], [`Transaction`]), relations loaded in batches
//! ([`Relation`]) and start-up migrations: the versioned migration files ([`prepare_schema`])
//! and the additive migrator ([`migrate`]), and the reset of a development database
//! (`reset.rs`).
//!
//! Row statements are built with sea-query (`statements.rs`) from the declared schema (quoted
//! identifiers) and the typed queries of `query.rs` ([`Column`], [`Filter`], [`Query`]); every
//! value travels as a bound parameter, never spliced into the SQL text.
//!
//! This file only declares the modules and re-exports their items; no child imports it. The
//! children form one direction of flow, leaves first: `error`, `system`, `postgres_tls` ->
//! `value` -> `query`, `schema` -> `changes`, `writer`, `statements` -> `sql` -> `database` ->
//! `entity` -> `relation`, `live_schema`, `migrate` -> `versioned` -> `reset`. Committed
//! writes are reported through `changes.rs` to a listener the server sets (live queries).

mod changes;
mod database;
mod entity;
mod error;
mod live_schema;
mod migrate;
mod postgres_tls;
mod query;
mod relation;
mod reset;
mod schema;
mod sql;
mod statements;
mod system;
mod value;
mod versioned;
mod writer;

pub use changes::{ChangeListener, MAX_OWNERS_PER_CHANGE, TableChange};
pub use database::Database;
pub use entity::{Entity, IntoColumns, Table, Transaction, TxTable};
pub use error::DbError;
pub use migrate::{MigrationError, MigrationReport, migrate};
pub use query::{
    Column, ColumnType, ColumnValue, Filter, Order, OrderBy, Query, UniqueKey, column, unique_key,
};
pub use relation::{
    MAX_RELATION_KEYS_PER_QUERY, Relation, RelationKind, ToMany, ToOne, key_value, relation,
};
pub use schema::{
    ColumnDefault, ColumnSchema, ForeignKey, IndexSchema, MAX_IDENTIFIER_BYTES, ReferentialAction,
    SqlType, TableSchema, index_name,
};
pub use statements::MAX_BOUND_VALUES;
pub use system::DbSystem;
pub use value::{FromValue, Row, Value};
pub use versioned::{
    AppliedMigration, EmbeddedMigration, MigrationStatus, RecordedReason, SchemaReport,
    migration_status, prepare_schema,
};

pub(crate) use postgres_tls::check_postgres_tls_settings;
pub(crate) use query::Selection;
pub(crate) use reset::drop_all_tables;
pub(crate) use sql::{Pooled, RowOps};
