//! The migration planner's SQL, run for real: a chain of specs (create, add a column, rename a
//! field, add a composite unique, make a field required with a default, drop a column) planned
//! step by step with `appc_core::migrations` and applied to SQLite and, when
//! `APPC_TEST_POSTGRES_URL` is set, to PostgreSQL, checking after every step that the rows are
//! still there with the values they should have.
//!
//! Each file runs the way the runtime applies migrations: in one transaction, and on SQLite with
//! foreign keys off around it (checked with `PRAGMA foreign_key_check` before the commit), since
//! SQLite rebuilds tables and cannot switch foreign keys off inside a transaction.

use appc_core::analysis::MemoryFiles;
use appc_core::migrations::{MigrationPlan, PlanOptions, Rename, SchemaSnapshot, plan_migration};
use appc_core::{Stop, compile};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};

/// The snapshot of a spec made of `entities`.
fn snapshot(entities: &str) -> SchemaSnapshot {
    let source = format!("app Demo {{\n  title: \"Demo\"\n}}\n\n{entities}");
    let compiled = compile(source.as_bytes(), &MemoryFiles::new(), Stop::AfterAnalysis);
    let spec = compiled
        .spec
        .unwrap_or_else(|| panic!("the step's spec is valid: {:?}", compiled.diagnostics));
    SchemaSnapshot::from_spec(&spec)
}

/// The entities of every step: `Room` and the `Message` fields that step declares. Rooms are
/// referenced with `onDelete: Cascade`, so a rebuild that dropped a room would take its
/// messages along.
fn step_spec(message_fields: &str, room_name: &str) -> String {
    format!(
        "entity Room {{=psl\n  id Int @id @default(autoincrement())\n  name String{room_name}\n  messages Message[]\npsl=}}\n\n\
         entity Message {{=psl\n  id Int @id @default(autoincrement())\n  roomId Int\n  room Room @relation(fields: [roomId], references: [id], onDelete: Cascade)\n{message_fields}psl=}}\n"
    )
}

struct Step {
    what: &'static str,
    plan: MigrationPlan,
}

/// The chain: each step planned from the one before.
fn steps() -> Vec<Step> {
    let specs = [
        ("create", step_spec("  text String\n", ""), Vec::new()),
        (
            "add an optional column",
            step_spec("  text String\n  topic String?\n", ""),
            Vec::new(),
        ),
        (
            "rename a field",
            step_spec("  body String\n  topic String?\n", ""),
            vec![Rename::Column {
                table: "Message".into(),
                from: "text".into(),
                to: "body".into(),
            }],
        ),
        (
            "add a composite unique",
            step_spec(
                "  body String\n  topic String?\n  @@unique([roomId, body])\n",
                "",
            ),
            Vec::new(),
        ),
        (
            "make a field required with a default (and rebuild the referenced table)",
            step_spec(
                "  body String\n  topic String @default(\"general\")\n  @@unique([roomId, body])\n",
                " @default(\"lobby\")",
            ),
            Vec::new(),
        ),
        (
            "drop a column",
            step_spec(
                "  body String\n  @@unique([roomId, body])\n",
                " @default(\"lobby\")",
            ),
            Vec::new(),
        ),
    ];
    let mut previous = SchemaSnapshot::empty();
    let mut steps = Vec::new();
    for (what, spec, renames) in specs {
        let next = snapshot(&spec);
        let plan = plan_migration(
            &previous,
            &next,
            &PlanOptions {
                renames,
                allow_destructive: true,
            },
        );
        assert!(!plan.is_empty(), "step `{what}` changes something");
        assert!(plan.warnings.is_empty(), "{what}: {:?}", plan.warnings);
        steps.push(Step { what, plan });
        previous = next;
    }
    // Only the last step loses data, and it says so.
    for step in &steps[..steps.len() - 1] {
        assert!(
            step.plan.destructive.is_empty(),
            "{}: {:?}",
            step.what,
            step.plan.destructive
        );
    }
    let last = &steps[steps.len() - 1].plan;
    assert_eq!(
        last.destructive,
        vec!["column `Message.topic` is dropped with all its values"]
    );
    steps
}

/// A statement of the test's own (not of a migration).
fn sql(text: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(text.to_owned())
}

