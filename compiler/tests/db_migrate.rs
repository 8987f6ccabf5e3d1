//! Versioned migrations end to end, with the real `appc` binary and the real generated server,
//! on SQLite and (when `APPC_TEST_POSTGRES_URL` is set) PostgreSQL: one fixture project whose
//! `main.wasp` is rewritten between steps (create, add a column, rename a field, add a composite
//! unique, make a field required with a default, drop a field: refused without
//! `--allow-destructive`, applied with it), with rows inserted between steps that must survive
//! every one; `appc db status`; a production server applying a pending migration at start-up;
//! and production servers refusing a database ahead of the build, one whose applied migration
//! changed, and one whose schema lacks a declared column.
//!
//! `appc db migrate` applies to the project's development database (`.appc/app.db`); the same
//! built server's `migrate` command applies each step to the PostgreSQL database too.

#[path = "support/app_server.rs"]
mod app_server;
#[path = "support/databases.rs"]
mod databases;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use app_server::{JWT_SECRET, appc_command, free_port};
use databases::{Databases, fresh_postgres_url, text};

const HEADER: &str =
    "app MigrateTest {\n  wasp: { version: \"^0.17.0\" },\n  title: \"MigrateTest\"\n}\n\n";

/// The `Note` entity at each step.
const STEPS: [&str; 6] = [
    "  id   Int    @id @default(autoincrement())\n  text String\n",
    "  id   Int     @id @default(autoincrement())\n  text String\n  room String?\n",
    "  id   Int     @id @default(autoincrement())\n  body String\n  room String?\n",
    "  id   Int     @id @default(autoincrement())\n  body String\n  room String?\n  @@unique([body, room])\n",
    "  id   Int     @id @default(autoincrement())\n  body String\n  room String  @default(\"general\")\n  @@unique([body, room])\n",
    "  id   Int     @id @default(autoincrement())\n  body String\n",
];

fn write_spec(project: &Path, note: &str, extra: &str) {
    std::fs::write(
        project.join("main.wasp"),
        format!("{HEADER}entity Note {{=psl\n{note}{extra}psl=}}\n"),
    )
    .unwrap();
}

/// `appc db <arguments>` on the project's development database.
fn appc_db(project: &Path, arguments: &[&str]) -> Output {
    let mut full = vec!["db"];
    full.extend_from_slice(arguments);
    appc_command(&full, project)
        .env_remove("DATABASE_URL")
        .env_remove("APPC_ENV")
        .output()
        .expect("the appc binary runs")
}

fn migrate_ok(project: &Path, arguments: &[&str]) -> String {
    let mut full = vec!["migrate"];
    full.extend_from_slice(arguments);
    let output = appc_db(project, &full);
    let text = text(&output);
    assert!(output.status.success(), "appc db migrate failed:\n{text}");
    text
}

