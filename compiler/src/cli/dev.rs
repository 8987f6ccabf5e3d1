//! `appc dev`: builds the project (debug), serves it, and rebuilds and restarts on every save.
//!
//! One loop owns everything: it waits for a batch of file changes (notify, debounced), decides
//! what the batch needs, runs the build on this thread and swaps the server when the build
//! succeeded. Because builds run one at a time on the loop's thread, saves made during a build
//! queue up in the channel and produce exactly one more build, and there is never more than one
//! server. A failed check or compile prints its errors and leaves the last good server running.
//!
//! When the spec has pages, the Vite dev server listens on the public port (the one URL to open)
//! and proxies `/auth`, `/api` and `/socket.io` to the server on an internal port. A save under
//! `src/client/` only copies the files into the generated web project (`cli::web`), where Vite
//! hot-reloads them; the server is neither rebuilt nor restarted. Without pages the server
//! listens on the public port itself.
//!
//! Every child (cargo, the server, Vite) runs in its own process group (`process.rs`), so Ctrl-C
//! ends all of them and nothing is left behind.

use super::build::{self, BuildOutput, Project};
use super::process;
use super::web;
use super::{ColorChoice, DevArgs, Outcome, stderr_wants_color};
use anyhow::{Context, bail};
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
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
    let mut session = DevSession {
        project,
        public_port: port,
        internal_port: None,
        color,
        server: None,
        vite: None,
    };
    session.rebuild(Rebuild::First);
    while let Ok(mut changed) = changes.recv() {
        // Batches that arrived during the last build, or that follow within the settle time,
        // are handled together: one more build.
        while let Ok(more) = changes.recv_timeout(SETTLE) {
            changed.extend(more);
        }
        changed.sort();
        changed.dedup();
        // The watcher reports absolute paths.
        let client_dir = absolute(&session.project.root).join("src/client");
        let only_client_files = changed.iter().all(|path| path.starts_with(&client_dir));
        session.rebuild(if only_client_files {
            Rebuild::ClientFiles(changed)
        } else {
            Rebuild::Server(changed)
        });
    }
    // The watcher stopped (its thread ended); nothing more will change.
    session.stop_server();
    session.stop_vite();
    Ok(Outcome::Success)
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
        if !paths.is_empty() {
            let _ = sender.send(paths);
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
}

impl DevSession {
    /// Runs one build and reports it in one status line; never fails, so the loop goes on after
    /// any error (the last good server keeps running).
    fn rebuild(&mut self, reason: Rebuild) {
        let started = Instant::now();
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
                }
            }
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
            Err(error) => self.failure(seconds, &format!("{error:#}")),
        }
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
            Some((web_dir, _)) => match web::install_web_dependencies(&web_dir, self.color) {
                Ok(()) => Some(web_dir),
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
        let Some(binary) = build::compile_server(&self.project, &spec, true, output)? else {
            return Ok(BuildResult::CompileErrors);
        };
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
            forward_lines(stdout, prefix.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, prefix);
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
            forward_lines(stdout, prefix.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, prefix);
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
            &format!("Build failed in {seconds:.1} s: {what}; {keeps}. Save again to retry"),
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
        if !self.color {
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
}

#[derive(Clone, Copy)]
enum StatusKind {
    Info,
    Success,
    Error,
}

/// Prints every line a child writes, with `prefix`, on a thread of its own (until the pipe closes).
fn forward_lines(stream: impl Read + Send + 'static, prefix: String) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            eprintln!("{prefix}{line}");
        }
    });
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