const MESSAGES: &str = "SELECT \"id\", \"roomId\", \"body\" FROM \"Message\" ORDER BY \"id\"";

async fn apply_sqlite(connection: &mut SqliteConnection, step: &Step) {
    sqlx::raw_sql(sql("PRAGMA foreign_keys = OFF"))
        .execute(&mut *connection)
        .await
        .unwrap();
    let mut transaction = connection.begin().await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(step.plan.sqlite.clone()))
        .execute(&mut *transaction)
        .await
        .unwrap_or_else(|error| panic!("{}: {error}\n{}", step.what, step.plan.sqlite));
    let broken: Vec<(String,)> =
        sqlx::query_as(sql("SELECT \"table\" FROM pragma_foreign_key_check"))
            .fetch_all(&mut *transaction)
            .await
            .unwrap();
    assert!(
        broken.is_empty(),
        "{}: broken references {broken:?}",
        step.what
    );
    transaction.commit().await.unwrap();
    sqlx::raw_sql(sql("PRAGMA foreign_keys = ON"))
        .execute(&mut *connection)
        .await
        .unwrap();
}

/// Applies `step`'s PostgreSQL file in one transaction, as the runtime does.
async fn apply_postgres(connection: &mut PgConnection, step: &Step) {
    let mut transaction = connection.begin().await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(step.plan.postgres.clone()))
        .execute(&mut *transaction)
        .await
        .unwrap_or_else(|error| panic!("{}: {error}\n{}", step.what, step.plan.postgres));
    transaction.commit().await.unwrap();
}

/// A connection to the `APPC_TEST_POSTGRES_URL` server whose search path is a fresh schema
/// named `<schema_prefix>_<process id>` (so that runs never meet each other's tables), and that
/// schema's name; `None`, with a loud notice naming `what` was skipped, when the variable is unset.
async fn postgres_in_own_schema(what: &str, schema_prefix: &str) -> Option<(PgConnection, String)> {
    let Some(url) = std::env::var("APPC_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!(
            "\n*** skipped: {what}; set APPC_TEST_POSTGRES_URL (tests/support/start-postgres.sh prints one) ***\n"
        );
        return None;
    };
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let schema = format!("{schema_prefix}_{}", std::process::id());
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"
    )))
    .execute(&mut connection)
    .await
    .unwrap();
    Some((connection, schema))
}

/// A connection to either system, so that the checks of the chain both systems share are
/// written once.
enum Db<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Db<'_> {
    /// Applies `step`'s migration the way the runtime does on this system.
    async fn apply(&mut self, step: &Step) {
        match self {
            Db::Sqlite(connection) => apply_sqlite(connection, step).await,
            Db::Postgres(connection) => apply_postgres(connection, step).await,
        }
    }

    /// Runs statements of the test's own.
    async fn execute(&mut self, text: &str) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(connection) => sqlx::raw_sql(sql(text))
                .execute(&mut **connection)
                .await
                .map(drop),
            Db::Postgres(connection) => sqlx::raw_sql(sql(text))
                .execute(&mut **connection)
                .await
                .map(drop),
        }
    }

    /// Every message's id, room and body, in id order.
    async fn messages(&mut self) -> Vec<(i64, i64, String)> {
        match self {
            Db::Sqlite(connection) => {
                sqlx::query_as(sql(MESSAGES))
                    .fetch_all(&mut **connection)
                    .await
            }
            Db::Postgres(connection) => {
                sqlx::query_as(sql(MESSAGES))
                    .fetch_all(&mut **connection)
                    .await
            }
        }
        .unwrap()
    }

    /// Every message's id and topic, in id order.
    async fn topics(&mut self) -> Vec<(i64, String)> {
        let topics = sql("SELECT \"id\", \"topic\" FROM \"Message\" ORDER BY \"id\"");
        match self {
            Db::Sqlite(connection) => sqlx::query_as(topics).fetch_all(&mut **connection).await,
            Db::Postgres(connection) => sqlx::query_as(topics).fetch_all(&mut **connection).await,
        }
        .unwrap()
    }
}

