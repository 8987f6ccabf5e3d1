//! The rebuild state machine of `appc dev`: [`DevSession`] owns what runs (the server, Vite,
//! the type checker) and turns one [`Rebuild`] into one build and one `[appc]` status line.
//!
//! A build never replaces the running server unless it succeeded and gave a different binary:
//! a failed build prints its errors and leaves the last good server running, and a build that a
//! newer save cancelled ([`StepError::Cancelled`]) is handed back to the loop, to be merged with
//! that save.

use super::children;
use super::ports;
use super::type_checker::TypeChecker;
use crate::cli::build::{self, BuildOutput};
use crate::cli::process;
use crate::cli::project::{Project, absolute};
use crate::cli::step::StepError;
use crate::cli::terminal::{StatusKind, status_line};
use crate::cli::web;
use std::path::PathBuf;
use std::process::Child;
use std::time::Instant;

/// What triggered a rebuild.
pub enum Rebuild {
    /// `appc dev` has just started.
    First,
    /// The spec or server code changed (the paths): check, generate, compile, restart.
    Server(Vec<PathBuf>),
    /// Only files under `src/client/` changed: check and regenerate; the server keeps running.
    ClientFiles(Vec<PathBuf>),
}

/// What a build that succeeded did.
enum Rebuilt {
    /// A new server was started (and Vite, the first time the app has pages).
    ServerStarted,
    /// The build gave the binary the running server already runs; it was left alone.
    ServerUnchanged,
    /// Only the client files changed; Vite hot-reloads them and the server keeps running.
    ClientUpdated,
}

/// What `appc dev` runs. With pages, Vite serves the public port (the one URL to open) and
/// proxies the server's routes to the server on an internal port; without pages the server
/// listens on the public port itself.
pub struct DevSession {
    project: Project,
    public_port: u16,
    /// The server's port behind Vite, chosen the first time the app has pages.
    internal_port: Option<u16>,
    color: bool,
    server: Option<Child>,
    vite: Option<Child>,
    type_checker: TypeChecker,
    /// Set by a build that changed the web project (or before tsc ever ran): the folder to
    /// type-check once the build is done.
    type_check_pending: Option<PathBuf>,
}

impl DevSession {
    pub fn new(project: Project, public_port: u16, color: bool) -> DevSession {
        DevSession {
            project,
            public_port,
            internal_port: None,
            color,
            server: None,
            vite: None,
            type_checker: TypeChecker::new(color),
            type_check_pending: None,
        }
    }

    /// Runs one build and reports it in one status line; never fails, so the loop goes on after
    /// any error (the last good server keeps running). Returns the reason back when a newer
    /// save cancelled the build, so that the next build covers its changes too.
    pub fn rebuild(&mut self, reason: Rebuild) -> Option<Rebuild> {
        let started = Instant::now();
        // A cancellation aimed at an earlier build that had already finished means nothing now.
        process::take_build_cancelled();
        let output = BuildOutput {
            color: self.color,
            // The first build shows cargo's progress (it may take a while); later ones are quiet.
            progress: matches!(reason, Rebuild::First),
        };
        match &reason {
            Rebuild::First => {}
            Rebuild::Server(paths) | Rebuild::ClientFiles(paths) => {
                self.status(
                    StatusKind::Info,
                    &format!("Changed {}", self.describe(paths)),
                );
            }
        }
        let result = self.build_and_restart(&reason, output);
        // Ctrl-C ended the build's or the server's processes on purpose; that is no failure.
        process::wait_here_if_stopping();
        let seconds = started.elapsed().as_secs_f64();
        if matches!(result, Err(StepError::Cancelled)) {
            let keeps = if self.server.is_some() {
                " (the running server keeps serving meanwhile)"
            } else {
                ""
            };
            self.status(
                StatusKind::Info,
                &format!(
                    "A newer save cancelled this build after {seconds:.1} s; starting over with the latest files{keeps}"
                ),
            );
            return Some(reason);
        }
        // Vite does not type-check: tsc runs beside the server and Vite, which keep serving.
        // (After a cancelled build it stays pending: the next build may write nothing new.)
        if let Some(web_dir) = self.type_check_pending.take() {
            self.type_checker.start(&web_dir);
        }
        match result {
            Ok(Rebuilt::ServerStarted) => self.report_started(&reason, seconds),
            Ok(Rebuilt::ServerUnchanged) => self.status(
                StatusKind::Success,
                &format!(
                    "Rebuilt in {seconds:.1} s; the server is unchanged and keeps running"
                ),
            ),
            Ok(Rebuilt::ClientUpdated) => self.status(
                StatusKind::Success,
                &format!(
                    "Updated client files in {seconds:.1} s; Vite reloads the page, the server keeps running"
                ),
            ),
            Err(StepError::ServerExited { status }) => self.status(
                StatusKind::Error,
                &format!(
                    "The new server exited right after starting ({status}); see its log above, fix it and save again"
                ),
            ),
            Err(StepError::SpecErrors) => self.failure(seconds, "the spec has errors (above)"),
            Err(StepError::CompileFailed) => self.failure(
                seconds,
                "the server did not compile (errors above, paths relative to the project)",
            ),
            Err(StepError::Io(error)) => self.failure(seconds, &format!("{error:#}")),
            Err(error) => self.failure(seconds, &error.to_string()),
        }
        None
    }

