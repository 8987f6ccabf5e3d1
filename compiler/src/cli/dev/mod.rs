//! `appc dev`: builds the project (debug), serves it, and rebuilds and restarts on every save.
//!
//! One loop ([`run`]) owns everything: it waits for a batch of file changes ([`watch`]), decides
//! what the batch needs, runs the build on this thread and swaps the server when the build
//! succeeded ([`session`]). Because builds run one at a time on the loop's thread, there is
//! never more than one server. A save of the spec or server code while cargo compiles cancels
//! that cargo (the watcher kills its process group, `process::cancel_build`): its result would
//! be out of date anyway, so the loop starts over with the newer files and the latest save is
//! served as soon as possible. Other saves made during a build queue up in the channel and
//! produce exactly one more build. A failed or cancelled build never replaces the running
//! server; a failed one prints its errors and leaves the last good server running.
//!
//! When the spec has pages, the Vite dev server listens on the public port (the one URL to open,
//! [`ports`]) and proxies `/auth`, `/api` and `/socket.io` to the server on an internal port
//! ([`children`]). A save under `src/client/` only copies the files into the generated web
//! project (`cli::web`), where Vite hot-reloads them; the server is neither rebuilt nor
//! restarted. Without pages the server listens on the public port itself. Vite's lines are
//! shown with the team's paths and without the proxy noise of a restart ([`vite_lines`]).
//!
//! Vite does not type-check, so after every build that wrote the web project `tsc --noEmit`
//! runs in the background ([`type_checker`]).
//!
//! Every child (cargo, the server, Vite, npm, tsc) runs in its own process group
//! (`process.rs`), so Ctrl-C ends all of them and nothing is left behind. Everything appc prints
//! goes through `terminal`, which ignores a closed stderr instead of panicking with the children
//! still running.

mod children;
mod ports;
mod session;
mod type_checker;
mod vite_lines;
mod watch;

use super::args::{ColorChoice, DevArgs};
use super::project::Project;
use super::step::StepError;
use super::terminal::stderr_wants_color;
use session::{DevSession, Rebuild};
use std::sync::mpsc;
use std::time::Duration;

/// The debouncer reports each event once it is old enough, so the events of one burst can
/// arrive in two batches a tick apart; the loop waits this long for another batch before it
/// starts a build, so one burst of saves gives one build.
const SETTLE: Duration = Duration::from_millis(100);

/// Runs until the watcher stops or a signal ends appc (`process::stop_all_on_signal`). Fails
/// only before the first build: a taken port, a project that cannot be read or watched.
pub fn run(args: &DevArgs, color: ColorChoice) -> Result<(), StepError> {
    let color = stderr_wants_color(color);
    let project = Project::locate(&args.path)?;
    let port = ports::public_port(args.port)?;
    // Before anything is built: a taken port would otherwise surface only after a long build.
    ports::ensure_port_is_free(port)?;

    let (sender, changes) = mpsc::channel();
    let _watcher = watch::watch(&project, sender)?;
    let client_dir = watch::client_dir(&project);
    let mut session = DevSession::new(project, port, color);
    // A cancelled build comes back here, to be merged with the save that cancelled it.
    let mut cancelled = session.rebuild(Rebuild::First);
    while let Ok(mut changed) = changes.recv() {
        // Batches that arrived during the last build, or that follow within the settle time,
        // are handled together: one more build.
        while let Ok(more) = changes.recv_timeout(SETTLE) {
            changed.extend(more);
        }
        changed.sort();
        changed.dedup();
        let reason = match cancelled.take() {
            // The first build starts over as the first build (it shows progress and the URL).
            Some(Rebuild::First) => Rebuild::First,
            // The cancelled build's changes still need a server build, whatever came since.
            Some(Rebuild::Server(mut earlier)) | Some(Rebuild::ClientFiles(mut earlier)) => {
                earlier.extend(changed);
                earlier.sort();
                earlier.dedup();
                Rebuild::Server(earlier)
            }
            None if watch::only_client_files(&changed, &client_dir) => {
                Rebuild::ClientFiles(changed)
            }
            None => Rebuild::Server(changed),
        };
        cancelled = session.rebuild(reason);
    }
    // The watcher stopped (its thread ended); nothing more will change.
    session.stop_everything();
    Ok(())
}