/// The chain's first five steps (create, add a column, rename a field, add a composite unique,
/// make a field required with a default), checking the rows after each.
async fn chain_through_a_required_default(mut db: Db<'_>, steps: &[Step]) {
    // create
    db.apply(&steps[0]).await;
    db.execute(
        "INSERT INTO \"Room\" (\"name\") VALUES ('lobby'), ('games');
         INSERT INTO \"Message\" (\"roomId\", \"text\") VALUES (1, 'hello'), (2, 'gg');",
    )
    .await
    .unwrap();
    // add an optional column: old rows get NULL
    db.apply(&steps[1]).await;
    db.execute(
        "INSERT INTO \"Message\" (\"roomId\", \"text\", \"topic\") VALUES (1, 'news', 'press');",
    )
    .await
    .unwrap();
    // rename a field: the values follow
    db.apply(&steps[2]).await;
    assert_eq!(
        db.messages().await,
        vec![
            (1, 1, "hello".into()),
            (2, 2, "gg".into()),
            (3, 1, "news".into())
        ]
    );
    // add a composite unique: enforced afterwards
    db.apply(&steps[3]).await;
    let duplicate = db
        .execute("INSERT INTO \"Message\" (\"roomId\", \"body\") VALUES (1, 'hello')")
        .await;
    assert!(
        duplicate.is_err(),
        "the unique index refuses a repeated (roomId, body)"
    );
    // required with a default: NULLs get it, set values stay, no message is lost to the cascade
    db.apply(&steps[4]).await;
    assert_eq!(
        db.topics().await,
        vec![
            (1, "general".into()),
            (2, "general".into()),
            (3, "press".into())
        ]
    );
}

/// The chain's last step: drop a column (destructive), and the rest of the rows stay.
async fn drop_a_column(mut db: Db<'_>, steps: &[Step]) {
    db.apply(&steps[5]).await;
    assert_eq!(
        db.messages().await,
        vec![
            (1, 1, "hello".into()),
            (2, 2, "gg".into()),
            (3, 1, "news".into())
        ]
    );
}

#[tokio::test]
async fn the_chain_keeps_the_data_on_sqlite() {
    let steps = steps();
    let mut db = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    sqlx::raw_sql(sql("PRAGMA foreign_keys = ON"))
        .execute(&mut db)
        .await
        .unwrap();
    chain_through_a_required_default(Db::Sqlite(&mut db), &steps).await;
    let rooms: Vec<(i64, String)> =
        sqlx::query_as(sql("SELECT \"id\", \"name\" FROM \"Room\" ORDER BY \"id\""))
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(rooms, vec![(1, "lobby".into()), (2, "games".into())]);
    // The unique index was created again with the rebuilt table.
    let duplicate = sqlx::raw_sql(sql(
        "INSERT INTO \"Message\" (\"roomId\", \"body\") VALUES (1, 'hello')",
    ))
    .execute(&mut db)
    .await;
    assert!(
        duplicate.is_err(),
        "the rebuilt table keeps its unique index"
    );
    // Inserting without the column now takes the default; the cascade still works.
    sqlx::raw_sql(sql("INSERT INTO \"Room\" DEFAULT VALUES"))
        .execute(&mut db)
        .await
        .unwrap();
    drop_a_column(Db::Sqlite(&mut db), &steps).await;
    let columns: Vec<(String,)> =
        sqlx::query_as(sql("SELECT name FROM pragma_table_info('Message')"))
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert!(!columns.iter().any(|(name,)| name == "topic"));
    // A default of now() is the database's clock, in the text form the runtime reads.
    let now: (String,) = sqlx::query_as(sql("SELECT strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')"))
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(chrono_like_rfc3339(&now.0), "{}", now.0);
    // Foreign keys are on again and hold.
    sqlx::raw_sql(sql("DELETE FROM \"Room\" WHERE \"id\" = 2"))
        .execute(&mut db)
        .await
        .unwrap();
    let left: (i64,) = sqlx::query_as(sql("SELECT COUNT(*) FROM \"Message\""))
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(left.0, 2, "deleting a room cascades to its messages");
}
/// `2026-01-02T03:04:05.678000Z`: RFC 3339 in UTC with six fractional digits, as the runtime
/// writes timestamps (and parses them back).
fn chrono_like_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 27
        && bytes[4] == b'-'
        && bytes[10] == b'T'
        && bytes[19] == b'.'
        && text.ends_with("000Z")
        && text[..4].chars().all(|c| c.is_ascii_digit())
}

