//! Timestamps the database writes itself, read back through the typed layer on a real SQLite
//! file and, when `APPC_TEST_POSTGRES_URL` is set, a real PostgreSQL server: SQLite's
//! `CURRENT_TIMESTAMP`, `datetime('now')` and the `strftime('%Y-%m-%dT%H:%M:%fZ','now')` that
//! `@default(now())` columns use, and PostgreSQL's `CURRENT_TIMESTAMP`, `now()` and
//! `LOCALTIMESTAMP`, all come back as the current instant in UTC.

mod common;

use appc_runtime::codegen::{ColumnDefault, ColumnSchema, SqlType, TableSchema, migrate};
use appc_runtime::{Database, Query};
use chrono::{DateTime, Duration, Utc};

fn events() -> TableSchema {
    TableSchema::new("Event")
        .column(
            ColumnSchema::new("id", SqlType::Integer)
                .primary_key()
                .default(ColumnDefault::Autoincrement),
        )
        .column(ColumnSchema::new("source", SqlType::Text))
        .column(ColumnSchema::new("at", SqlType::DateTime))
}

/// Checks that every row's `at` is the moment the test ran: SQLite's `CURRENT_TIMESTAMP` has
/// whole seconds, so up to one second before `before` still counts.
async fn assert_every_row_is_now(database: &Database, before: DateTime<Utc>, sources: &[&str]) {
    let after = Utc::now();
    let rows = database
        .find_rows(&events(), Query::new())
        .await
        .expect("the rows decode");
    let found: Vec<String> = rows
        .iter()
        .map(|row| row.get::<String>("source").expect("source"))
        .collect();
    assert_eq!(found, sources);
    for row in rows {
        let source: String = row.get("source").unwrap();
        let at: DateTime<Utc> = row.get("at").expect("the timestamp decodes");
        assert!(
            at >= before - Duration::seconds(1) && at <= after,
            "{source}: {at} is not between {before} and {after}"
        );
    }
}

#[tokio::test]
async fn sqlite_reads_the_timestamps_sqlite_writes() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("test.db").display());
    let database = Database::connect(&url).await.unwrap();
    migrate(&database, &[&events()]).await.unwrap();
    let before = Utc::now();
    sqlx::query(
        r#"INSERT INTO "Event" ("source", "at") VALUES
            ('CURRENT_TIMESTAMP', CURRENT_TIMESTAMP),
            ('datetime', datetime('now')),
            ('strftime with milliseconds', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"#,
    )
    .execute(database.sqlite_pool().unwrap())
    .await
    .unwrap();
    assert_every_row_is_now(
        &database,
        before,
        &[
            "CURRENT_TIMESTAMP",
            "datetime",
            "strftime with milliseconds",
        ],
    )
    .await;
    database.close().await;
}

#[tokio::test]
async fn postgres_reads_the_timestamps_postgres_writes() {
    let Some(url) = common::fresh_postgres_url().await else {
        return;
    };
    let database = Database::connect(&url).await.unwrap();
    migrate(&database, &[&events()]).await.unwrap();
    let pool = database.postgres_pool().unwrap();
    // sqlx starts every session in UTC (a startup parameter, stronger than the server's or the
    // database's setting), so even a time without a zone, LOCALTIMESTAMP, is UTC.
    let zone: String = sqlx::query_scalar("SHOW timezone")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(zone, "UTC");
    let before = Utc::now();
    sqlx::query(
        r#"INSERT INTO "Event" ("source", "at") VALUES
            ('CURRENT_TIMESTAMP', CURRENT_TIMESTAMP), ('now', now()), ('LOCALTIMESTAMP', LOCALTIMESTAMP)"#,
    )
    .execute(pool)
    .await
    .unwrap();
    assert_every_row_is_now(
        &database,
        before,
        &["CURRENT_TIMESTAMP", "now", "LOCALTIMESTAMP"],
    )
    .await;
    database.close().await;
}
