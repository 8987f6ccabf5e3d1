//! `appc dev`: builds the project (debug), serves it, and rebuilds and restarts on every save.
//!
//! One loop owns everything: it waits for a batch of file changes (notify, debounced), decides
//! what the batch needs, runs the build on this thread and swaps the server when the build
//! succeeded. Because builds run one at a time on the loop's thread, there is never more than
//! one server. A save of the spec or server code while cargo compiles cancels that cargo (the
//! watcher kills its process group, `process::cancel_build`): its result would be out of date
//! anyway, so the loop starts over with the newer files and the latest save is served as soon
//! as possible. Other saves made during a build queue up in the channel and produce exactly one
//! more build. A failed or cancelled build never replaces the running server; a failed one
//! prints its errors and leaves the last good server running.
//!
//! When the spec has pages, the Vite dev server listens on the public port (the one URL to open)
//! and proxies `/auth`, `/api` and `/socket.io` to the server on an internal port. A save under
//! `src/client/` only copies the files into the generated web project (`cli::web`), where Vite
//! hot-reloads them; the server is neither rebuilt nor restarted. Without pages the server
//! listens on the public port itself.
//!
//! Vite does not type-check, so after every build that wrote the web project `tsc --noEmit`
//! runs in the background ([`TypeChecker`]): its errors are printed with the team's paths
//! (`src/client/MainPage.tsx(6,15)`) and never stop anything from being served; a newer save
//! restarts it, and a calm line says when the types are fine again.
//!
//! Every child (cargo, the server, Vite, npm, tsc) runs in its own process group
//! (`process.rs`), so Ctrl-C ends all of them and nothing is left behind.

use super::build::{self, BuildOutput, Project};
use super::process;
use super::web;
use super::{ColorChoice, DevArgs, Outcome, stderr_wants_color};
use anyhow::{Context, bail};
use appc_core::codegen::web::TEAM_FILES_DIR;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long the watcher waits after an event before reporting it: editors write a file in
/// several steps, and "save all" touches many files at once.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// The debouncer reports each event once it is old enough, so the events of one burst can
/// arrive in two batches a tick apart; the loop waits this long for another batch before it
/// starts a build, so one burst of saves gives one build.
const SETTLE: Duration = Duration::from_millis(100);

/// How long a started server may take to accept connections before appc stops waiting.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the Vite dev server may take to accept connections.
const VITE_START_TIMEOUT: Duration = Duration::from_secs(60);

/// The port used when neither `--port` nor `PORT` says otherwise.
const DEFAULT_PORT: u16 = 3000;

pub fn run(args: &DevArgs, color: ColorChoice) -> anyhow::Result<Outcome> {
    let color = stderr_wants_color(color);
    let project = Project::locate(&args.path)?;
    let port = match args.port {
        Some(port) => port,
        None => port_from_environment()?,
    };
    // Before anything is built: a taken port would otherwise surface only after a long build.
    ensure_port_is_free(port)?;

    let (sender, changes) = mpsc::channel();
    let _watcher = watch(&project, sender)?;
    let client_dir = absolute(&project.root).join("src/client");
    let mut session = DevSession {
        project,
        public_port: port,
        internal_port: None,
        color,
        server: None,
        vite: None,
        type_checker: TypeChecker::new(color),
        type_check_pending: None,
    };
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
            None if only_client_files(&changed, &client_dir) => Rebuild::ClientFiles(changed),
            None => Rebuild::Server(changed),
        };
        cancelled = session.rebuild(reason);
    }
    // The watcher stopped (its thread ended); nothing more will change.
    session.type_checker.stop();
    session.stop_server();
    session.stop_vite();
    Ok(Outcome::Success)
}

/// Whether every changed path (absolute, as the watcher reports them) is under `src/client/`:
/// then the server need not be rebuilt.
fn only_client_files(changed: &[PathBuf], client_dir: &Path) -> bool {
    changed.iter().all(|path| path.starts_with(client_dir))
}