#[tokio::test]
async fn the_chain_keeps_the_data_on_postgres() {
    let Some((mut db, schema)) =
        postgres_in_own_schema("PostgreSQL half of the migration chain", "appc_migrations").await
    else {
        return;
    };
    let steps = steps();
    chain_through_a_required_default(Db::Postgres(&mut db), &steps).await;
    drop_a_column(Db::Postgres(&mut db), &steps).await;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut db)
        .await
        .unwrap();
}

/// A table renamed with `@@map` and the rename option keeps its rows, and its constraints
/// follow the new name: a later migration that drops the `@unique` of a column finds it.
fn rename_steps() -> Vec<Step> {
    let entities = |map: &str, unique: &str| {
        format!(
            "entity Room {{=psl\n  id Int @id @default(autoincrement())\n  messages Message[]\npsl=}}\n\n\
             entity Message {{=psl\n  id Int @id @default(autoincrement())\n  code String{unique}\n  roomId Int\n  room Room @relation(fields: [roomId], references: [id])\n{map}psl=}}\n"
        )
    };
    let chain = [
        ("create", entities("", " @unique"), Vec::new()),
        (
            "rename the table",
            entities("  @@map(\"messages\")\n", " @unique"),
            vec![Rename::Table {
                from: "Message".into(),
                to: "messages".into(),
            }],
        ),
        (
            "drop the unique",
            entities("  @@map(\"messages\")\n", ""),
            Vec::new(),
        ),
    ];
    let mut previous = SchemaSnapshot::empty();
    let mut steps = Vec::new();
    for (what, spec, renames) in chain {
        let next = snapshot(&spec);
        let plan = plan_migration(
            &previous,
            &next,
            &PlanOptions {
                renames,
                allow_destructive: false,
            },
        );
        assert!(
            plan.destructive.is_empty(),
            "{what}: {:?}",
            plan.destructive
        );
        steps.push(Step { what, plan });
        previous = next;
    }
    steps
}

const SEED: &str = "INSERT INTO \"Room\" DEFAULT VALUES; INSERT INTO \"Message\" (\"code\", \"roomId\") VALUES ('a', 1);";
const REPEAT: &str = "INSERT INTO \"messages\" (\"code\", \"roomId\") VALUES ('a', 1)";

#[tokio::test]
async fn a_renamed_table_keeps_its_rows_and_constraints_on_sqlite() {
    let steps = rename_steps();
    let mut db = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    apply_sqlite(&mut db, &steps[0]).await;
    sqlx::raw_sql(sql(SEED)).execute(&mut db).await.unwrap();
    apply_sqlite(&mut db, &steps[1]).await;
    assert!(sqlx::raw_sql(sql(REPEAT)).execute(&mut db).await.is_err());
    apply_sqlite(&mut db, &steps[2]).await;
    sqlx::raw_sql(sql(REPEAT)).execute(&mut db).await.unwrap();
    let count: (i64,) = sqlx::query_as(sql("SELECT COUNT(*) FROM \"messages\""))
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(count.0, 2);
}

#[tokio::test]
async fn a_renamed_table_keeps_its_rows_and_constraints_on_postgres() {
    let Some((mut db, schema)) =
        postgres_in_own_schema("PostgreSQL table rename", "appc_migrations_rename").await
    else {
        return;
    };
    let steps = rename_steps();
    for (position, step) in steps.iter().enumerate() {
        apply_postgres(&mut db, step).await;
        match position {
            0 => {
                sqlx::raw_sql(sql(SEED)).execute(&mut db).await.unwrap();
            }
            1 => assert!(sqlx::raw_sql(sql(REPEAT)).execute(&mut db).await.is_err()),
            _ => {
                sqlx::raw_sql(sql(REPEAT)).execute(&mut db).await.unwrap();
            }
        }
    }
    let constraints: Vec<(String,)> = sqlx::query_as(sql(
        "SELECT conname::text FROM pg_constraint WHERE conrelid = 'messages'::regclass ORDER BY conname",
    ))
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        constraints,
        vec![("messages_pkey".into(),), ("messages_roomId_fkey".into(),)]
    );
    sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut db)
        .await
        .unwrap();
}
