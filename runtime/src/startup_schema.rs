//! What the server does with its database schema before it serves, and the binary's
//! `migrate`, `migrate status` and `migrate reset` commands: which migrator runs in which mode, and the lines it
//! logs or prints about it. The migrators themselves live in `db/` (`versioned.rs`, `migrate.rs`).

use crate::config::Mode;
use crate::db::{
    Database, DbError, EmbeddedMigration, MigrationError, MigrationReport, MigrationStatus,
    RecordedReason, SchemaReport, TableSchema, drop_all_tables, migrate, migration_status,
    prepare_schema,
};

/// The migrations a server was built with: the generated server always has them (an empty
/// list when the project has no `migrations/` folder); a server assembled by hand without them
/// keeps its tables up to date additively in every mode.
pub(crate) type Migrations = Option<&'static [EmbeddedMigration]>;

/// Brings the schema up to date for serving, logging every change.
pub(crate) async fn prepare_for_serving(
    database: &Database,
    migrations: Migrations,
    tables: &[&TableSchema],
    mode: Mode,
) -> Result<(), MigrationError> {
    let Some(migrations) = migrations else {
        let report = migrate(database, tables).await?;
        log_additive_changes(&report, None);
        return Ok(());
    };
    let report = prepare_schema(database, migrations, tables, mode == Mode::Development).await?;
    for line in report_lines(&report) {
        tracing::info!("{line}");
    }
    log_additive_changes(
        &report.development_changes,
        Some("development: {} without a migration; run `appc db migrate` to create one"),
    );
    if !report.development_differences.is_empty() {
        tracing::warn!(
            "development: the database differs from the entities in ways `appc dev` does not change by itself:\n{}\nrun `appc db migrate` to write a migration for them",
            report
                .development_differences
                .iter()
                .map(|difference| format!("  - {difference}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

/// `server migrate`: applies the pending migrations (and in development the additive changes
/// they do not cover) and prints what it did on stdout.
pub(crate) async fn run_migrate_command(
    database: &Database,
    migrations: Migrations,
    tables: &[&TableSchema],
    mode: Mode,
) -> Result<(), MigrationError> {
    let migrations = migrations.unwrap_or_default();
    let report = prepare_schema(database, migrations, tables, mode == Mode::Development).await?;
    for line in report_lines(&report) {
        println!("{line}");
    }
    let changes = &report.development_changes;
    let additive = changes
        .created_tables
        .iter()
        .map(|table| format!("created table {table}"))
        .chain(
            changes
                .added_columns
                .iter()
                .map(|column| format!("added column {column}")),
        )
        .chain(
            changes
                .created_indexes
                .iter()
                .map(|index| format!("created index {index}")),
        );
    for change in additive {
        println!("development: {change} without a migration; run `appc db migrate` to create one");
    }
    for difference in &report.development_differences {
        println!("development: the database still differs from the entities: {difference}");
    }
    if report.applied.is_empty() && report.recorded.is_empty() {
        println!(
            "the database is up to date with the {} migrations of this build",
            migrations.len()
        );
    }
    Ok(())
}

/// `server migrate reset`: drops every table the app may own, says which, then applies every
/// migration as `server migrate` does. The caller refuses production mode first.
pub(crate) async fn run_reset_command(
    database: &Database,
    migrations: Migrations,
    tables: &[&TableSchema],
    mode: Mode,
) -> Result<(), MigrationError> {
    let dropped = drop_all_tables(database).await?;
    if dropped.is_empty() {
        println!("the database had no tables to drop");
    } else {
        let names: Vec<String> = dropped.iter().map(|name| format!("`{name}`")).collect();
        println!(
            "dropped {} {}: {}",
            dropped.len(),
            if dropped.len() == 1 {
                "table"
            } else {
                "tables"
            },
            names.join(", ")
        );
    }
    run_migrate_command(database, migrations, tables, mode).await
}

/// `server migrate status`: prints the applied and pending migrations and any problem.
/// Returns whether the database is fit for this build (not ahead, not diverged).
pub(crate) async fn print_status(
    database: &Database,
    migrations: Migrations,
    tables: &[&TableSchema],
) -> Result<bool, DbError> {
    let migrations = migrations.unwrap_or_default();
    let status = migration_status(database, migrations, tables).await?;
    print!("{}", status_text(&status));
    Ok(status.unknown.is_empty() && status.changed.is_empty())
}

/// The text of `server migrate status`.
fn status_text(status: &MigrationStatus) -> String {
    let mut text = String::new();
    if status.applied.is_empty() {
        text.push_str("applied: none\n");
    } else {
        text.push_str("applied:\n");
        for applied in &status.applied {
            let mark = if status.unknown.contains(&applied.name) {
                "  (unknown to this build: the database is ahead of it)"
            } else if status.changed.contains(&applied.name) {
                "  (changed since it was applied)"
            } else {
                ""
            };
            text.push_str(&format!(
                "  {}  {}{mark}\n",
                applied.name, applied.applied_at
            ));
        }
    }
    if status.pending.is_empty() {
        text.push_str("pending: none\n");
    } else {
        text.push_str("pending:\n");
        for name in &status.pending {
            text.push_str(&format!("  {name}\n"));
        }
    }
    if !status.unknown.is_empty() {
        text.push_str(&format!(
            "problem: {}\n",
            MigrationError::Ahead {
                names: status.unknown.clone()
            }
        ));
    }
    if !status.changed.is_empty() {
        text.push_str(&format!(
            "problem: {}\n",
            MigrationError::Diverged {
                names: status.changed.clone()
            }
        ));
    }
    if !status.differences.is_empty() {
        text.push_str("the schema differs from the entities (run `appc db migrate`):\n");
        for difference in &status.differences {
            text.push_str(&format!("  - {difference}\n"));
        }
    }
    text
}

/// One line per migration applied or recorded.
fn report_lines(report: &SchemaReport) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, reason) in &report.recorded {
        lines.push(match reason {
            RecordedReason::Baseline => format!(
                "the database was created before migrations and has the schema of `{name}`: recorded it as applied (baseline)"
            ),
            RecordedReason::AlreadyInDevelopmentDatabase => format!(
                "development: the database already has the schema of migration `{name}` (changes made without it): recorded it as applied without running it"
            ),
        });
    }
    for (name, took) in &report.applied {
        lines.push(format!(
            "applied migration `{name}` in {} ms",
            took.as_millis()
        ));
    }
    lines
}

/// Logs the additive migrator's changes, each through `template` (with `{}` for the change)
/// when given.
fn log_additive_changes(report: &MigrationReport, template: Option<&str>) {
    let say = |change: String| match template {
        Some(template) => tracing::warn!("{}", template.replace("{}", &change)),
        None => tracing::info!("{change}"),
    };
    for table in &report.created_tables {
        say(format!("created table {table}"));
    }
    for column in &report.added_columns {
        say(format!("added column {column}"));
    }
    for index in &report.created_indexes {
        say(format!("created index {index}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::AppliedMigration;

    #[test]
    fn the_status_lists_applied_and_pending_migrations_and_problems() {
        let status = MigrationStatus {
            applied: vec![AppliedMigration {
                name: "20260101000000_init".to_owned(),
                checksum: String::new(),
                applied_at: "2026-01-01T00:00:00.000Z".to_owned(),
            }],
            pending: vec!["20260102000000_add_room".to_owned()],
            unknown: Vec::new(),
            changed: vec!["20260101000000_init".to_owned()],
            differences: Vec::new(),
        };
        let text = status_text(&status);
        assert!(
            text.starts_with("applied:\n  20260101000000_init  2026-01-01T00:00:00.000Z  (changed since it was applied)\npending:\n  20260102000000_add_room\nproblem: migration `20260101000000_init` was changed after it was applied"),
            "{text}"
        );
        assert_eq!(
            status_text(&MigrationStatus::default()),
            "applied: none\npending: none\n"
        );
    }
}