fn migration_names(project: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.join("migrations"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The built server with `arguments`, in production mode, on the database at `url`.
fn server(project: &Path, url: &str) -> Command {
    let mut command = Command::new(project.join(".appc/build/server"));
    command
        .current_dir(project)
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("APPC_ENV", "production")
        .env("HOST", "127.0.0.1")
        .env("RUST_LOG", "info");
    command
}

fn server_migrate(project: &Path, url: &str) -> String {
    let output = server(project, url).arg("migrate").output().unwrap();
    let text = text(&output);
    assert!(output.status.success(), "server migrate failed:\n{text}");
    text
}

/// Starts the production server on `url`: `Ok(log)` once it listens (it is stopped then), or
/// `Err(log)` when it exits first.
fn start_server(project: &Path, url: &str) -> Result<String, String> {
    let port = free_port();
    let log_path = project.join(format!(".appc/server-{port}.log"));
    let mut child = server(project, url)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            assert_eq!(status.code(), Some(1), "{}", log());
            return Err(log());
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(log());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "the server neither listened nor exited within 30 s:\n{}",
        log()
    );
}

#[test]
fn migrations_are_written_applied_checked_and_refused_end_to_end() {
    let directory = tempfile::tempdir().unwrap();
    let project: PathBuf = directory.path().to_path_buf();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let postgres_url = fresh_postgres_url(&runtime, "appc_migrations");
    let databases = Databases {
        sqlite_url: format!("sqlite://{}", project.join(".appc/app.db").display()),
        postgres_url,
        runtime,
    };
    let apply_to_postgres = |databases: &Databases| {
        if let Some(url) = &databases.postgres_url {
            server_migrate(&project, url);
        }
    };

    // Create.
    write_spec(&project, STEPS[0], "");
    let output = migrate_ok(&project, &["--name", "init"]);
    assert!(output.contains("create table `Note`"), "{output}");
    assert!(output.contains("applied migration `"), "{output}");
    apply_to_postgres(&databases);
    for url in databases.urls() {
        databases.execute(&url, "INSERT INTO \"Note\" (\"text\") VALUES ('first')");
    }

    // Add a column.
    write_spec(&project, STEPS[1], "");
    let output = migrate_ok(&project, &["--name", "add room"]);
    assert!(output.contains("add column `Note.room`"), "{output}");
    apply_to_postgres(&databases);
    for url in databases.urls() {
        databases.execute(
            &url,
            "INSERT INTO \"Note\" (\"text\", \"room\") VALUES ('second', 'kitchen')",
        );
    }

    // Rename a field, keeping its data.
    write_spec(&project, STEPS[2], "");
    migrate_ok(
        &project,
        &["--name", "rename_text", "--rename", "Note.text=body"],
    );
    apply_to_postgres(&databases);

    // A composite unique.
    write_spec(&project, STEPS[3], "");
    migrate_ok(&project, &["--name", "unique_body_room"]);
    apply_to_postgres(&databases);

    // A field made required with a default: the rows without a value get it.
    write_spec(&project, STEPS[4], "");
    migrate_ok(&project, &["--name", "room_required"]);
    apply_to_postgres(&databases);
    for url in databases.urls() {
        assert_eq!(
            databases.column(
                &url,
                "SELECT \"body\" || '@' || \"room\" FROM \"Note\" ORDER BY \"id\""
            ),
            [
                Some("first@general".to_owned()),
                Some("second@kitchen".to_owned())
            ],
            "{url}"
        );
    }

    // Dropping a field is refused without the flag, says what it drops and writes nothing...
    write_spec(&project, STEPS[5], "");
    let before = migration_names(&project);
    let refused = appc_db(&project, &["migrate", "--name", "drop_room"]);
    let refused_text = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{refused_text}");
    assert!(
        refused_text.contains("These changes drop data, so no migration was written:"),
        "{refused_text}"
    );
    assert!(refused_text.contains("room"), "{refused_text}");
    assert!(
        refused_text.contains("--allow-destructive"),
        "{refused_text}"
    );
    assert_eq!(migration_names(&project), before);
    // ...and applied with it; the other data stays.
    migrate_ok(&project, &["--name", "drop_room", "--allow-destructive"]);
    apply_to_postgres(&databases);
    for url in databases.urls() {
        assert_eq!(
            databases.column(&url, "SELECT \"body\" FROM \"Note\" ORDER BY \"id\""),
            [Some("first".to_owned()), Some("second".to_owned())],
            "{url}"
        );
    }
    let names = migration_names(&project);
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(
        names[0].ends_with("_init") && names[1].ends_with("_add_room"),
        "{names:?}"
    );

    // Nothing changed: nothing written.
    let output = migrate_ok(&project, &[]);
    assert!(
        output.contains("No changes: the entities match the last migration"),
        "{output}"
    );
    assert_eq!(migration_names(&project).len(), 6);

    // A migration written but not applied (to add a data step by hand), then `appc db status`.
    write_spec(&project, STEPS[5], "  pinned Boolean @default(false)\n");
    let output = migrate_ok(&project, &["--name", "add_pinned", "--create-only"]);
    assert!(output.contains("Not applied (--create-only)"), "{output}");
    let pinned = migration_names(&project).pop().unwrap();
    let sqlite_file = project.join("migrations").join(&pinned).join("sqlite.sql");
    let mut sql = std::fs::read_to_string(&sqlite_file).unwrap();
    sql.push_str("\nUPDATE \"Note\" SET \"pinned\" = 1 WHERE \"body\" = 'first';\n");
    std::fs::write(&sqlite_file, sql).unwrap();
    let status = appc_db(&project, &["status"]);
    let status_text = text(&status);
    assert!(status.status.success(), "{status_text}");
    assert!(
        status_text.contains(&format!("pending:\n  {pinned}\n")),
        "{status_text}"
    );
    assert!(
        status_text.contains(&format!("applied:\n  {}  ", names[0])),
        "{status_text}"
    );
    assert!(
        status_text.contains("the entities match the last migration"),
        "{status_text}"
    );

    // A production server started on a database with a pending migration applies it (the
    // build `appc db status` made embeds it), with the hand-written data step.
    for url in databases.urls() {
        let log = start_server(&project, &url).unwrap_or_else(|log| panic!("{url}:\n{log}"));
        assert!(
            log.contains(&format!("applied migration `{pinned}`")),
            "{log}"
        );
    }
    assert_eq!(
        databases.column(
            &databases.sqlite_url,
            "SELECT \"body\" FROM \"Note\" WHERE \"pinned\" = 1"
        ),
        [Some("first".to_owned())]
    );

    for url in databases.urls() {
        // Ahead: the database recorded a migration this build does not have.
        databases.execute(
            &url,
            "INSERT INTO \"_appc_migrations\" (\"name\", \"checksum\") VALUES ('29990101000000_future', 'x')",
        );
        let log = start_server(&project, &url).expect_err("an ahead database is refused");
        assert!(
            log.contains("error: the database is ahead of this build: it has applied `29990101000000_future` which this server does not know; deploy the build that contains it"),
            "{log}"
        );
        databases.execute(
            &url,
            "DELETE FROM \"_appc_migrations\" WHERE \"name\" = '29990101000000_future'",
        );

        // Diverged: an applied migration's SQL is not what was applied.
        databases.execute(
            &url,
            &format!(
                "UPDATE \"_appc_migrations\" SET \"checksum\" = 'edited' || \"checksum\" WHERE \"name\" = '{}'",
                names[1]
            ),
        );
        let log = start_server(&project, &url).expect_err("a diverged database is refused");
        assert!(
            log.contains(&format!(
                "error: migration `{}` was changed after it was applied to this database",
                names[1]
            )),
            "{log}"
        );
        databases.execute(
            &url,
            &format!(
                "UPDATE \"_appc_migrations\" SET \"checksum\" = substr(\"checksum\", 7) WHERE \"name\" = '{}'",
                names[1]
            ),
        );
        start_server(&project, &url).expect("the restored history is accepted");

        // A schema that lacks a declared column: production never adds it by itself.
        databases.execute(&url, "ALTER TABLE \"Note\" DROP COLUMN \"pinned\"");
        let log = start_server(&project, &url).expect_err("a missing column is refused");
        assert!(
            log.contains("column `Note.pinned` is missing")
                && log.contains("run `appc db migrate`"),
            "{log}"
        );
    }
}