    /// Stops everything the session started: the type checker, the server and Vite.
    pub fn stop_everything(&mut self) {
        self.type_checker.stop();
        children::stop(&mut self.server);
        children::stop(&mut self.vite);
    }

    fn build_and_restart(
        &mut self,
        reason: &Rebuild,
        output: BuildOutput,
    ) -> Result<Rebuilt, StepError> {
        let spec = build::check_and_generate(&self.project, output)?;
        // The web project is written on every build: for a client-only change this copy is all
        // there is to do, and Vite hot-reloads from it.
        let web_dir = match web::write_web_project(&self.project.root, &spec)? {
            Some((web_dir, summary)) => {
                web::install_web_dependencies(&web_dir, self.color)?;
                // A server-only change leaves the web project as it was: no need to spend a
                // core on tsc while the next save may be compiling.
                let changed = !summary.written.is_empty() || !summary.removed.is_empty();
                if changed || !self.type_checker.has_started() {
                    self.type_check_pending = Some(web_dir.clone());
                }
                Some(web_dir)
            }
            None => None,
        };
        let web_layout_unchanged = web_dir.is_some() == self.vite.is_some();
        if matches!(reason, Rebuild::ClientFiles(_))
            && self.server.is_some()
            && web_layout_unchanged
        {
            return Ok(Rebuilt::ClientUpdated);
        }
        let binary = build::compile_server(&self.project, &spec, true, output)?;
        // A save that changed nothing the server is made of (an editor's save of an unchanged
        // file, a spec change that only concerns the pages) gives the very same binary: the
        // running server is kept, and so are its clients' connections.
        if web_layout_unchanged
            && let Some(server) = &self.server
            && children::runs_the_same_binary(server, &binary)
        {
            return Ok(Rebuilt::ServerUnchanged);
        }
        // Only now, with a new binary in place, does the old server go: never two at once.
        children::stop(&mut self.server);
        let server_port = match &web_dir {
            Some(_) => match self.internal_port {
                Some(port) => port,
                None => *self.internal_port.insert(ports::free_port()?),
            },
            None => {
                // The spec no longer has pages: the server takes the public port back.
                children::stop(&mut self.vite);
                self.public_port
            }
        };
        let server = children::start_server(&binary, &self.project.root, server_port, self.color)?;
        self.server = Some(server);
        if let Some(web_dir) = web_dir
            && self.vite.is_none()
        {
            let vite = children::start_vite(&web_dir, self.public_port, server_port, self.color)?;
            self.vite = Some(vite);
        }
        Ok(Rebuilt::ServerStarted)
    }

    /// The status lines of a build that started a server; the first build also says which URL
    /// to open.
    fn report_started(&self, reason: &Rebuild, seconds: f64) {
        let first = matches!(reason, Rebuild::First);
        let summary = if first {
            format!("Built in {seconds:.1} s, server started")
        } else {
            format!("Rebuilt in {seconds:.1} s, server restarted")
        };
        self.status(StatusKind::Success, &summary);
        if !first {
            return;
        }
        self.status(
            StatusKind::Success,
            &format!(
                "Open http://127.0.0.1:{}   (Ctrl-C stops; every save rebuilds)",
                self.public_port
            ),
        );
        // The server logs its own (internal) address; say which one to use.
        if let Some(internal_port) = self.internal_port.filter(|_| self.vite.is_some()) {
            self.status(
                StatusKind::Info,
                &format!(
                    "Vite serves the pages there and forwards /auth, /api and /socket.io to the server on port {internal_port}"
                ),
            );
        }
    }

    fn failure(&self, seconds: f64, what: &str) {
        let keeps = if self.server.is_some() {
            "the last good server keeps running"
        } else {
            "no server is running"
        };
        self.status(
            StatusKind::Error,
            &format!("Build failed in {seconds:.1} s: {what}; {keeps}. Fix it and save to rebuild"),
        );
    }

    /// The changed files, relative to the project, for the status line.
    fn describe(&self, paths: &[PathBuf]) -> String {
        let root = absolute(&self.project.root);
        let mut names: Vec<String> = paths
            .iter()
            .take(3)
            .map(|path| {
                path.strip_prefix(&root)
                    .unwrap_or(path)
                    .display()
                    .to_string()
            })
            .collect();
        if paths.len() > 3 {
            names.push(format!("and {} more", paths.len() - 3));
        }
        names.join(", ")
    }

    fn status(&self, kind: StatusKind, message: &str) {
        status_line(self.color, kind, message);
    }
}
