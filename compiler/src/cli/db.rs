//! The `appc db` commands, which build the project as `appc build --debug` does and then run
//! the server binary on the database the server would use in the project folder
//! (`DATABASE_URL`, or `.appc/app.db` by default, the one `appc dev` serves):
//!
//! - `appc db seed`: the binary's `seed NAME` migrates the database, awaits one of the spec's
//!   `db.seeds` with a context over every entity, prints what ran and exits 0 or 1.
//! - `appc db migrate`: plans the change from the last migration's snapshot to the spec's
//!   entities (`appc_core::migrations`), prints it, refuses one that drops data without
//!   `--allow-destructive`, writes it as a new folder of `migrations/`, and applies the pending
//!   migrations with the binary's `migrate`.
//! - `appc db status`: whether the spec has changes no migration covers, then the binary's
//!   `migrate status` (applied, pending, ahead or diverged).

use super::args::{ColorChoice, MigrateArgs, SeedArgs, StatusArgs};
use super::build::{self, BuildOutput};
use super::migrations;
use super::process;
use super::project::{Project, absolute};
use super::step::StepError;
use super::terminal::{self, stage, stderr_wants_color};
use anyhow::{Context, bail};
use appc_core::analysis::ir::{AppSpec, ServerFunction};
use appc_core::migrations::{PlanOptions, Rename, SchemaSnapshot, plan_migration};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

pub fn seed(args: &SeedArgs, color: ColorChoice) -> Result<(), StepError> {
    let project = Project::locate(&args.path)?;
    build_and_seed(args, color, &project)
        .inspect_err(|error| build::print_advice(error, &project, "appc db seed"))
}

/// Checks and generates the project, chooses the seed, builds (debug) and runs the seed.
fn build_and_seed(args: &SeedArgs, color: ColorChoice, project: &Project) -> Result<(), StepError> {
    let output = BuildOutput {
        color: stderr_wants_color(color),
        progress: true,
    };
    let spec = build::check_and_generate(project, output)?;
    // The seed is chosen before anything is compiled, so a wrong name costs no build.
    let seed = choose_seed(&spec, project, args.name.as_deref())?.clone();
    let binary = build::build_checked(project, &spec, true, output)?;
    stage(
        output.color,
        "Seeding",
        &format!("the database with `{}` ({})", seed.function, seed.file),
    );
    let status = run_server(&binary, project, &["seed", &seed.function])?;
    if !status.success() {
        return Err(StepError::SeedFailed {
            seed: seed.function,
        });
    }
    Ok(())
}

/// Runs the built server with `arguments` in the project folder, with appc's environment and
/// its output on appc's, and waits for it.
fn run_server(binary: &Path, project: &Project, arguments: &[&str]) -> anyhow::Result<ExitStatus> {
    let mut command = Command::new(absolute(binary));
    command
        .args(arguments)
        .current_dir(&project.root)
        .stdin(Stdio::null());
    let mut child = process::spawn_in_own_group(&mut command)
        .with_context(|| format!("cannot run `{}`", binary.display()))?;
    let status = child
        .wait()
        .with_context(|| format!("`{}` did not finish", binary.display()))?;
    process::forget(&child);
    process::wait_here_if_stopping();
    Ok(status)
}

pub fn migrate(args: &MigrateArgs, color: ColorChoice) -> Result<(), StepError> {
    let project = Project::locate(&args.path)?;
    plan_write_and_apply(args, color, &project)
        .inspect_err(|error| build::print_advice(error, &project, "appc db migrate"))
}

/// Checks the spec, plans and writes the migration, then (unless `--create-only`) builds and
/// applies every pending migration.
fn plan_write_and_apply(
    args: &MigrateArgs,
    color: ColorChoice,
    project: &Project,
) -> Result<(), StepError> {
    let output = BuildOutput {
        color: stderr_wants_color(color),
        progress: true,
    };
    let spec = build::check(project, output)?;
    let renames = parse_renames(args, &spec)?;
    let existing = migrations::list(&project.root)?;
    let previous = migrations::last_snapshot(&existing)?;
    let next = SchemaSnapshot::from_spec(&spec);
    let plan = plan_migration(
        &previous,
        &next,
        &PlanOptions {
            renames,
            allow_destructive: args.allow_destructive,
        },
    );
    for warning in &plan.warnings {
        terminal::line(&format!("warning: {warning}"));
    }
    if plan.is_empty() {
        let since = existing.last().map_or_else(
            || "there are no entities and no migrations".to_owned(),
            |last| format!("the entities match the last migration `{}`", last.name),
        );
        terminal::line(&format!("No changes: {since}; no migration written"));
    } else {
        terminal::line("Changes:");
        for change in &plan.changes {
            terminal::line(&format!("  - {change}"));
        }
        if !plan.destructive.is_empty() {
            terminal::line(if args.allow_destructive {
                "These changes drop data (allowed by --allow-destructive):"
            } else {
                "These changes drop data, so no migration was written:"
            });
            for loss in &plan.destructive {
                terminal::line(&format!("  - {loss}"));
            }
            if !args.allow_destructive {
                return Err(StepError::DestructiveMigration);
            }
        }
        let default_name = if existing.is_empty() {
            "init"
        } else {
            "schema_change"
        };
        let name = args.name.as_deref().unwrap_or(default_name);
        let folder = migrations::write(&project.root, &existing, name, &plan, &next)?;
        stage(
            output.color,
            "Wrote",
            &format!(
                "{}/{folder}/ (sqlite.sql, postgresql.sql, schema.json); review the SQL and commit it",
                migrations::MIGRATIONS_DIR
            ),
        );
    }
    if args.create_only && !plan.is_empty() {
        terminal::line(
            "Not applied (--create-only): edit the SQL if needed, then run `appc db migrate` to apply it",
        );
        return Ok(());
    }
    if args.create_only {
        return Ok(());
    }
    build::generate(project, &spec, output)?;
    let binary = build::build_checked(project, &spec, true, output)?;
    stage(output.color, "Migrating", &database_description());
    let status = run_server(&binary, project, &["migrate"])?;
    if !status.success() {
        return Err(StepError::MigrationProblem {
            command: "migrate".to_owned(),
        });
    }
    Ok(())
}

