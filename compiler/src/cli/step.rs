//! The one error vocabulary of the CLI: [`StepError`], returned by every step of a command
//! (checking and generating, the web tools, cargo, seeding, starting a server under `appc dev`),
//! and its exit code.
//!
//! A step that fails because of the spec or the team's code has already printed why (the
//! diagnostics, rustc's or tsc's messages, the seed's error); the error says which kind of
//! failure it was, so that `appc build` can say what to do next, `appc dev` can write its status
//! line, and `main` can choose the exit code, all without inspecting messages or downcasting.

use std::path::Path;

/// Why a step stopped. Every variant but [`StepError::Io`] means that the step's output above
/// already shows the problem.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The spec has errors; its diagnostics have been printed.
    #[error("the spec has errors")]
    SpecErrors,
    /// The generated server, with the team's code in it, did not compile; cargo's messages have
    /// been printed with the team's paths.
    #[error("the server did not compile")]
    CompileFailed,
    /// A Node tool (npm, tsc, Vite) failed on the web project; its output has been printed with
    /// the team's paths.
    #[error("{tool} failed")]
    WebToolFailed {
        /// What failed, as the stage line named it (`tsc`, `vite build`, `npm install`).
        tool: String,
    },
    /// A seed returned an error; the server binary has printed it.
    #[error("the seed `{seed}` did not finish")]
    SeedFailed { seed: String },
    /// `appc db migrate` refused to write a migration that drops data without
    /// `--allow-destructive`; what it would drop has been printed.
    #[error("the migration would drop data")]
    DestructiveMigration,
    /// The server binary's `migrate` or `migrate status` failed or found a problem (a failing
    /// migration, a database ahead of or diverged from the migrations); it has printed why.
    #[error("`server {command}` reported a problem")]
    MigrationProblem { command: String },
    /// `appc dev` only: the server it built exited right after starting (its log is above).
    #[error("the new server exited right after starting ({status})")]
    ServerExited { status: String },
    /// `appc dev` only: a newer save cancelled the compile, whose result would be out of date.
    #[error("a newer save cancelled the build")]
    Cancelled,
    /// A usage or I/O error: a file that cannot be read, a missing tool, a taken port. Nothing
    /// has been printed yet; the message says what to do.
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

impl StepError {
    /// The exit code of a command that stopped with this error: 1 for problems in the spec or the
    /// team's code, 2 for usage or I/O errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            StepError::SpecErrors
            | StepError::CompileFailed
            | StepError::WebToolFailed { .. }
            | StepError::SeedFailed { .. }
            | StepError::DestructiveMigration
            | StepError::MigrationProblem { .. }
            | StepError::ServerExited { .. } => 1,
            // A cancelled build never ends a command: `appc dev` builds again.
            StepError::Cancelled | StepError::Io(_) => 2,
        }
    }

    /// The last line a one-shot command (`appc build`, `appc db seed`) prints for a failure in
    /// the spec or the team's code: what failed and what to do, with `command` to run again.
    /// `None` for [`StepError::Io`], which `main` prints as it is.
    pub fn advice(&self, spec_path: &Path, project_root: &Path, command: &str) -> Option<String> {
        let fix_above = format!(
            "fix the errors above (paths are relative to `{}`), then run `{command}` again",
            project_root.display()
        );
        match self {
            StepError::SpecErrors => Some(format!(
                "error: `{}` has errors; fix them, then run `{command}` again",
                spec_path.display()
            )),
            StepError::CompileFailed | StepError::ServerExited { .. } => {
                Some(format!("error: {self}; {fix_above}"))
            }
            StepError::WebToolFailed { .. } => {
                Some(format!("error: {self} on the web client; {fix_above}"))
            }
            StepError::SeedFailed { .. } | StepError::MigrationProblem { .. } => {
                Some(format!("error: {self}; its message is above"))
            }
            StepError::DestructiveMigration => Some(format!(
                "error: {self}; if that is intended, run `{command} --allow-destructive`; if a field or entity was renamed, say so with `--rename Entity.old=new` or `--rename-table Old=New`"
            )),
            StepError::Cancelled => Some(format!("error: {self}; run `{command}` again")),
            StepError::Io(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_in_the_team_s_work_exit_with_1_and_the_rest_with_2() {
        let team_problems = [
            StepError::SpecErrors,
            StepError::CompileFailed,
            StepError::WebToolFailed {
                tool: "tsc".to_owned(),
            },
            StepError::SeedFailed {
                seed: "seed_dev_data".to_owned(),
            },
            StepError::ServerExited {
                status: "exit status: 1".to_owned(),
            },
        ];
        for error in team_problems {
            assert_eq!(error.exit_code(), 1, "{error}");
        }
        let io = StepError::Io(anyhow::anyhow!("cannot read `main.wasp`"));
        assert_eq!(io.exit_code(), 2);
        assert_eq!(StepError::Cancelled.exit_code(), 2);
    }

    #[test]
    fn advice_names_the_project_and_the_command_to_run_again() {
        let (spec, root) = (Path::new("chat/main.wasp"), Path::new("chat"));
        let advice = |error: StepError| error.advice(spec, root, "appc build");
        assert_eq!(
            advice(StepError::SpecErrors).as_deref(),
            Some("error: `chat/main.wasp` has errors; fix them, then run `appc build` again")
        );
        assert_eq!(
            advice(StepError::CompileFailed).as_deref(),
            Some(
                "error: the server did not compile; fix the errors above (paths are relative to `chat`), then run `appc build` again"
            )
        );
        assert_eq!(
            advice(StepError::WebToolFailed {
                tool: "tsc".to_owned()
            })
            .as_deref(),
            Some(
                "error: tsc failed on the web client; fix the errors above (paths are relative to `chat`), then run `appc build` again"
            )
        );
        assert_eq!(
            advice(StepError::SeedFailed {
                seed: "seed_dev_data".to_owned()
            })
            .as_deref(),
            Some("error: the seed `seed_dev_data` did not finish; its message is above")
        );
        assert_eq!(advice(StepError::Io(anyhow::anyhow!("x"))), None);
    }
}
