//! Entity access and migrations against a real SQLite file and, when `APPC_TEST_POSTGRES_URL`
//! is set, a real PostgreSQL server (each test in a fresh database there). Without it the
//! PostgreSQL half prints a loud skip notice and passes.

mod common;

use appc_runtime::codegen::{
    ColumnDefault, ColumnSchema, Entity, MigrationError, SqlType, TableSchema, migrate,
};
use appc_runtime::{Column, Database, DbError, DbSystem, Query, Row, Value};
use common::{Message, MessageUpdate, NewMessage, NewUser, User, UserUpdate};

fn user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        display_name: None,
    }
}

fn message(text: &str, room: Option<&str>, author_id: Option<i64>) -> NewMessage {
    NewMessage {
        text: text.to_owned(),
        room: room.map(str::to_owned),
        author_id,
        metadata: None,
    }
}

#[tokio::test]
async fn entities_are_created_found_updated_counted_and_deleted() {
    let (databases, _directory) = common::fresh_databases().await;
    for database in databases {
        let system = database.system();
        migrate(&database, &[User::schema(), Message::schema()])
            .await
            .unwrap();
        let users = database.table::<User>();
        let messages = database.table::<Message>();

        let ann = users.create(user("ann")).await.unwrap();
        assert_eq!(ann.username, "ann");
        assert_eq!(ann.display_name, None);
        let before = chrono::Utc::now() - chrono::Duration::seconds(5);
        let first = messages
            .create(NewMessage {
                metadata: Some(serde_json::json!({ "pinned": true, "tags": ["a"] })),
                ..message("first", None, Some(ann.id))
            })
            .await
            .unwrap();
        assert_eq!(first.id.len(), 36, "{system:?}: uuid default: {}", first.id);
        assert_eq!(first.room, "general", "{system:?}: constant default");
        assert!(first.created_at > before, "{system:?}: now() default");
        assert_eq!(
            first.metadata,
            Some(serde_json::json!({ "pinned": true, "tags": ["a"] }))
        );
        // A JSON string must come back as a string (SQLite's type affinity must not turn it
        // into a number).
        let quoted = messages
            .create(NewMessage {
                metadata: Some(serde_json::json!("42")),
                ..message("quoted", Some("other"), None)
            })
            .await
            .unwrap();
        assert_eq!(quoted.metadata, Some(serde_json::json!("42")), "{system:?}");
        for index in 0..3 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            messages
                .create(message(
                    &format!("later {index}"),
                    Some("random"),
                    Some(ann.id),
                ))
                .await
                .unwrap();
        }

        assert_eq!(
            messages.find(first.id.clone()).await.unwrap().as_ref(),
            Some(&first)
        );
        assert_eq!(messages.find("missing".to_owned()).await.unwrap(), None);
        let latest_two = messages
            .find_many(
                Query::new()
                    .filter(Message::ROOM.eq("random"))
                    .order_by(Message::CREATED_AT.desc())
                    .limit(2),
            )
            .await
            .unwrap();
        let texts: Vec<&str> = latest_two
            .iter()
            .map(|message| message.text.as_str())
            .collect();
        assert_eq!(texts, ["later 2", "later 1"], "{system:?}");
        let skipped = messages
            .find_many(
                Query::new()
                    .filter(Message::ROOM.eq("random"))
                    .order_by(Message::TEXT.asc())
                    .offset(1),
            )
            .await
            .unwrap();
        assert_eq!(skipped.len(), 2, "{system:?}: offset without limit");
        let anonymous = messages
            .find_many(Query::new().filter(Message::AUTHOR_ID.eq(None)))
            .await
            .unwrap();
        assert_eq!(anonymous.len(), 1, "{system:?}: a None filter matches NULL");
        assert_eq!(anonymous[0].text, "quoted");
        assert_eq!(messages.count(Query::new()).await.unwrap(), 5);
        assert_eq!(
            messages
                .count(Query::new().filter(Message::AUTHOR_ID.eq(ann.id)))
                .await
                .unwrap(),
            4
        );
        assert_eq!(
            messages
                .find_first(Query::new().filter(Message::TEXT.eq("first")))
                .await
                .unwrap()
                .map(|message| message.id),
            Some(first.id.clone())
        );

        let edited = messages
            .update(
                first.id.clone(),
                MessageUpdate {
                    text: Some("edited".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (edited.text.as_str(), edited.room.as_str()),
            ("edited", "general")
        );
        assert_eq!(
            messages
                .update("missing".to_owned(), MessageUpdate::default())
                .await
                .unwrap(),
            None
        );
        let renamed = users
            .update(
                ann.id,
                UserUpdate {
                    display_name: Some(Some("Ann".into())),
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(renamed.display_name.as_deref(), Some("Ann"));

        assert!(messages.delete(first.id.clone()).await.unwrap());
        assert!(!messages.delete(first.id.clone()).await.unwrap());
        assert_eq!(messages.find(first.id).await.unwrap(), None);

        // Constraints hold: unique usernames and foreign keys.
        let duplicate = users.create(user("ann")).await.unwrap_err();
        assert!(duplicate.is_unique_violation(), "{system:?}: {duplicate}");
        let orphan = messages
            .create(message("orphan", None, Some(999_999)))
            .await;
        assert!(orphan.is_err(), "{system:?}: foreign keys are enforced");

        // Column names come from the schema only: a typo in an untyped column is an error,
        // never SQL.
        let typo = database
            .find_rows(
                Message::schema(),
                Query::new().filter(Column::<Row, Value>::named("room\" OR 1=1 --").eq("x")),
            )
            .await
            .unwrap_err();
        assert!(matches!(typo, DbError::UnknownColumn { .. }), "{typo}");
        // Values are parameters: quotes in values are just text.
        let tricky = messages
            .create(message("it's'; DROP TABLE \"Message\"; --", None, None))
            .await
            .unwrap();
        assert_eq!(
            messages.find(tricky.id).await.unwrap().unwrap().text,
            "it's'; DROP TABLE \"Message\"; --"
        );
        database.close().await;
    }
}

#[tokio::test]
async fn transactions_commit_or_roll_back_together() {
    let (databases, _directory) = common::fresh_databases().await;
    for database in databases {
        migrate(&database, &[User::schema(), Message::schema()])
            .await
            .unwrap();
        let mut transaction = database.begin().await.unwrap();
        let bea = transaction
            .table::<User>()
            .create(user("bea"))
            .await
            .unwrap();
        transaction
            .table::<Message>()
            .create(message("inside", None, Some(bea.id)))
            .await
            .unwrap();
        assert_eq!(
            transaction
                .table::<Message>()
                .count(Query::new())
                .await
                .unwrap(),
            1
        );
        transaction.rollback().await.unwrap();
        assert_eq!(
            database.table::<User>().count(Query::new()).await.unwrap(),
            0
        );
        assert_eq!(
            database
                .table::<Message>()
                .count(Query::new())
                .await
                .unwrap(),
            0
        );

        {
            let mut dropped = database.begin().await.unwrap();
            dropped
                .table::<User>()
                .create(user("dropped"))
                .await
                .unwrap();
        }
        assert_eq!(
            database.table::<User>().count(Query::new()).await.unwrap(),
            0,
            "dropping rolls back"
        );

        let mut transaction = database.begin().await.unwrap();
        let cy = transaction
            .table::<User>()
            .create(user("cy"))
            .await
            .unwrap();
        let note = transaction
            .table::<Message>()
            .create(message("kept", None, Some(cy.id)))
            .await
            .unwrap();
        transaction
            .table::<Message>()
            .update(
                note.id.clone(),
                MessageUpdate {
                    room: Some("archive".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        transaction.commit().await.unwrap();
        let stored = database
            .table::<Message>()
            .find(note.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.room, "archive");
        database.close().await;
    }
}

fn note_v1() -> TableSchema {
    TableSchema::new("Note")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("text", SqlType::Text))
        .column(ColumnSchema::new("legacy", SqlType::Text).nullable())
}

async fn insert_notes(database: &Database) {
    for text in ["one", "two"] {
        common::execute_with_text(
            database,
            "INSERT INTO \"Note\" (text, legacy) VALUES (?, 'old')",
            "INSERT INTO \"Note\" (text, legacy) VALUES ($1, 'old')",
            text,
        )
        .await;
    }
}

#[tokio::test]
async fn additive_migrations_keep_existing_rows() {
    let (databases, _directory) = common::fresh_databases().await;
    for database in databases {
        let system = database.system();
        let report = migrate(&database, &[&note_v1()]).await.unwrap();
        assert_eq!(report.created_tables, ["Note"]);
        insert_notes(&database).await;

        let note_v2 = note_v1()
            .column(
                ColumnSchema::new("pinned", SqlType::Boolean)
                    .default(ColumnDefault::Value(Value::Bool(false))),
            )
            .column(
                ColumnSchema::new("room", SqlType::Text)
                    .default(ColumnDefault::Value(Value::from("it's general"))),
            )
            .column(ColumnSchema::new("editedAt", SqlType::DateTime).default(ColumnDefault::Now))
            .column(ColumnSchema::new("slug", SqlType::Text).nullable().unique())
            .column(ColumnSchema::new("score", SqlType::Float).nullable());
        let tag = TableSchema::new("Tag")
            .column(
                ColumnSchema::new("id", SqlType::Text)
                    .primary_key()
                    .default(ColumnDefault::Uuid),
            )
            .column(ColumnSchema::new("noteId", SqlType::Integer).references("Note", "id"));
        let report = migrate(&database, &[&note_v2, &tag]).await.unwrap();
        assert_eq!(report.created_tables, ["Tag"], "{system:?}");
        assert_eq!(
            report.added_columns,
            [
                "Note.pinned",
                "Note.room",
                "Note.editedAt",
                "Note.slug",
                "Note.score"
            ],
            "{system:?}"
        );

        let rows = read_notes(&database, &note_v2).await;
        assert_eq!(rows.len(), 2, "{system:?}: existing rows are kept");
        for row in &rows {
            assert!(!row.get::<bool>("pinned").unwrap());
            assert_eq!(row.get::<String>("room").unwrap(), "it's general");
            assert_eq!(
                row.get::<Option<String>>("legacy").unwrap().as_deref(),
                Some("old")
            );
            assert_eq!(row.get::<Option<String>>("slug").unwrap(), None);
            row.get::<chrono::DateTime<chrono::Utc>>("editedAt")
                .unwrap();
        }
        // The new unique column is unique.
        let set_slug = |id: i64| format!("UPDATE \"Note\" SET slug = 'same' WHERE id = {id}");
        let first = common::execute_sql(&database, &set_slug(1)).await;
        let second = common::execute_sql(&database, &set_slug(2)).await;
        assert!(
            first.is_ok() && second.is_err(),
            "{system:?}: unique index on the added column"
        );

        let again = migrate(&database, &[&note_v2, &tag]).await.unwrap();
        assert!(
            again.is_empty(),
            "{system:?}: a second run changes nothing: {again:?}"
        );
        database.close().await;
    }
}

/// Reads every row of a table, ordered by id, through the untyped access.
async fn read_notes(database: &Database, schema: &TableSchema) -> Vec<appc_runtime::Row> {
    database
        .find_rows(
            schema,
            Query::new().order_by(Column::<Row, Value>::named("id").asc()),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn destructive_migrations_are_refused_and_nothing_is_applied() {
    let (databases, _directory) = common::fresh_databases().await;
    for database in databases {
        let system = database.system();
        migrate(&database, &[&note_v1()]).await.unwrap();
        insert_notes(&database).await;

        // `legacy` dropped, `text` retyped, a required column without default added, and a new
        // table that must not be created because the whole migration is refused.
        let mut note_v2 = TableSchema::new("Note")
            .column(common::autoincrement_id())
            .column(ColumnSchema::new("text", SqlType::Integer))
            .column(ColumnSchema::new("title", SqlType::Text));
        let extra = TableSchema::new("Extra")
            .column(ColumnSchema::new("id", SqlType::Integer).primary_key());
        let error = migrate(&database, &[&note_v2, &extra]).await.unwrap_err();
        let MigrationError::Destructive { problems } = &error else {
            panic!("{error}")
        };
        assert_eq!(problems.len(), 3, "{system:?}: {error}");
        let message = error.to_string();
        assert!(
            message
                .starts_with("refusing to change the database schema because data would be lost"),
            "{message}"
        );
        assert!(message.contains("column `Note.legacy` exists in the database but not in the spec; dropping it would lose its 2 stored values"), "{message}");
        assert!(message.contains("column `Note.text` is"), "{message}");
        assert!(
            message.contains("retyping it could lose or change its 2 stored values"),
            "{message}"
        );
        assert!(message.contains("column `Note.title` is new and required without a default, so the 2 existing rows would have no value"), "{message}");

        let tables_named_extra = match system {
            DbSystem::Sqlite => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'Extra'",
            )
            .fetch_one(database.sqlite_pool().unwrap())
            .await
            .unwrap(),
            DbSystem::Postgres => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'Extra'",
            )
            .fetch_one(database.postgres_pool().unwrap())
            .await
            .unwrap(),
        };
        assert_eq!(
            tables_named_extra, 0,
            "{system:?}: nothing is applied when anything is refused"
        );
        let rows = read_notes(&database, &note_v1()).await;
        assert_eq!(rows.len(), 2, "{system:?}: the data is untouched");
        assert_eq!(
            rows[0].get::<Option<String>>("legacy").unwrap().as_deref(),
            Some("old")
        );

        // A required column without default is fine while the table is empty.
        common::execute_sql(&database, "DELETE FROM \"Note\"")
            .await
            .unwrap();
        note_v2 = note_v1().column(ColumnSchema::new("title", SqlType::Text));
        let report = migrate(&database, &[&note_v2]).await.unwrap();
        assert_eq!(report.added_columns, ["Note.title"], "{system:?}");
        database.close().await;
    }
}

#[tokio::test]
async fn updated_at_columns_follow_every_update_and_sqlite_runs_in_wal_mode() {
    let (databases, _directory) = common::fresh_databases().await;
    let draft = TableSchema::new("Draft")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("text", SqlType::Text))
        .column(ColumnSchema::new("updatedAt", SqlType::DateTime).updated_at());
    for database in databases {
        let system = database.system();
        if system == DbSystem::Sqlite {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(database.sqlite_pool().unwrap())
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(database.sqlite_pool().unwrap())
                .await
                .unwrap();
            assert_eq!(foreign_keys, 1);
        }
        migrate(&database, &[&draft]).await.unwrap();
        let insert = match system {
            DbSystem::Sqlite => {
                "INSERT INTO \"Draft\" (text, \"updatedAt\") VALUES ('a', '2020-01-01T00:00:00.000000Z')"
            }
            DbSystem::Postgres => {
                "INSERT INTO \"Draft\" (text, \"updatedAt\") VALUES ('a', '2020-01-01T00:00:00Z')"
            }
        };
        common::execute_sql(&database, insert).await.unwrap();
        let before = database.find_rows(&draft, Query::new()).await.unwrap();
        let old: chrono::DateTime<chrono::Utc> = before[0].get("updatedAt").unwrap();
        assert_eq!(old.to_rfc3339(), "2020-01-01T00:00:00+00:00", "{system:?}");
        common::execute_sql(&database, "UPDATE \"Draft\" SET text = 'b'")
            .await
            .unwrap();
        // Raw SQL does not touch it; typed updates do.
        struct Draft;
        struct Changes(Vec<(&'static str, Value)>);
        impl appc_runtime::codegen::IntoColumns for Changes {
            fn into_columns(self) -> Vec<(&'static str, Value)> {
                self.0
            }
        }
        static DRAFT: std::sync::LazyLock<TableSchema> = std::sync::LazyLock::new(|| {
            TableSchema::new("Draft")
                .column(common::autoincrement_id())
                .column(ColumnSchema::new("text", SqlType::Text))
                .column(ColumnSchema::new("updatedAt", SqlType::DateTime).updated_at())
        });
        impl Entity for Draft {
            type Id = i64;
            type New = Changes;
            type Update = Changes;
            fn schema() -> &'static TableSchema {
                &DRAFT
            }
            fn from_row(_: &appc_runtime::Row) -> Result<Self, DbError> {
                Ok(Draft)
            }
        }
        let drafts = database.table::<Draft>();
        drafts
            .update(1, Changes(vec![("text", Value::from("c"))]))
            .await
            .unwrap()
            .unwrap();
        let after = database.find_rows(&draft, Query::new()).await.unwrap();
        let new: chrono::DateTime<chrono::Utc> = after[0].get("updatedAt").unwrap();
        assert!(
            new > chrono::Utc::now() - chrono::Duration::seconds(30),
            "{system:?}: {new}"
        );
        // An update that sets the column itself wins.
        let chosen = chrono::DateTime::parse_from_rfc3339("2030-05-06T07:08:09Z")
            .unwrap()
            .to_utc();
        drafts
            .update(1, Changes(vec![("updatedAt", Value::from(chosen))]))
            .await
            .unwrap()
            .unwrap();
        let chosen_row = database.find_rows(&draft, Query::new()).await.unwrap();
        assert_eq!(
            chosen_row[0]
                .get::<chrono::DateTime<chrono::Utc>>("updatedAt")
                .unwrap(),
            chosen
        );
        // Inserts fill it too.
        drafts
            .create(Changes(vec![("text", Value::from("new"))]))
            .await
            .unwrap();
        let inserted = database
            .find_rows(
                &draft,
                Query::new().filter(Column::<Row, String>::named("text").eq("new")),
            )
            .await
            .unwrap();
        inserted[0]
            .get::<chrono::DateTime<chrono::Utc>>("updatedAt")
            .unwrap();
        database.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_server_starts_migrate_one_after_the_other() {
    let directory = tempfile::tempdir().unwrap();
    let mut urls = vec![format!(
        "sqlite://{}",
        directory.path().join("shared.db").display()
    )];
    urls.extend(common::fresh_postgres_url().await);
    for url in urls {
        // Two pools stand for two server processes starting at the same time.
        let first = Database::connect(&url).await.unwrap();
        let second = Database::connect(&url).await.unwrap();
        let tables = [User::schema(), Message::schema()];
        let (first_report, second_report) =
            tokio::join!(migrate(&first, &tables), migrate(&second, &tables));
        let mut created = [
            first_report.unwrap().created_tables,
            second_report.unwrap().created_tables,
        ];
        created.sort();
        assert_eq!(
            created,
            [vec![], vec!["User".to_owned(), "Message".to_owned()]],
            "{url}"
        );
    }
}

/// Many concurrent writes, as a chat under load makes them: they are applied by the group-commit
/// writer in shared transactions. Each write must still succeed or fail on its
/// own (a taken username or a missing author fails only that write), and a write that
/// returned must be visible to every later read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_succeed_or_fail_one_by_one() {
    let (databases, directory) = common::fresh_databases().await;
    let sqlite_url = format!("sqlite://{}", directory.path().join("test.db").display());
    for database in databases {
        let system = database.system();
        migrate(&database, &[User::schema(), Message::schema()])
            .await
            .unwrap();
        let users = database.table::<User>();
        let author = users.create(user("author")).await.unwrap();

        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..400_i64 {
            let database = database.clone();
            tasks.spawn(async move {
                let messages = database.table::<Message>();
                let users = database.table::<User>();
                // Every tenth write names a user that does not exist, every seventh is a user
                // whose name is taken; the others must all be stored.
                let outcome = if index % 10 == 0 {
                    messages
                        .create(message("orphan", None, Some(1_000_000 + index)))
                        .await
                        .map(|created| created.id)
                } else if index % 7 == 0 {
                    users
                        .create(user("author"))
                        .await
                        .map(|created| created.id.to_string())
                } else {
                    messages
                        .create(message(&format!("message {index}"), None, Some(author.id)))
                        .await
                        .map(|created| created.id)
                };
                if let Ok(id) = &outcome
                    && index % 7 != 0
                {
                    // Read-your-writes through another (pooled) connection.
                    let found = database.table::<Message>().find(id.clone()).await.unwrap();
                    assert!(
                        found.is_some(),
                        "message {index} is not readable after create"
                    );
                }
                (index, outcome)
            });
        }
        let mut stored = 0;
        while let Some(joined) = tasks.join_next().await {
            let (index, outcome) = joined.unwrap();
            if index % 10 == 0 {
                let error = outcome.expect_err("a message by a missing author was stored");
                assert!(
                    error.to_string().to_lowercase().contains("foreign key"),
                    "{system:?}: {error}"
                );
            } else if index % 7 == 0 {
                let error = outcome.expect_err("a taken username was stored twice");
                assert!(error.is_unique_violation(), "{system:?}: {error}");
            } else {
                outcome.unwrap_or_else(|error| panic!("{system:?}: write {index} failed: {error}"));
                stored += 1;
            }
        }
        let messages = database.table::<Message>();
        assert_eq!(
            messages.count(Query::new()).await.unwrap(),
            stored,
            "{system:?}"
        );
        assert_eq!(users.count(Query::new()).await.unwrap(), 1, "{system:?}");

        // Updates and deletes go the same way.
        let all = messages.find_many(Query::new()).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, row) in all.into_iter().enumerate() {
            let messages = messages.clone();
            tasks.spawn(async move {
                if index % 2 == 0 {
                    assert!(messages.delete(row.id).await.unwrap());
                } else {
                    let update = MessageUpdate {
                        text: Some("edited".to_owned()),
                        ..Default::default()
                    };
                    let updated = messages.update(row.id, update).await.unwrap().unwrap();
                    assert_eq!(updated.text, "edited");
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.unwrap();
        }
        assert_eq!(
            messages
                .count(Query::new().filter(Message::TEXT.eq("edited")))
                .await
                .unwrap(),
            stored / 2,
            "{system:?}"
        );
        assert_eq!(
            messages.count(Query::new()).await.unwrap(),
            stored / 2,
            "{system:?}"
        );

        // Closing applies what is queued; writes after it fail instead of hanging. `join!` polls
        // the write first, so it is queued in the writer when `close` starts.
        let pending = messages.create(message("last", None, Some(author.id)));
        let (created, ()) = tokio::join!(pending, database.close());
        let created = created.expect("the write queued before close was applied");
        assert_eq!(created.text, "last");
        // Stored for good, not only answered: a new connection to the SQLite file finds it (on
        // PostgreSQL, the writer's own tests show that an answered write is committed).
        if system == DbSystem::Sqlite {
            let reopened = Database::connect(&sqlite_url).await.unwrap();
            let stored_last = reopened
                .table::<Message>()
                .count(Query::new().filter(Message::TEXT.eq("last")))
                .await
                .unwrap();
            assert_eq!(stored_last, 1, "the flushed write is in the database file");
            reopened.close().await;
        }
        assert!(
            messages
                .create(message("too late", None, None))
                .await
                .is_err(),
            "{system:?}: a write after close succeeded"
        );
    }
}

/// A write that fails for a reason other than a constraint (here: its table was never created)
/// makes the group-commit writer roll its batch back and apply the other writes one by one;
/// each of them must then be stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_does_not_lose_or_repeat_the_others() {
    let (databases, _directory) = common::fresh_databases().await;
    for database in databases {
        let system = database.system();
        // Only the user table exists, so every message insert fails with "no such table".
        migrate(&database, &[User::schema()]).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..300 {
            let database = database.clone();
            tasks.spawn(async move {
                if index % 3 == 0 {
                    let created = database
                        .table::<Message>()
                        .create(message("nowhere", None, None))
                        .await;
                    (index, created.map(|_| ()))
                } else {
                    let created = database
                        .table::<User>()
                        .create(user(&format!("user {index}")))
                        .await;
                    (index, created.map(|_| ()))
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (index, outcome) = joined.unwrap();
            if index % 3 == 0 {
                assert!(outcome.is_err(), "{system:?}: message {index} was stored");
            } else {
                outcome.unwrap_or_else(|error| panic!("{system:?}: user {index} failed: {error}"));
            }
        }
        let users = database.table::<User>();
        assert_eq!(users.count(Query::new()).await.unwrap(), 200, "{system:?}");
        for index in (0..300).filter(|index| index % 3 != 0) {
            let stored = users
                .count(Query::new().filter(User::USERNAME.eq(format!("user {index}"))))
                .await
                .unwrap();
            assert_eq!(stored, 1, "{system:?}: user {index} stored {stored} times");
        }
    }
}
