//! `appc db reset` end to end, and the two ways a schema is made agreeing on foreign keys, with
//! the real `appc` binary and the real generated server, on SQLite and (when
//! `APPC_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! One fixture project, `Room` and `Message` with `onDelete: Cascade`:
//! 1. built before it has migrations, its development server creates the tables with the
//!    additive migrator; `appc db migrate --name init` then writes the first migration and
//!    applies it to another database. Both have the same table SQL (`sqlite_master.sql`,
//!    PostgreSQL's `pg_get_constraintdef`), and deleting a room deletes its messages in both.
//! 2. `appc db reset` is refused without `--yes` off a terminal, with `APPC_ENV=production`
//!    and with an unknown `--seed`, each leaving the data alone; with `--yes` it empties the
//!    tables and records the migrations again, and `--seed NAME` runs the seed afterwards.

#[path = "support/app_server.rs"]
mod app_server;
#[path = "support/databases.rs"]
mod databases;

use std::path::Path;
use std::process::{Command, Output};

use app_server::{appc_command, built_project};
use databases::{Databases, fresh_postgres_url, text};

const SPEC: &str = r#"app ResetTest {
  wasp: { version: "^0.17.0" },
  title: "ResetTest",
  db: {
    seeds: [import { seed_lobby } from "@src/server/seeds.rs"]
  }
}

entity Room {=psl
  id       Int       @id @default(autoincrement())
  name     String    @unique
  messages Message[]
psl=}

entity Message {=psl
  id     Int    @id @default(autoincrement())
  text   String
  roomId Int
  room   Room   @relation(fields: [roomId], references: [id], onDelete: Cascade)
psl=}
"#;

const SEEDS: &str = r#"//! The seed `appc db reset --seed seed_lobby` runs.

use crate::app::entities::NewRoom;
use crate::app::server::{BoxError, ServerContext};

/// The room `lobby`.
pub async fn seed_lobby(ctx: ServerContext) -> Result<(), BoxError> {
    ctx.entities
        .room
        .create(NewRoom {
            name: "lobby".to_owned(),
            ..NewRoom::default()
        })
        .await?;
    Ok(())
}
"#;

fn write_project(project: &Path) {
    std::fs::write(project.join("main.wasp"), SPEC).unwrap();
    std::fs::create_dir_all(project.join("src/server")).unwrap();
    std::fs::write(project.join("src/server/seeds.rs"), SEEDS).unwrap();
}

/// `appc db <arguments>` on the database at `url` (`None`: the development database), with no
/// terminal and no `APPC_ENV` unless `extra` sets it.
fn appc_db(
    project: &Path,
    url: Option<&str>,
    arguments: &[&str],
    extra: &[(&str, &str)],
) -> Output {
    let mut full = vec!["db"];
    full.extend_from_slice(arguments);
    let mut command = appc_command(&full, project);
    command
        .env_remove("APPC_ENV")
        .stdin(std::process::Stdio::null());
    match url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    command.envs(extra.iter().copied());
    command.output().expect("the appc binary runs")
}

/// The built server's `migrate` in development mode on `url`: with no migrations, the additive
/// migrator creates the tables.
fn development_migrate(project: &Path, url: &str) -> String {
    let output = Command::new(project.join(".appc/build/server"))
        .arg("migrate")
        .current_dir(project)
        .env("DATABASE_URL", url)
        .env("APPC_ENV", "development")
        .env_remove("JWT_SECRET")
        .output()
        .unwrap();
    let text = text(&output);
    assert!(output.status.success(), "server migrate failed:\n{text}");
    text
}

/// The table's definition as the database keeps it: SQLite's `CREATE TABLE` text, or every
/// constraint of the table as PostgreSQL prints it.
fn table_definition(databases: &Databases, url: &str, table: &str) -> Vec<Option<String>> {
    if url.starts_with("sqlite:") {
        databases.column(
            url,
            &format!("SELECT \"sql\" FROM sqlite_master WHERE \"name\" = '{table}'"),
        )
    } else {
        databases.column(
            url,
            &format!(
                "SELECT conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '\"{table}\"'::regclass ORDER BY conname"
            ),
        )
    }
}

fn insert_room_with_messages(databases: &Databases, url: &str, room: &str) {
    databases.execute(
        url,
        &format!(
            "INSERT INTO \"Room\" (\"name\") VALUES ('{room}');\n\
             INSERT INTO \"Message\" (\"text\", \"roomId\") SELECT 'hello', \"id\" FROM \"Room\" WHERE \"name\" = '{room}';\n\
             INSERT INTO \"Message\" (\"text\", \"roomId\") SELECT 'again', \"id\" FROM \"Room\" WHERE \"name\" = '{room}';"
        ),
    );
}

fn count(databases: &Databases, url: &str, table: &str) -> String {
    databases.column(
        url,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM \"{table}\""),
    )[0]
    .clone()
    .unwrap()
}

fn some(items: &[&str]) -> Vec<Option<String>> {
    items.iter().map(|item| Some((*item).to_owned())).collect()
}

