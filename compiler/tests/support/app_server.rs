//! Building a project with `appc build --debug` and running its server binary for the tests that
//! drive real servers (`e2e.rs`, `attack.rs`): one build per project and test run, a free port, a
//! temporary SQLite database, the environment a deployment would set, and node scripts from
//! `tests/e2e` run against it with a deadline.
//!
//! Every test binary that includes this module builds into the same `CARGO_TARGET_DIR` and the
//! same `<project>/.appc/build/server`, so the chat built by one is reused by the next.

#![allow(
    dead_code,
    reason = "each test binary that includes these helpers uses a different part of them"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The JWT secret every test server signs with (at least 32 bytes, as production requires).
pub const JWT_SECRET: &str = "e2e-secret-0123456789abcdef0123456789abcdef";

pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate is inside the workspace")
        .to_path_buf()
}

pub fn e2e_scripts_dir() -> PathBuf {
    repository_root().join("tests/e2e")
}

/// `appc <arguments> <project> --color never`, sharing the workspace's target folder unless the
/// caller chose one, so dependencies compiled for the workspace are reused.
pub fn appc_command(arguments: &[&str], project: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_appc"));
    command
        .args(arguments)
        .arg(project)
        .arg("--color")
        .arg("never");
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command.env("CARGO_TARGET_DIR", repository_root().join("target"));
    }
    command
}

/// Runs `appc build` on a project and returns its output.
pub fn appc_build(project: &Path, extra_args: &[&str]) -> Output {
    let mut arguments = vec!["build"];
    arguments.extend_from_slice(extra_args);
    appc_command(&arguments, project)
        .output()
        .expect("the appc binary runs")
}

/// Builds an example once per test run (tests share the result) with `--debug`, and returns
/// the path of its binary.
pub fn built_example(example: &str) -> PathBuf {
    built_project(&repository_root().join("examples").join(example))
}

/// Builds a project once per test run with `--debug`, checks that it compiled without
/// warnings, and returns the path of its binary.
pub fn built_project(project: &Path) -> PathBuf {
    static BUILDS: OnceLock<Mutex<Vec<(PathBuf, PathBuf)>>> = OnceLock::new();
    let builds = BUILDS.get_or_init(|| Mutex::new(Vec::new()));
    // Holding the lock while building also keeps two cargo builds from competing for the cores.
    let mut builds = builds
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, binary)) = builds.iter().find(|(built, _)| built == project) {
        return binary.clone();
    }
    let output = appc_build(project, &["--debug"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "appc build {} failed:\n{stderr}",
        project.display()
    );
    // Only what cargo and rustc print counts here; warnings about the spec come before.
    let compiler_output = stderr
        .split_once("Compiling the server")
        .map_or(stderr.as_ref(), |(_, after)| after);
    assert!(
        !compiler_output.contains("warning"),
        "the generated server of {} compiles with warnings:\n{stderr}",
        project.display()
    );
    let binary = project.join(".appc/build/server");
    assert!(binary.is_file(), "no binary at {}", binary.display());
    builds.push((project.to_path_buf(), binary.clone()));
    binary
}

/// A running server binary; killed when dropped.
pub struct RunningServer {
    child: Child,
    pub url: String,
    log_path: PathBuf,
}

impl RunningServer {
    /// Starts `binary` with its database in `data_dir`, as the end-to-end scripts need it, and
    /// waits until it accepts connections.
    pub fn start(binary: &Path, data_dir: &Path) -> RunningServer {
        // chat.mjs's history-limit sends 55 messages as fast as round trips allow, beyond the
        // burst of 40 a person needs; runtime/tests/socket_limits.rs tests the limit itself.
        RunningServer::start_with(binary, data_dir, &[("APPC_SOCKET_EVENT_BURST", "100")])
    }

    /// Starts `binary` with its database in `data_dir` and the runtime's default limits, except
    /// for the environment `variables` given (such as `APPC_*` limits), and waits until it
    /// accepts connections.
    pub fn start_with(binary: &Path, data_dir: &Path, variables: &[(&str, &str)]) -> RunningServer {
        let port = free_port();
        let log_path = data_dir.join(format!("server-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("the log file can be created");
        let child = server_command(binary, data_dir, port)
            .envs(variables.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the server binary starts");
        let server = RunningServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log_path,
        };
        server.wait_until_listening(port);
        server
    }

    fn wait_until_listening(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the server did not listen on port {port} within 30 s; its log:\n{}",
            self.log()
        );
    }

    /// The server's process id (for reading its memory in `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server has logged so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stops the server like a deployment would (SIGTERM) and waits for it to exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the server did not stop within 10 s of SIGTERM; its log:\n{}",
            self.log()
        );
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server `binary` configured as the tests run it: production mode, `port`, and a SQLite
/// database in `data_dir`.
pub fn server_command(binary: &Path, data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(data_dir)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", database_url(data_dir))
        .env("JWT_SECRET", JWT_SECRET)
        .env("APPC_ENV", "production")
        .env("RUST_LOG", "info");
    command
}

/// The SQLite database of the tests' servers in `data_dir`.
pub fn database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("app.db").display())
}

/// A port that was free a moment ago (the OS picks it; the listener is closed right away).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port is available")
        .port()
}

pub fn assert_e2e_package_installed(package: &str) {
    assert!(
        e2e_scripts_dir()
            .join("node_modules")
            .join(package)
            .is_dir(),
        "the e2e node package {package} is missing; run `npm ci --prefix tests/e2e` (or `bash scripts/test.sh`) first"
    );
}

/// Runs `node tests/e2e/<script> <url> <args...>` and fails the test with its output (and the
/// server's log) unless it passes within `timeout`; returns what the script printed on stdout.
pub fn run_node_script(
    server: &RunningServer,
    script: &str,
    args: &[&str],
    timeout: Duration,
) -> String {
    run_node_script_at(&server.url, script, args, timeout, &|| server.log())
}

/// Runs `node tests/e2e/<script> <url> <args...>` against any `url` (a server, or a proxy in front
/// of several) and fails the test with its output and `servers_log()` unless it passes within
/// `timeout`; returns what the script printed on stdout.
pub fn run_node_script_at(
    url: &str,
    script: &str,
    args: &[&str],
    timeout: Duration,
    servers_log: &dyn Fn() -> String,
) -> String {
    let scripts = e2e_scripts_dir();
    let mut child = Command::new("node")
        .arg(scripts.join(script))
        .arg(url)
        .args(args)
        .current_dir(&scripts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs; install Node.js 18 or later");
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("node can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("node's output can be read");
            panic!(
                "node {script} {args:?} did not finish within {timeout:?}:\n{}{}\nserver log:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                servers_log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("node's output can be read");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        status.success(),
        "node {script} {args:?} failed:\n{stdout}{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        servers_log()
    );
    stdout
}