/// `PORT` from the environment, or the default.
fn port_from_environment() -> anyhow::Result<u16> {
    match std::env::var("PORT") {
        Ok(text) if !text.trim().is_empty() => match text.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => bail!(
                "PORT must be a port number from 1 to 65535, got `{text}`; fix it or pass `--port`"
            ),
        },
        _ => Ok(DEFAULT_PORT),
    }
}

/// The address the development server listens on: `HOST` when set (the runtime reads it
/// too), otherwise the runtime's development default.
fn listen_host() -> String {
    std::env::var("HOST")
        .ok()
        .filter(|host| !host.trim().is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

fn ensure_port_is_free(port: u16) -> anyhow::Result<()> {
    let host = listen_host();
    match TcpListener::bind((host.as_str(), port)) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {port} is already in use (another `appc dev` or server?); stop that process, or choose another port with `appc dev --port <PORT>`"
        ),
        Err(error) => Err(error).with_context(|| format!("cannot listen on {host}:{port}")),
    }
}

/// Watches `main.wasp` (through the project folder, so editors that save by renaming are seen)
/// and `src/` recursively, and sends every batch of relevant changed paths.
fn watch(
    project: &Project,
    sender: mpsc::Sender<Vec<PathBuf>>,
) -> anyhow::Result<Debouncer<notify::RecommendedWatcher, RecommendedCache>> {
    let root = absolute(&project.root);
    let spec_path = absolute(&project.spec_path);
    let filter_root = root.clone();
    let client_dir = root.join("src/client");
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else {
            return;
        };
        // Reading a file is reported too (inotify's open events); the build reads every file it
        // watches, so only writes, creations, removals and renames may count.
        let paths: Vec<PathBuf> = events
            .into_iter()
            .filter(|event| {
                matches!(
                    event.kind,
                    EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                )
            })
            .flat_map(|event| event.event.paths)
            .filter(|path| is_watched(path, &filter_root, &spec_path))
            .collect();
        if paths.is_empty() {
            return;
        }
        let needs_server_build = !only_client_files(&paths, &client_dir);
        // Sent before cancelling, so the loop finds the newer save when the build returns.
        let _ = sender.send(paths);
        if needs_server_build {
            // A cargo still compiling older files would only delay the newer ones. A save
            // under `src/client/` does not cancel: the server does not need it.
            process::cancel_build();
        }
    })
    .context("cannot watch the project's files")?;
    debouncer
        .watch(&root, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch `{}`", root.display()))?;
    let source_dir = root.join("src");
    if source_dir.is_dir() {
        debouncer
            .watch(&source_dir, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch `{}`", source_dir.display()))?;
    }
    Ok(debouncer)
}

/// Whether a change to `path` matters: the spec itself, or a file under `src/` that is not an
/// editor's temporary file, generated output or installed packages.
fn is_watched(path: &Path, root: &Path, spec_path: &Path) -> bool {
    if path == spec_path {
        return true;
    }
    let Ok(relative) = path.strip_prefix(root.join("src")) else {
        return false;
    };
    let ignored_folder = relative.components().any(|component| {
        let name = component.as_os_str().to_string_lossy();
        name == ".appc" || name == "node_modules" || name == ".git"
    });
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    !ignored_folder && !is_editor_temporary_file(&file_name)
}

/// Backup and swap files of vim, emacs and friends, and vim's `4913` write test.
fn is_editor_temporary_file(name: &str) -> bool {
    name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('.')
            && [".swp", ".swx", ".swo"]
                .iter()
                .any(|suffix| name.ends_with(suffix)))
        || name == "4913"
}

/// What triggered a rebuild.
enum Rebuild {
    /// `appc dev` has just started.
    First,
    /// The spec or server code changed (the paths): check, generate, compile, restart.
    Server(Vec<PathBuf>),
    /// Only files under `src/client/` changed: check and regenerate; the server keeps running.
    ClientFiles(Vec<PathBuf>),
}

