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
//! - `appc db reset`: after a confirmation (a terminal's answer, or `--yes`) and never with
//!   `APPC_ENV=production`, the binary's `migrate reset` (drop the app's tables, apply every
//!   migration again), then the seed `--seed` names, as `appc db seed` runs it.

use super::args::{ColorChoice, MigrateArgs, ResetArgs, SeedArgs, StatusArgs};
use super::build::{self, BuildOutput};
use super::migrations;
use super::process;
use super::project::{Project, absolute};
use super::step::StepError;
use super::terminal::{self, stage};
use anyhow::{Context, bail};
use appc_core::analysis::ir::{AppSpec, ServerFunction};
use appc_core::migrations::{PlanOptions, Rename, SchemaSnapshot, plan_migration};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

pub fn seed(args: &SeedArgs, color: ColorChoice) -> Result<(), StepError> {
    in_project(&args.path, "appc db seed", |project| {
        build_and_seed(args, color, project)
    })
}

/// Checks and generates the project, chooses the seed, builds (debug) and runs the seed.
fn build_and_seed(args: &SeedArgs, color: ColorChoice, project: &Project) -> Result<(), StepError> {
    let output = BuildOutput::with_progress(color);
    let spec = build::check_and_generate(project, output)?;
    // The seed is chosen before anything is compiled, so a wrong name costs no build.
    let seed = choose_seed(&spec, project, args.name.as_deref())?.clone();
    let binary = build::build_checked(project, &spec, true, output)?;
    run_seed(&binary, project, seed, output)
}

/// Runs `seed` with the built server, as `appc db seed` and `appc db reset --seed` both do.
fn run_seed(
    binary: &Path,
    project: &Project,
    seed: ServerFunction,
    output: BuildOutput,
) -> Result<(), StepError> {
    stage(
        output.color,
        "Seeding",
        &format!("the database with `{}` ({})", seed.function, seed.file),
    );
    let status = run_server(binary, project, &["seed", &seed.function])?;
    if !status.success() {
        return Err(StepError::SeedFailed {
            seed: seed.function,
        });
    }
    Ok(())
}

/// Locates the project at `path` and runs `command` on it; when that fails, prints the advice
/// that fits the error, naming `command_line` as the command to run again.
fn in_project(
    path: &Path,
    command_line: &str,
    command: impl FnOnce(&Project) -> Result<(), StepError>,
) -> Result<(), StepError> {
    let project = Project::locate(path)?;
    command(&project).inspect_err(|error| build::print_advice(error, &project, command_line))
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
    in_project(&args.path, "appc db migrate", |project| {
        plan_write_and_apply(args, color, project)
    })
}

/// Checks the spec, plans and writes the migration, then (unless `--create-only`) builds and
/// applies every pending migration.
fn plan_write_and_apply(
    args: &MigrateArgs,
    color: ColorChoice,
    project: &Project,
) -> Result<(), StepError> {
    let output = BuildOutput::with_progress(color);
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
    if args.create_only {
        if !plan.is_empty() {
            terminal::line(
                "Not applied (--create-only): edit the SQL if needed, then run `appc db migrate` to apply it",
            );
        }
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
    in_project(&args.path, "appc db status", |project| {
        show_status(color, project)
    })
}

fn show_status(color: ColorChoice, project: &Project) -> Result<(), StepError> {
    let output = BuildOutput::with_progress(color);
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

pub fn reset(args: &ResetArgs, color: ColorChoice) -> Result<(), StepError> {
    in_project(&args.path, "appc db reset", |project| {
        confirm_and_reset(args, color, project)
    })
}

/// Refuses production, asks (or reads `--yes`), then checks, builds (debug), resets and seeds.
/// Everything that can refuse does so before the build and before anything is dropped.
fn confirm_and_reset(
    args: &ResetArgs,
    color: ColorChoice,
    project: &Project,
) -> Result<(), StepError> {
    let database = database_description();
    refuse_production(std::env::var("APPC_ENV").ok().as_deref())?;
    if !args.yes {
        confirm_reset(&database)?;
    }
    let output = BuildOutput::with_progress(color);
    let spec = build::check_and_generate(project, output)?;
    let seed = match &args.seed {
        Some(name) => Some(choose_seed(&spec, project, Some(name))?.clone()),
        None => None,
    };
    let binary = build::build_checked(project, &spec, true, output)?;
    stage(output.color, "Resetting", &database);
    let status = run_server(&binary, project, &["migrate", "reset"])?;
    if !status.success() {
        return Err(StepError::MigrationProblem {
            command: "migrate reset".to_owned(),
        });
    }
    if let Some(seed) = seed {
        run_seed(&binary, project, seed, output)?;
    }
    Ok(())
}

/// A reset drops every table, so it never runs where `APPC_ENV` says production (the server
/// refuses too, but appc says so before building anything).
fn refuse_production(appc_env: Option<&str>) -> anyhow::Result<()> {
    if appc_env.is_some_and(|mode| mode.trim().eq_ignore_ascii_case("production")) {
        bail!(
            "refusing to reset the database: APPC_ENV=production is set, and a reset drops every table with its data; `appc db reset` is for development databases only (unset APPC_ENV to reset one)"
        );
    }
    Ok(())
}

/// Asks on the terminal whether to drop `database`'s tables; refuses without a terminal, since
/// no one could have agreed to lose the data.
fn confirm_reset(database: &str) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "refusing to reset {database} without confirmation: there is no terminal to ask on; pass --yes to drop every table with its data and apply the migrations again"
        );
    }
    terminal::text(&format!(
        "This drops every table of {database} with all its data, then applies every migration again.\nReset the database? [y/N] "
    ));
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer from the terminal")?;
    if !is_yes(&answer) {
        bail!("the database was not reset: the answer was not `y`; nothing was changed");
    }
    Ok(())
}

/// `y` or `yes`, in any case, is consent; anything else (an empty line too) is not.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_confirms_a_reset() {
        for answer in ["y\n", "Y\n", "yes\n", " YES \r\n"] {
            assert!(is_yes(answer), "{answer:?}");
        }
        for answer in ["\n", "n\n", "no\n", "yep\n", ""] {
            assert!(!is_yes(answer), "{answer:?}");
        }
    }

    #[test]
    fn a_reset_is_refused_where_appc_env_says_production() {
        for mode in ["production", "Production", " production "] {
            let error = refuse_production(Some(mode)).unwrap_err().to_string();
            assert!(
                error.starts_with("refusing to reset the database: APPC_ENV=production is set"),
                "{error}"
            );
        }
        for mode in [None, Some("development"), Some("")] {
            assert!(refuse_production(mode).is_ok(), "{mode:?}");
        }
    }
}
