//! Emptying a development database so that its migrations can be applied again from the first:
//! the table dropping behind the server binary's `migrate reset` (`appc db reset`).
//!
//! What "every table" means is kept narrow on purpose, because a reset cannot be undone: on
//! SQLite, every table of the file except SQLite's own (`sqlite_*`); on PostgreSQL, only the
//! tables of the connection's current schema (`current_schema()`, usually `public`) that the
//! connected role owns. Other schemas, other roles' tables and the database itself are never
//! touched (no `DROP DATABASE`, no `DROP SCHEMA`, no `CASCADE` into objects the app did not
//! make: a view or another role's table that depends on one of these tables stops the reset
//! with PostgreSQL's error instead).

use super::database::Database;
use super::error::DbError;
use super::schema::quote_identifier;
use super::system::DbSystem;
use super::versioned::LockedConnection;

/// Drops every table the app may own (see the module docs) in one transaction under the
/// migration lock, so a server starting meanwhile waits, and a failure drops nothing. Returns
/// the dropped tables' names, sorted; an empty list when there were none.
pub(crate) async fn drop_all_tables(database: &Database) -> Result<Vec<String>, DbError> {
    let mut locked = LockedConnection::begin(database).await?;
    let listing = match database.system() {
        DbSystem::Sqlite => {
            "SELECT \"name\" FROM sqlite_master WHERE \"type\" = 'table' AND \"name\" NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        }
        DbSystem::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tableowner = current_user"
        }
    };
    let mut tables: Vec<String> = locked
        .conn()
        .fetch_text_rows(listing, Vec::new())
        .await?
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect();
    // By bytes, not by the database's collation, so both systems list them alike.
    tables.sort();
    if tables.is_empty() {
        locked.commit().await?;
        return Ok(tables);
    }
    let quoted: Vec<String> = tables.iter().map(|table| quote_identifier(table)).collect();
    let drop = match database.system() {
        // One statement per table; foreign keys are off inside the lock's transaction, so the
        // order does not matter.
        DbSystem::Sqlite => quoted
            .iter()
            .map(|table| format!("DROP TABLE {table};"))
            .collect::<Vec<_>>()
            .join("\n"),
        // One statement for all of them, so the foreign keys between them are no obstacle.
        DbSystem::Postgres => format!("DROP TABLE {};", quoted.join(", ")),
    };
    locked.run_script(&drop).await?;
    locked.commit().await?;
    Ok(tables)
}
