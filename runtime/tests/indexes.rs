//! Indexes against a real SQLite file and, when `APPC_TEST_POSTGRES_URL` is set, a real
//! PostgreSQL server: `@@index`, `@@unique` and foreign-key indexes are created with their table
//! or added to an existing one, a composite unique index is enforced, one over rows that already
//! repeat its values is refused with a message saying what to do, and the chat's history query
//! is served by its index instead of sorting the whole table.

mod common;

use appc_runtime::codegen::{
    ColumnDefault, ColumnSchema, MigrationError, SqlType, TableSchema, migrate,
};
use appc_runtime::{Column, Database, DbSystem, Query, Row, Value};

/// Memberships of users in rooms, without indexes (as a spec before `@@unique` was added).
fn membership_without_indexes() -> TableSchema {
    TableSchema::new("Membership")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("userId", SqlType::Integer))
        .column(ColumnSchema::new("roomId", SqlType::Integer).nullable())
        .column(ColumnSchema::new("joinedAt", SqlType::DateTime).default(ColumnDefault::Now))
}

fn membership_with_indexes() -> TableSchema {
    membership_without_indexes()
        .unique_index(&["userId", "roomId"])
        .index(&["roomId", "joinedAt"])
}

async fn join(database: &Database, user_id: i64, room_id: Option<i64>) -> Result<(), String> {
    let sql = match database.system() {
        DbSystem::Sqlite => r#"INSERT INTO "Membership" ("userId", "roomId") VALUES (?, ?)"#,
        DbSystem::Postgres => r#"INSERT INTO "Membership" ("userId", "roomId") VALUES ($1, $2)"#,
    };
    let outcome = match database.system() {
        DbSystem::Sqlite => sqlx::query(sql)
            .bind(user_id)
            .bind(room_id)
            .execute(database.sqlite_pool().unwrap())
            .await
            .map(drop),
        DbSystem::Postgres => sqlx::query(sql)
            .bind(user_id)
            .bind(room_id)
            .execute(database.postgres_pool().unwrap())
            .await
            .map(drop),
    };
    outcome.map_err(|error| error.to_string())
}

async fn index_names(database: &Database, table: &str) -> Vec<String> {
    let mut names: Vec<String> = match database.system() {
        DbSystem::Sqlite => sqlx::query_scalar("SELECT name FROM pragma_index_list(?)")
            .bind(table)
            .fetch_all(database.sqlite_pool().unwrap())
            .await
            .unwrap(),
        DbSystem::Postgres => sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
        )
        .bind(table)
        .fetch_all(database.postgres_pool().unwrap())
        .await
        .unwrap(),
    };
    // The declared indexes only, not the primary key's (`Membership_pkey` on PostgreSQL).
    names.retain(|name| name.starts_with(table) && !name.ends_with("_pkey"));
    names.sort();
    names
}

#[tokio::test]
async fn indexes_come_with_a_new_table_and_are_added_to_an_existing_one() {
    let (databases, _directory) = common::fresh_databases().await;
    for database in databases {
        let system = database.system();
        // A new table gets its indexes in the same migration.
        let fresh = TableSchema::new("Fresh")
            .column(ColumnSchema::new("id", SqlType::Integer).primary_key())
            .column(ColumnSchema::new("code", SqlType::Text))
            .unique_index(&["code"]);
        let report = migrate(&database, &[&fresh]).await.unwrap();
        assert_eq!(report.created_tables, ["Fresh"], "{system:?}");
        assert_eq!(report.created_indexes, ["Fresh_code_key"], "{system:?}");

        // An existing table with rows gets the indexes the spec now declares.
        migrate(&database, &[&membership_without_indexes()])
            .await
            .unwrap();
        join(&database, 1, Some(10)).await.unwrap();
        join(&database, 1, Some(11)).await.unwrap();
        join(&database, 2, Some(10)).await.unwrap();
        let report = migrate(&database, &[&membership_with_indexes()])
            .await
            .unwrap();
        assert_eq!(
            report.created_indexes,
            [
                "Membership_userId_roomId_key",
                "Membership_roomId_joinedAt_idx"
            ],
            "{system:?}"
        );
        assert_eq!(
            index_names(&database, "Membership").await,
            [
                "Membership_roomId_joinedAt_idx",
                "Membership_userId_roomId_key"
            ],
            "{system:?}"
        );
        // Migrating again finds them by name and changes nothing.
        let report = migrate(&database, &[&membership_with_indexes()])
            .await
            .unwrap();
        assert!(report.is_empty(), "{system:?}: {report:?}");

        // The composite unique index is enforced, on the combination only.
        let error = join(&database, 1, Some(10)).await.unwrap_err();
        assert!(
            error.to_lowercase().contains("unique"),
            "{system:?}: {error}"
        );
        join(&database, 1, Some(12)).await.unwrap();
        // Rows with a NULL in one of the columns never clash (SQL's rule, on both systems).
        join(&database, 3, None).await.unwrap();
        join(&database, 3, None).await.unwrap();
    }
}