/// What `appc dev` runs. With pages, Vite serves the public port (the one URL to open) and
/// proxies the server's routes to the server on an internal port; without pages the server
/// listens on the public port itself.
struct DevSession {
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
    /// Runs one build and reports it in one status line; never fails, so the loop goes on after
    /// any error (the last good server keeps running). Returns the reason back when a newer
    /// save cancelled the build, so that the next build covers its changes too.
    fn rebuild(&mut self, reason: Rebuild) -> Option<Rebuild> {
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
        if matches!(result, Ok(BuildResult::Cancelled)) {
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
            self.type_checker.start(&web_dir, self.prefix("tsc"));
        }
        match result {
            Ok(BuildResult::Served) => {
                let summary = if matches!(reason, Rebuild::First) {
                    "Built in {seconds} s, server started"
                } else {
                    "Rebuilt in {seconds} s, server restarted"
                };
                self.status(
                    StatusKind::Success,
                    &summary.replace("{seconds}", &format!("{seconds:.1}")),
                );
                if matches!(reason, Rebuild::First) {
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
            }
            Ok(BuildResult::ServerUnchanged) => self.status(
                StatusKind::Success,
                &format!(
                    "Rebuilt in {seconds:.1} s; the server is unchanged and keeps running"
                ),
            ),
            Ok(BuildResult::ClientUpdated) => self.status(
                StatusKind::Success,
                &format!(
                    "Updated client files in {seconds:.1} s; Vite reloads the page, the server keeps running"
                ),
            ),
            Ok(BuildResult::WebToolFailed(error)) => self.failure(seconds, &error),
            Ok(BuildResult::SpecErrors) => self.failure(seconds, "the spec has errors (above)"),
            Ok(BuildResult::CompileErrors) => self.failure(
                seconds,
                "the server did not compile (errors above, paths relative to the project)",
            ),
            Ok(BuildResult::ServerExited(status)) => self.status(
                StatusKind::Error,
                &format!(
                    "The new server exited right after starting ({status}); see its log above, fix it and save again"
                ),
            ),
            Ok(BuildResult::Cancelled) => {}
            Err(error) => self.failure(seconds, &format!("{error:#}")),
        }
        None
    }

    fn build_and_restart(
        &mut self,
        reason: &Rebuild,
        output: BuildOutput,
    ) -> anyhow::Result<BuildResult> {
        let Some(spec) = build::check_and_generate(&self.project, output)? else {
            return Ok(BuildResult::SpecErrors);
        };
        // The web project is written on every build: for a client-only change this copy is all
        // there is to do, and Vite hot-reloads from it.
        let web_dir = match web::write_web_project(&self.project.root, &spec)? {
            Some((web_dir, summary)) => match web::install_web_dependencies(&web_dir, self.color) {
                Ok(()) => {
                    // A server-only change leaves the web project as it was: no need to spend
                    // a core on tsc while the next save may be compiling.
                    let changed = !summary.written.is_empty() || !summary.removed.is_empty();
                    if changed || !self.type_checker.has_started() {
                        self.type_check_pending = Some(web_dir.clone());
                    }
                    Some(web_dir)
                }
                Err(error) if error.is::<web::WebToolFailed>() => {
                    return Ok(BuildResult::WebToolFailed("npm install failed".to_owned()));
                }
                Err(error) => return Err(error),
            },
            None => None,
        };
        let web_layout_unchanged = web_dir.is_some() == self.vite.is_some();
        if matches!(reason, Rebuild::ClientFiles(_))
            && self.server.is_some()
            && web_layout_unchanged
        {
            return Ok(BuildResult::ClientUpdated);
        }
        let compiled = build::compile_server(&self.project, &spec, true, output);
        // Checked before the result: a cancelled cargo fails, and a build cancelled just as it
        // finished still compiled older files than the latest save. Neither replaces the server.
        if process::take_build_cancelled() {
            return Ok(BuildResult::Cancelled);
        }
        let Some(binary) = compiled? else {
            return Ok(BuildResult::CompileErrors);
        };
        // A save that changed nothing the server is made of (an editor's save of an unchanged
        // file, a spec change that only concerns the pages) gives the very same binary: the
        // running server is kept, and so are its clients' connections.
        if web_layout_unchanged
            && let Some(server) = &self.server
            && runs_the_same_binary(server, &binary)
        {
            return Ok(BuildResult::ServerUnchanged);
        }
        // Only now, with a new binary in place, does the old server go: never two at once.
        self.stop_server();
        match web_dir {
            Some(web_dir) => {
                let internal_port = match self.internal_port {
                    Some(port) => port,
                    None => free_port()?,
                };
                self.internal_port = Some(internal_port);
                let result = self.start_server(&binary, internal_port)?;
                if self.vite.is_none() && matches!(result, BuildResult::Served) {
                    self.start_vite(&web_dir, internal_port)?;
                }
                Ok(result)
            }
            None => {
                // The spec no longer has pages: the server takes the public port back.
                self.stop_vite();
                self.start_server(&binary, self.public_port)
            }
        }
    }

    fn start_server(&mut self, binary: &Path, port: u16) -> anyhow::Result<BuildResult> {
        let mut command = Command::new(absolute(binary));
        command
            .current_dir(&self.project.root)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = process::spawn_in_own_group(&mut command)
            .with_context(|| format!("cannot start `{}`", binary.display()))?;
        let prefix = self.prefix("server");
        if let Some(stdout) = child.stdout.take() {
            forward_lines(stdout, prefix.clone(), None);
        }
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, prefix, None);
        }
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                process::forget(&child);
                return Ok(BuildResult::ServerExited(status.to_string()));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                process::stop_group(&mut child);
                bail!(
                    "the server did not accept connections on port {port} within {} s",
                    SERVER_START_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.server = Some(child);
        Ok(BuildResult::Served)
    }

