//! The background type checker of `appc dev`: Vite does not type-check, so after every build
//! that wrote the web project `tsc --noEmit` runs beside the server and Vite, which keep
//! serving. Its errors are printed with the team's paths (`src/client/MainPage.tsx(6,15)`) and
//! never stop anything; a newer run stops an older one, and a calm line says when the types are
//! fine again.

use crate::cli::process;
use crate::cli::terminal::{self, StatusKind, status_line};
use crate::cli::web;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

/// Runs `tsc --noEmit` on the web project in the background, one run at a time: starting a run
/// stops the one still running (its files are out of date). Each run prints its errors with the
/// team's paths, or, when the previous run had errors, a line saying the types are fine again.
pub struct TypeChecker {
    color: bool,
    /// The running tsc, shared with the thread that reads its output. Whoever takes the child
    /// out owns it: this struct to stop it, the thread to wait for it and report.
    running: Option<Arc<Mutex<Option<Child>>>>,
    /// Whether a run was ever started.
    started: bool,
    /// Whether the last finished run found errors (or has not run yet: `None`).
    last_run_failed: Arc<Mutex<Option<bool>>>,
}

impl TypeChecker {
    pub fn new(color: bool) -> TypeChecker {
        TypeChecker {
            color,
            running: None,
            started: false,
            last_run_failed: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts tsc on `web_dir`, stopping a run that is still going. Never fails: a tsc that
    /// cannot start is reported in a status line.
    pub fn start(&mut self, web_dir: &Path) {
        self.stop();
        self.started = true;
        let mut command = web::typecheck_command(web_dir, self.color);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = match process::spawn_in_own_group(&mut command) {
            Ok(child) => child,
            Err(error) => {
                status_line(
                    self.color,
                    StatusKind::Error,
                    &format!(
                        "cannot run tsc to type-check the pages ({error}); delete `.appc/out/web/node_modules` and save again to reinstall"
                    ),
                );
                return;
            }
        };
        // A type check is worth having soon, but not at the cost of the next compile.
        process::lower_priority(&child);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let slot = Arc::new(Mutex::new(Some(child)));
        self.running = Some(Arc::clone(&slot));
        let color = self.color;
        let prefix = terminal::child_prefix(color, "tsc");
        let last_run_failed = Arc::clone(&self.last_run_failed);
        std::thread::spawn(move || {
            // tsc writes its diagnostics to stdout; stderr only when it crashes, and little.
            let mut text = String::new();
            if let Some(mut stdout) = stdout {
                let _ = stdout.read_to_string(&mut text);
            }
            if let Some(mut stderr) = stderr {
                let _ = stderr.read_to_string(&mut text);
            }
            // The child is gone from the slot when this run was stopped: a newer one reports.
            let Some(mut child) = lock(&slot).take() else {
                return;
            };
            let status = child.wait();
            process::forget(&child);
            if process::is_stopping() {
                return;
            }
            let succeeded = status.is_ok_and(|status| status.success());
            let mut last = lock(&last_run_failed);
            if succeeded {
                if *last != Some(false) {
                    status_line(
                        color,
                        StatusKind::Success,
                        "Types ok: tsc finds no errors in the pages",
                    );
                }
            } else {
                for line in tidy_lines(&web::team_tool_output(&text)) {
                    terminal::line(&format!("{prefix}{line}"));
                }
                status_line(
                    color,
                    StatusKind::Error,
                    "Type errors in the pages (above, paths relative to the project); the pages and the server are still served. Fix them and save",
                );
            }
            *last = Some(!succeeded);
        });
    }

    pub fn has_started(&self) -> bool {
        self.started
    }

    /// Stops the running tsc, if any, without a report (a run that already finished reports
    /// in full: its thread took the child out first).
    pub fn stop(&mut self) {
        let Some(slot) = self.running.take() else {
            return;
        };
        let child = lock(&slot).take();
        if let Some(mut child) = child {
            process::stop_group(&mut child);
        }
    }
}

/// A tool's output without leading and trailing empty lines, and with runs of empty lines
/// (tsc's pretty output has them) shortened to one: prefixed, they read as noise.
fn tidy_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines() {
        let blank = line.trim().is_empty();
        let previous_blank = lines.last().is_none_or(|last| last.trim().is_empty());
        if !(blank && previous_blank) {
            lines.push(line);
        }
    }
    while lines.last().is_some_and(|last| last.trim().is_empty()) {
        lines.pop();
    }
    lines
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_output_loses_its_extra_empty_lines() {
        assert_eq!(
            tidy_lines("\nerror one\n\n  code\n\n\nFound 1 error\n\n"),
            vec!["error one", "", "  code", "", "Found 1 error"]
        );
        assert!(tidy_lines("\n\n").is_empty());
    }
}
