//! `appc db seed`: build the project as `appc build --debug` does, then run one of the spec's
//! `db.seeds` through the server binary's `seed NAME` command, which migrates the database,
//! awaits the seed with a context over every entity, prints what ran and exits 0 or 1.
//!
//! The binary runs in the project folder with appc's environment, so it seeds the database the
//! server would use there: `DATABASE_URL`, or `.appc/app.db` by default (the one `appc dev`
//! serves).

use super::args::{ColorChoice, SeedArgs};
use super::build::{self, BuildOutput};
use super::process;
use super::project::{Project, absolute};
use super::step::StepError;
use super::terminal::{stage, stderr_wants_color};
use anyhow::{Context, bail};
use appc_core::analysis::ir::{AppSpec, ServerFunction};
use std::process::{Command, Stdio};

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
    let mut command = Command::new(absolute(&binary));
    command
        .args(["seed", &seed.function])
        .current_dir(&project.root)
        .stdin(Stdio::null());
    let mut child = process::spawn_in_own_group(&mut command)
        .with_context(|| format!("cannot run `{}`", binary.display()))?;
    let status = child
        .wait()
        .with_context(|| format!("`{}` did not finish", binary.display()))?;
    process::forget(&child);
    process::wait_here_if_stopping();
    if !status.success() {
        return Err(StepError::SeedFailed {
            seed: seed.function,
        });
    }
    Ok(())
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