    fn stop_server(&mut self) {
        if let Some(mut server) = self.server.take() {
            process::stop_group(&mut server);
        }
    }

    /// Starts the Vite dev server on the public port, proxying to the server on
    /// `internal_port`, and waits until it accepts connections. It keeps running across server
    /// restarts and reloads the page itself when the copied client files change.
    fn start_vite(&mut self, web_dir: &Path, internal_port: u16) -> anyhow::Result<()> {
        let server_url = format!("http://127.0.0.1:{internal_port}");
        let mut command = web::vite_dev_command(web_dir, self.public_port, &server_url);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = process::spawn_in_own_group(&mut command)
            .context("cannot start the Vite dev server")?;
        let prefix = self.prefix("web");
        if let Some(stdout) = child.stdout.take() {
            forward_lines(stdout, prefix.clone(), Some(absolute(web_dir)));
        }
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, prefix, Some(absolute(web_dir)));
        }
        let deadline = Instant::now() + VITE_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                process::forget(&child);
                bail!("the Vite dev server exited ({status}); see its output above");
            }
            if TcpStream::connect(("127.0.0.1", self.public_port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                process::stop_group(&mut child);
                bail!(
                    "the Vite dev server did not accept connections on port {} within {} s",
                    self.public_port,
                    VITE_START_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.vite = Some(child);
        Ok(())
    }

    fn stop_vite(&mut self) {
        if let Some(mut vite) = self.vite.take() {
            process::stop_group(&mut vite);
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

    /// `server | ` (dimmed on a terminal) for the lines a child prints.
    fn prefix(&self, name: &str) -> String {
        if self.color {
            format!("\x1b[2m{name} |\x1b[0m ")
        } else {
            format!("{name} | ")
        }
    }
}

enum BuildResult {
    Served,
    ClientUpdated,
    /// npm (or another Node tool) failed on the web project; its output has been printed.
    WebToolFailed(String),
    SpecErrors,
    CompileErrors,
    ServerExited(String),
    /// A newer save cancelled the compile; the running server was left alone.
    Cancelled,
    /// The build gave the binary the running server already runs; it was left alone.
    ServerUnchanged,
}

#[derive(Clone, Copy)]
enum StatusKind {
    Info,
    Success,
    Error,
}

/// One `[appc]` line: bold on a terminal, green for success and red for errors.
fn status_line(color: bool, kind: StatusKind, message: &str) {
    if !color {
        eprintln!("[appc] {message}");
        return;
    }
    let style = match kind {
        StatusKind::Info => "1",
        StatusKind::Success => "1;32",
        StatusKind::Error => "1;31",
    };
    eprintln!("\x1b[{style}m[appc] {message}\x1b[0m");
}

/// Runs `tsc --noEmit` on the web project in the background, one run at a time: starting a run
/// stops the one still running (its files are out of date). Each run prints its errors with the
/// team's paths, or, when the previous run had errors, a line saying the types are fine again.
struct TypeChecker {
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
    fn new(color: bool) -> TypeChecker {
        TypeChecker {
            color,
            running: None,
            started: false,
            last_run_failed: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts tsc on `web_dir`, stopping a run that is still going. Never fails: a tsc that
    /// cannot start is reported in a status line.
    fn start(&mut self, web_dir: &Path, prefix: String) {
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
                    eprintln!("{prefix}{line}");
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

    fn has_started(&self) -> bool {
        self.started
    }

    /// Stops the running tsc, if any, without a report (a run that already finished reports
    /// in full: its thread took the child out first).
    fn stop(&mut self) {
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

/// Prints every line a child writes, with `prefix`, on a thread of its own (until the pipe
/// closes). With the web project's folder (Vite's lines), the copies of the team's files are
/// named by the team's paths.
fn forward_lines(stream: impl Read + Send + 'static, prefix: String, web_dir: Option<PathBuf>) {
    std::thread::spawn(move || {
        let mut proxy_noise = ProxyNoiseFilter::default();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            // Vite frames its banner with empty lines; `web | ` alone reads like a glitch.
            if line.trim().is_empty() {
                continue;
            }
            let Some(web_dir) = &web_dir else {
                eprintln!("{prefix}{line}");
                continue;
            };
            for line in proxy_noise.filter(line) {
                eprintln!("{prefix}{}", team_paths_in_vite_line(&line, web_dir));
            }
        }
    });
}

/// Drops Vite's proxy errors that only say the server restarted. Every restart resets the
/// connections Vite proxies to it (a browser's socket, a request in flight), and Vite logs each
/// one with a Node stack trace (`[vite] ws proxy error:`, `Error: read ECONNRESET`,
/// `    at ...`); appc's own status line already says that the server restarted. Other proxy
/// errors are passed on whole.
#[derive(Default)]
struct ProxyNoiseFilter {
    /// A `[vite] ... proxy ... error` line, held until the next line says which error it was.
    held_header: Option<String>,
    /// Inside a dropped error: its stack lines are dropped too.
    dropping_stack: bool,
}

impl ProxyNoiseFilter {
    /// The lines to print for `line` (none, the line itself, or a held line before it).
    fn filter(&mut self, line: String) -> Vec<String> {
        if self.dropping_stack {
            if line.trim_start().starts_with("at ") {
                return Vec::new();
            }
            self.dropping_stack = false;
        }
        if let Some(header) = self.held_header.take() {
            let restart_noise = line.starts_with("Error: ")
                && [
                    "ECONNRESET",
                    "ECONNREFUSED",
                    "EPIPE",
                    "socket hang up",
                    "ended by the other party",
                ]
                .iter()
                .any(|error| line.contains(error));
            if restart_noise {
                self.dropping_stack = true;
                return Vec::new();
            }
            let mut lines = vec![header];
            lines.extend(self.filter(line));
            return lines;
        }
        if line.contains("[vite]") && line.contains("proxy") && line.contains("error") {
            self.held_header = Some(line);
            return Vec::new();
        }
        vec![line]
    }
}

/// Vite names the copies of the team's files by absolute path in errors
/// (`/p/.appc/out/web/src/ext-src/client/MainPage.tsx:4:3`) and by URL in hot-reload lines
/// (`/src/ext-src/client/MainPage.tsx`); both become the team's path (`src/client/MainPage.tsx`).
fn team_paths_in_vite_line(line: &str, web_dir: &Path) -> String {
    let copies = format!("{TEAM_FILES_DIR}/");
    line.replace(&format!("{}/{copies}", web_dir.display()), "src/")
        .replace(&format!("/{copies}"), "src/")
        .replace(&copies, "src/")
}

/// Whether the running `server` runs exactly the file `binary` holds now. Its own executable is
/// still readable through `/proc` after the build renamed a new binary over the old one.
fn runs_the_same_binary(server: &Child, binary: &Path) -> bool {
    let running = PathBuf::from(format!("/proc/{}/exe", server.id()));
    let (Ok(running_size), Ok(new_size)) = (std::fs::metadata(&running), std::fs::metadata(binary))
    else {
        return false;
    };
    if running_size.len() != new_size.len() {
        return false;
    }
    match (std::fs::read(&running), std::fs::read(binary)) {
        (Ok(running), Ok(new)) => running == new,
        _ => false,
    }
}

/// A port that was free a moment ago (the OS picks it).
fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_temporary_files_are_ignored() {
        for name in [
            ".chat.rs.swp",
            ".chat.rs.swx",
            "chat.rs~",
            ".#chat.rs",
            "4913",
        ] {
            assert!(is_editor_temporary_file(name), "{name}");
        }
        for name in ["chat.rs", "MainPage.tsx", ".env", "swp.rs"] {
            assert!(!is_editor_temporary_file(name), "{name}");
        }
    }

    #[test]
    fn tool_output_loses_its_extra_empty_lines() {
        assert_eq!(
            tidy_lines("\nerror one\n\n  code\n\n\nFound 1 error\n\n"),
            vec!["error one", "", "  code", "", "Found 1 error"]
        );
        assert!(tidy_lines("\n\n").is_empty());
    }

    #[test]
    fn proxy_errors_of_a_restart_are_dropped_and_others_kept() {
        let mut filter = ProxyNoiseFilter::default();
        let mut printed = Vec::new();
        for line in [
            "6:03:38 AM [vite] ws proxy error:",
            "Error: read ECONNRESET",
            "    at TCP.onStreamRead (node:internal/stream_base_commons:218:20)",
            "6:03:38 AM [vite] ws proxy socket error:",
            "Error: write EPIPE",
            "    at afterWriteDispatched (node:internal/stream_base_commons:161:15)",
            "6:03:39 AM [vite] (client) hmr update /src/ext-src/client/MainPage.tsx",
            "6:03:40 AM [vite] http proxy error: /auth/me",
            "Error: self-signed certificate",
            "    at TLSSocket.onConnectSecure (node:_tls_wrap:1677:34)",
        ] {
            printed.extend(filter.filter(line.to_owned()));
        }
        assert_eq!(
            printed,
            vec![
                "6:03:39 AM [vite] (client) hmr update /src/ext-src/client/MainPage.tsx",
                "6:03:40 AM [vite] http proxy error: /auth/me",
                "Error: self-signed certificate",
                "    at TLSSocket.onConnectSecure (node:_tls_wrap:1677:34)",
            ]
        );
    }

    #[test]
    fn vite_lines_name_the_team_files() {
        let web_dir = Path::new("/p/.appc/out/web");
        assert_eq!(
            team_paths_in_vite_line(
                "5:53:26 AM [vite] (client) hmr update /src/ext-src/client/MainPage.tsx",
                web_dir
            ),
            "5:53:26 AM [vite] (client) hmr update src/client/MainPage.tsx"
        );
        assert_eq!(
            team_paths_in_vite_line(
                "[plugin:vite:esbuild] /p/.appc/out/web/src/ext-src/client/MainPage.tsx:4:3: ERROR",
                web_dir
            ),
            "[plugin:vite:esbuild] src/client/MainPage.tsx:4:3: ERROR"
        );
    }

    #[test]
    fn only_the_spec_and_sources_are_watched() {
        let root = Path::new("/project");
        let spec = Path::new("/project/main.wasp");
        assert!(is_watched(spec, root, spec));
        assert!(is_watched(
            Path::new("/project/src/server/chat.rs"),
            root,
            spec
        ));
        assert!(is_watched(
            Path::new("/project/src/client/MainPage.tsx"),
            root,
            spec
        ));
        for ignored in [
            "/project/.appc/out/server/src/main.rs",
            "/project/README.md",
            "/project/src/client/node_modules/x/index.js",
            "/project/src/server/.chat.rs.swp",
            "/project/src/server/4913",
        ] {
            assert!(!is_watched(Path::new(ignored), root, spec), "{ignored}");
        }
    }
}