pub fn status(args: &StatusArgs, color: ColorChoice) -> Result<(), StepError> {
    let project = Project::locate(&args.path)?;
    show_status(color, &project)
        .inspect_err(|error| build::print_advice(error, &project, "appc db status"))
}

fn show_status(color: ColorChoice, project: &Project) -> Result<(), StepError> {
    let output = BuildOutput {
        color: stderr_wants_color(color),
        progress: true,
    };
    let spec = build::check_and_generate(project, output)?;
    let changes = migrations::unmigrated_changes(&project.root, &spec)?;
    let binary = build::build_checked(project, &spec, true, output)?;
    stage(output.color, "Reading", &database_description());
    let status = run_server(&binary, project, &["migrate", "status"])?;
    if changes.is_empty() {
        println!("the entities match the last migration");
    } else {
        println!("the entities have changes no migration covers yet (run `appc db migrate`):");
        for change in &changes {
            println!("  - {change}");
        }
    }
    if !status.success() {
        return Err(StepError::MigrationProblem {
            command: "migrate status".to_owned(),
        });
    }
    Ok(())
}

/// Which database the server binary will open, for the stage line.
fn database_description() -> String {
    match std::env::var("DATABASE_URL") {
        // Only the scheme and host: a URL may carry a password.
        Ok(url) if !url.is_empty() => {
            let scheme = url.split(':').next().unwrap_or_default();
            let host = url
                .rsplit_once('@')
                .map_or("", |(_, rest)| rest)
                .split(['/', '?'])
                .next()
                .unwrap_or_default();
            format!("the database of DATABASE_URL ({scheme}://{host})")
        }
        _ => "the development database (.appc/app.db)".to_owned(),
    }
}

/// `--rename Entity.old=new` and `--rename-table Old=New` as the planner's renames. An entity
/// name is taken to its table (`@@map`); anything else is used as a table name as it is.
fn parse_renames(args: &MigrateArgs, spec: &AppSpec) -> anyhow::Result<Vec<Rename>> {
    let table_of = |name: &str| {
        spec.entities
            .iter()
            .find(|entity| entity.name == name)
            .map_or_else(|| name.to_owned(), |entity| entity.table().to_owned())
    };
    let mut renames = Vec::new();
    for rename in &args.table_renames {
        let Some((from, to)) = rename
            .split_once('=')
            .filter(|(from, to)| !from.trim().is_empty() && !to.trim().is_empty())
        else {
            bail!("`--rename-table {rename}` should read `--rename-table Old=New`");
        };
        renames.push(Rename::Table {
            from: from.trim().to_owned(),
            to: table_of(to.trim()),
        });
    }
    for rename in &args.renames {
        let parsed = rename.split_once('=').and_then(|(left, to)| {
            let (entity, from) = left.split_once('.')?;
            let parts = [entity.trim(), from.trim(), to.trim()];
            (!parts.iter().any(|part| part.is_empty())).then_some(parts)
        });
        let Some([entity, from, to]) = parsed else {
            bail!("`--rename {rename}` should read `--rename Entity.old=new`");
        };
        renames.push(Rename::Column {
            table: table_of(entity),
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    Ok(renames)
}

/// The seed `--name` names, or the only one; otherwise an error that lists them.
fn choose_seed<'s>(
    spec: &'s AppSpec,
    project: &Project,
    name: Option<&str>,
) -> anyhow::Result<&'s ServerFunction> {
    let seeds = &spec.db.seeds;
    let spec_path = project.spec_path.display();
    if seeds.is_empty() {
        bail!(
            "`{spec_path}` declares no seeds; add a `pub async fn` to `src/server/seeds.rs` and list it: `db: {{ seeds: [import {{ seed_dev_data }} from \"@src/server/seeds.rs\"] }}`"
        );
    }
    let width = seeds
        .iter()
        .map(|seed| seed.function.len())
        .max()
        .unwrap_or(0);
    let listed = || {
        seeds
            .iter()
            .map(|seed| format!("\n  {:width$}  ({})", seed.function, seed.file))
            .collect::<String>()
    };
    match name {
        Some(name) => match seeds.iter().find(|seed| seed.function == name) {
            Some(seed) => Ok(seed),
            None => bail!(
                "`{spec_path}` has no seed `{name}`; choose one of `db.seeds` with `--name`:{}",
                listed()
            ),
        },
        None if seeds.len() == 1 => Ok(&seeds[0]),
        None => bail!(
            "`{spec_path}` declares {} seeds; choose one with `--name`:{}",
            seeds.len(),
            listed()
        ),
    }
}