#[test]
fn both_migrators_agree_on_foreign_keys_and_a_reset_starts_the_database_over() {
    let directory = tempfile::tempdir().unwrap();
    let project = directory.path();
    write_project(project);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let additive = Databases {
        sqlite_url: format!("sqlite://{}", project.join("additive.db").display()),
        postgres_url: fresh_postgres_url(&runtime, "appc_reset_additive"),
        runtime,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let migrated = Databases {
        sqlite_url: format!("sqlite://{}", project.join(".appc/app.db").display()),
        postgres_url: fresh_postgres_url(&runtime, "appc_reset_migrated"),
        runtime,
    };

    // 1. The additive migrator (a build without migrations, in development mode)...
    built_project(project);
    for url in additive.urls() {
        let output = development_migrate(project, &url);
        assert!(output.contains("created table Message"), "{output}");
    }
    // ...and the first migration's SQL, applied by `appc db migrate` to the development
    // database and by the rebuilt server to PostgreSQL.
    let output = appc_db(project, None, &["migrate", "--name", "init"], &[]);
    assert!(output.status.success(), "{}", text(&output));
    if let Some(url) = &migrated.postgres_url {
        let output = appc_db(project, Some(url), &["migrate"], &[]);
        assert!(output.status.success(), "{}", text(&output));
    }
    for (additive_url, migrated_url) in additive.urls().iter().zip(migrated.urls()) {
        for table in ["Room", "Message"] {
            let made_additively = table_definition(&additive, additive_url, table);
            let made_by_migration = table_definition(&migrated, &migrated_url, table);
            assert_eq!(
                made_additively, made_by_migration,
                "{table} on {migrated_url}"
            );
        }
        let message = table_definition(&additive, additive_url, "Message");
        assert!(
            message.iter().flatten().any(|definition| definition
                .contains(r#"REFERENCES "Room"("id") ON DELETE CASCADE"#)
                || definition.contains(r#"REFERENCES "Room"(id) ON DELETE CASCADE"#)),
            "{message:?}"
        );
        // Deleting a room takes its messages along, in both databases.
        for (databases, url) in [
            (&additive, additive_url.as_str()),
            (&migrated, &migrated_url),
        ] {
            insert_room_with_messages(databases, url, "doomed");
            insert_room_with_messages(databases, url, "kept");
            databases.execute(url, "DELETE FROM \"Room\" WHERE \"name\" = 'doomed'");
            assert_eq!(count(databases, url, "Message"), "2", "{url}");
        }
    }

    // 2. The migrated databases hold two rooms and two messages. No terminal and no --yes,
    // APPC_ENV=production, or a seed that does not exist: refused, the data left alone.
    let dev = migrated.sqlite_url.as_str();
    let refused = appc_db(project, None, &["reset"], &[]);
    let refused_text = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{refused_text}");
    assert!(
        refused_text.contains("error: refusing to reset the development database (.appc/app.db) without confirmation: there is no terminal to ask on; pass --yes"),
        "{refused_text}"
    );
    let refused = appc_db(
        project,
        None,
        &["reset", "--yes"],
        &[("APPC_ENV", "production")],
    );
    let refused_text = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{refused_text}");
    assert!(
        refused_text.contains("refusing to reset the database: APPC_ENV=production is set"),
        "{refused_text}"
    );
    let refused = appc_db(
        project,
        None,
        &["reset", "--yes", "--seed", "seed_nothing"],
        &[],
    );
    let refused_text = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{refused_text}");
    assert!(
        refused_text.contains("has no seed `seed_nothing`"),
        "{refused_text}"
    );
    assert_eq!(count(&migrated, dev, "Message"), "2");

    // With --yes: every table dropped, the migration applied again, the tables empty.
    let migration = std::fs::read_dir(project.join("migrations"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .next()
        .unwrap();
    for url in migrated.urls() {
        let on_postgres = (url != dev).then_some(url.as_str());
        let output = appc_db(project, on_postgres, &["reset", "--yes"], &[]);
        let output_text = text(&output);
        assert!(output.status.success(), "{output_text}");
        assert!(
            output_text.contains("dropped 3 tables: `Message`, `Room`, `_appc_migrations`"),
            "{output_text}"
        );
        assert!(
            output_text.contains(&format!("applied migration `{migration}`")),
            "{output_text}"
        );
        assert_eq!(count(&migrated, &url, "Room"), "0", "{url}");
        assert_eq!(count(&migrated, &url, "Message"), "0", "{url}");
        assert_eq!(
            migrated.column(&url, "SELECT \"name\" FROM \"_appc_migrations\""),
            some(&[&migration]),
            "{url}"
        );

        // With --seed: the seed runs on the fresh tables.
        insert_room_with_messages(&migrated, &url, "stale");
        let output = appc_db(
            project,
            on_postgres,
            &["reset", "--yes", "--seed", "seed_lobby"],
            &[],
        );
        let output_text = text(&output);
        assert!(output.status.success(), "{output_text}");
        assert!(
            output_text.contains("seeded the database with `seed_lobby`"),
            "{output_text}"
        );
        assert_eq!(
            migrated.column(&url, "SELECT \"name\" FROM \"Room\" ORDER BY \"id\""),
            some(&["lobby"]),
            "{url}"
        );
        assert_eq!(count(&migrated, &url, "Message"), "0", "{url}");
    }
}