#[tokio::test]
async fn a_unique_index_over_duplicate_rows_is_refused_saying_which_and_what_to_do() {
    let (databases, _directory) = common::fresh_databases().await;
    for database in databases {
        let system = database.system();
        migrate(&database, &[&membership_without_indexes()])
            .await
            .unwrap();
        for (user_id, room_id) in [(1, Some(10)), (1, Some(10)), (2, Some(10)), (2, Some(10))] {
            join(&database, user_id, room_id).await.unwrap();
        }
        // Rows that repeat only with a NULL are no duplicates for a unique index.
        join(&database, 3, None).await.unwrap();
        join(&database, 3, None).await.unwrap();

        let error = migrate(&database, &[&membership_with_indexes()])
            .await
            .unwrap_err();
        let MigrationError::DuplicateRows { problems } = &error else {
            panic!("{system:?}: expected DuplicateRows, got {error}");
        };
        assert_eq!(problems.len(), 1, "{system:?}: {problems:?}");
        let message = error.to_string();
        for expected in [
            "table `Membership` has 2 sets of rows with equal (`userId`, `roomId`)",
            "`@@unique([userId, roomId])`",
            "change or delete the duplicate rows",
            "GROUP BY userId, roomId HAVING COUNT(*) > 1",
            "or remove the `@@unique`",
        ] {
            assert!(message.contains(expected), "{system:?}: {message}");
        }
        // Nothing was applied: not even the index that could have been created.
        assert!(
            index_names(&database, "Membership").await.is_empty(),
            "{system:?}"
        );

        // Once the duplicates are gone, the same migration goes through.
        let delete = r#"DELETE FROM "Membership" WHERE "id" IN (2, 4)"#;
        match system {
            DbSystem::Sqlite => sqlx::query(delete)
                .execute(database.sqlite_pool().unwrap())
                .await
                .map(drop),
            DbSystem::Postgres => sqlx::query(delete)
                .execute(database.postgres_pool().unwrap())
                .await
                .map(drop),
        }
        .unwrap();
        let report = migrate(&database, &[&membership_with_indexes()])
            .await
            .unwrap();
        assert_eq!(report.created_indexes.len(), 2, "{system:?}: {report:?}");
    }
}

/// The chat example's `Message` table as `appc build` generates it from `examples/chat/main.wasp`
/// (`@@index([createdAt])`, and the foreign key's index on `userId`); the codegen snapshot
/// `codegen__chat_server` holds the generated original.
fn chat_message_schema() -> TableSchema {
    TableSchema::new("Message")
        .column(
            ColumnSchema::new("id", SqlType::Text)
                .primary_key()
                .default(ColumnDefault::Uuid),
        )
        .column(ColumnSchema::new("text", SqlType::Text))
        .column(ColumnSchema::new("createdAt", SqlType::DateTime).default(ColumnDefault::Now))
        .column(
            ColumnSchema::new("userId", SqlType::Integer)
                .nullable()
                .references("User", "id"),
        )
        .index(&["createdAt"])
        .index(&["userId"])
}

#[tokio::test]
async fn the_chat_history_query_reads_the_created_at_index_instead_of_sorting_the_table() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("chat.db").display());
    let database = Database::connect(&url).await.unwrap();
    let user = TableSchema::new("User").column(common::autoincrement_id());
    let message = chat_message_schema();
    migrate(&database, &[&user, &message]).await.unwrap();
    // Enough rows that the planner's choice matters, and fresh statistics for it.
    let pool = database.sqlite_pool().unwrap();
    for batch in 0..20 {
        let mut transaction = pool.begin().await.unwrap();
        for number in 0..60 {
            sqlx::query(r#"INSERT INTO "Message" ("id", "text", "createdAt") VALUES (?, ?, ?)"#)
                .bind(format!("{batch}-{number}"))
                .bind("hello")
                .bind(format!(
                    "2026-01-01T{:02}:{:02}:00.000Z",
                    batch,
                    number % 60
                ))
                .execute(&mut *transaction)
                .await
                .unwrap();
        }
        transaction.commit().await.unwrap();
    }
    sqlx::query("ANALYZE").execute(pool).await.unwrap();

    // The query of examples/chat/src/server/chat.rs: the latest 50 messages.
    let created_at = Column::<Row, Value>::named("createdAt");
    let history = Query::new().order_by(created_at.desc()).limit(50);
    let plan = database.query_plan(&message, &history).await.unwrap();
    let plan_text = plan.join("\n");
    assert!(
        plan_text.contains("USING INDEX Message_createdAt_idx"),
        "{plan_text}"
    );
    assert!(!plan_text.contains("TEMP B-TREE"), "{plan_text}");
    let rows = database.find_rows(&message, history).await.unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(
        rows[0].get::<Value>("id").unwrap(),
        Value::from("19-59"),
        "the newest message comes first"
    );

    // Without the index, SQLite scans and sorts the whole table: what the test guards against.
    let mut unindexed = chat_message_schema();
    unindexed.name = "UnindexedMessage".to_owned();
    unindexed.indexes.clear();
    migrate(&database, &[&unindexed]).await.unwrap();
    let plan = database
        .query_plan(
            &unindexed,
            &Query::new().order_by(created_at.desc()).limit(50),
        )
        .await
        .unwrap()
        .join("\n");
    assert!(plan.contains("SCAN UnindexedMessage"), "{plan}");
    assert!(plan.contains("USE TEMP B-TREE FOR ORDER BY"), "{plan}");
}
