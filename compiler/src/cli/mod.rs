//! The command-line interface: the only module that touches files, processes and the terminal.
//!
//! `main` parses the arguments with clap ([`args`]), runs one command, and turns its result into
//! the exit code in one place: 0 success, 1 problems in the spec or the team's code, 2 usage or
//! I/O errors (see [`StepError::exit_code`]).
//!
//! The modules form layers, and each imports only modules of the layers below it, never this
//! one: `args`, `terminal`, `step`, `project`, `process`, `write`, `disk_files` and `migrations` at the bottom;
//! `web` on them; `build` on `web`; the commands (`check`, `build`, `db`, `dev`, `new`) on top.

mod args;
mod build;
mod check;
mod db;
mod dev;
mod disk_files;
mod migrations;
mod new;
mod process;
mod project;
mod step;
mod terminal;
pub mod web;
mod write;

use args::{Cli, Command, DbCommand};
use clap::Parser;
use std::process::ExitCode;
pub use step::StepError;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = cli.color;
    // Commands that start processes put each in its own group, which then no longer receives
    // the terminal's Ctrl-C; appc forwards it (and SIGTERM) and exits once they have ended.
    let farewell = match cli.command {
        // appc dev's children print until they end; one last line says that all of them did.
        Command::Dev(_) => Some("[appc] stopped: everything appc dev started has ended"),
        _ => None,
    };
    if matches!(
        cli.command,
        Command::Build(_) | Command::Dev(_) | Command::Db(_)
    ) && let Err(error) = process::stop_all_on_signal(farewell)
    {
        terminal::line(&format!("error: cannot handle Ctrl-C: {error:#}"));
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Check(args) => check::run(&args, color),
        Command::Build(args) => build::run(&args, color),
        Command::Dev(args) => dev::run(&args, color),
        Command::New(args) => new::run(&args),
        Command::Db(DbCommand::Seed(args)) => db::seed(&args, color),
        Command::Db(DbCommand::Migrate(args)) => db::migrate(&args, color),
        Command::Db(DbCommand::Status(args)) => db::status(&args, color),
        Command::Db(DbCommand::Reset(args)) => db::reset(&args, color),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The other errors were reported where they happened, with the project's paths and
            // the command to run again; a usage or I/O error has only its message.
            if let StepError::Io(error) = &error {
                terminal::line(&format!("error: {error:#}"));
            }
            ExitCode::from(error.exit_code())
        }
    }
}
