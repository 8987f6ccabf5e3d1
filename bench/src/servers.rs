//! The servers under test: the environment every benchmark server reads, and the processes the
//! load generator starts for one run (pinned to their own core with `taskset`, in their own
//! process group, stopped when dropped), with a way to read their resident memory.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::protocol::Encoding;

/// Which benchmark app a server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppKind {
    /// Broadcast `chatMessage {id, username, text}` to every socket.
    Chat,
    /// Emit `greeting` on connect and answer `textInput` with `uppercase`.
    Uppercase,
}

impl AppKind {
    /// The value of the servers' `APP` environment variable.
    pub fn name(self) -> &'static str {
        match self {
            AppKind::Chat => "chat",
            AppKind::Uppercase => "uppercase",
        }
    }
}

/// The configuration every benchmark server reads from its environment.
#[derive(Debug, Clone)]
pub struct ServerEnvironment {
    pub port: u16,
    pub app: AppKind,
    pub jwt_secret: String,
    pub encoding: Encoding,
}

impl ServerEnvironment {
    /// Reads `PORT`, `APP`, `JWT_SECRET` and `ENCODING`.
    pub fn from_process_environment() -> anyhow::Result<ServerEnvironment> {
        let port = match std::env::var("PORT") {
            Ok(text) => text
                .parse()
                .with_context(|| format!("PORT is `{text}`: set it to a port number"))?,
            Err(_) => 3000,
        };
        let app = match std::env::var("APP").as_deref() {
            Ok("chat") | Err(_) => AppKind::Chat,
            Ok("uppercase") => AppKind::Uppercase,
            Ok(other) => bail!("APP is `{other}`: set it to chat or uppercase"),
        };
        let encoding = match std::env::var("ENCODING").as_deref() {
            Ok("json") | Err(_) => Encoding::Json,
            Ok("msgpack") => Encoding::Msgpack,
            Ok(other) => bail!("ENCODING is `{other}`: set it to json or msgpack"),
        };
        let jwt_secret = std::env::var("JWT_SECRET").unwrap_or_default();
        Ok(ServerEnvironment {
            port,
            app,
            jwt_secret,
            encoding,
        })
    }
}

/// The tokio runtime for a server: single-threaded when the process may use one core (as when
/// pinned with taskset), where the multi-threaded scheduler only adds cross-thread wake-ups
/// (measured: 60% more broadcast deliveries per second on one core), multi-threaded otherwise.
pub fn server_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
}

/// Resolves when the process receives SIGTERM or SIGINT, for graceful shutdown.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the server runs until it is killed, which is still correct.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
}

/// The three servers of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    /// The appc server (today the hand-written stand-in, later the generated binary).
    Appc,
    /// The Node.js socket.io 4.8 anchor under `bench/node/`.
    Node,
    /// The raw-WebSocket limit server.
    Limit,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Appc => "appc",
            ServerKind::Node => "node",
            ServerKind::Limit => "limit",
        }
    }
}

/// How to start each server.
#[derive(Debug, Clone)]
pub struct ServerCommands {
    /// The appc chat server: the stand-in (`standin-server`, the default) or the binary
    /// `appc build examples/chat` generates.
    pub appc_chat_binary: PathBuf,
    /// The appc uppercase echo server: the stand-in or the generated `examples/uppercase` binary.
    pub appc_echo_binary: PathBuf,
    /// The raw-WebSocket limit binary.
    pub limit_binary: PathBuf,
    /// The directory holding the Node anchor's `server.mjs` and its installed `node_modules`.
    pub node_directory: PathBuf,
    /// The CPU core the servers are pinned to, or none to leave them unpinned.
    pub server_core: Option<usize>,
    /// Whether the Node anchor's chat stores messages in SQLite as the generated appc chat does
    /// (`STORE_MESSAGES=1`; needs better-sqlite3 installed in the Node directory).
    pub node_store_messages: bool,
    /// Where the servers' SQLite database files go (the system's temporary directory by default).
    pub database_directory: Option<PathBuf>,
}

/// A running server process, stopped (with its whole process group) when dropped.
pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    pub kind: ServerKind,
    /// The SQLite database the server keeps its data in, removed once it stopped; none for a
    /// server whose data lives elsewhere (PostgreSQL, or no data at all).
    database_path: Option<PathBuf>,
}

impl ServerProcess {
    /// Starts `kind` running `app` on a free loopback port and waits until it accepts connections.
    pub fn start(
        commands: &ServerCommands,
        kind: ServerKind,
        app: AppKind,
        encoding: Encoding,
        jwt_secret: &str,
    ) -> anyhow::Result<ServerProcess> {
        let port = free_loopback_port()?;
        let (program, arguments): (PathBuf, Vec<String>) = match kind {
            ServerKind::Appc => match app {
                AppKind::Chat => (commands.appc_chat_binary.clone(), vec![]),
                AppKind::Uppercase => (commands.appc_echo_binary.clone(), vec![]),
            },
            ServerKind::Limit => (commands.limit_binary.clone(), vec![]),
            ServerKind::Node => (
                PathBuf::from("node"),
                vec![
                    commands
                        .node_directory
                        .join("server.mjs")
                        .display()
                        .to_string(),
                ],
            ),
        };
        if kind != ServerKind::Node && !program.exists() {
            bail!(
                "the {} server binary {} does not exist: build it with `cargo build --release -p appc-bench` or pass its path",
                kind.name(),
                program.display()
            );
        }
        if kind == ServerKind::Node && !commands.node_directory.join("node_modules").exists() {
            bail!(
                "the Node anchor's dependencies are not installed: run `npm ci` in {}",
                commands.node_directory.display()
            );
        }
        let mut command = match commands.server_core {
            Some(core) => {
                let mut command = Command::new("taskset");
                command
                    .arg("--cpu-list")
                    .arg(core.to_string())
                    .arg(&program)
                    .args(&arguments);
                command
            }
            None => {
                let mut command = Command::new(&program);
                command.args(&arguments);
                command
            }
        };
        // A generated appc server keeps its data in SQLite; each run gets a fresh database file
        // so that one scenario's messages do not become the next one's history.
        let database_directory = commands
            .database_directory
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        remove_stale_database_files(&database_directory);
        let database_path =
            database_directory.join(format!("appc-bench-{}-{port}.db", std::process::id()));
        remove_database_files(&database_path);
        command
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("APPC_ENV", "production")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", database_path.display()),
            )
            .env("APP", app.name())
            .env("JWT_SECRET", jwt_secret)
            // The broadcast's senders are machines sending 200 messages/s each, far beyond the
            // per-socket limits a generated server sets for people (20 events/s, 32 waiting):
            // the benchmark measures throughput, so it lifts them.
            .env("APPC_SOCKET_EVENTS_PER_SECOND", "1000000")
            .env("APPC_SOCKET_EVENT_BURST", "1000000")
            .env("APPC_SOCKET_QUEUED_EVENTS", "1000000")
            // The load generator opens every connection from a few loopback addresses, so the
            // per-address connection cap a generated server sets (256) would refuse most of the
            // idle scenario's thousands; the benchmark measures capacity, so it lifts the caps.
            .env("APPC_MAX_CONNECTIONS_PER_IP", "1000000")
            .env("APPC_MAX_CONNECTIONS", "1000000")
            .env("ENCODING", encoding.name())
            .env(
                "STORE_MESSAGES",
                if commands.node_store_messages {
                    "1"
                } else {
                    "0"
                },
            );
        let server = ServerProcess::spawn(command, kind, port, database_path.clone())?;
        // The generated chat looks up the token's user on every connection, as a real app does,
        // so the users the load generator signs tokens for (ids 0 to 65,535) must exist. The
        // stand-in, Node and the limit never create the file, and nothing is seeded for them.
        if kind == ServerKind::Appc && app == AppKind::Chat && database_path.exists() {
            seed_users(&database_path)?;
        }
        Ok(server)
    }

    /// Starts `command`, a server that will listen on `127.0.0.1:port` and keep its data in
    /// `database_path`, in its own process group (stopped by the kernel if appc-bench dies),
    /// its stdout discarded and its stderr passed through, and waits until it accepts connections.
    pub fn spawn(
        command: Command,
        kind: ServerKind,
        port: u16,
        database_path: PathBuf,
    ) -> anyhow::Result<ServerProcess> {
        ServerProcess::spawn_with_data(command, kind, port, Some(database_path))
    }

    /// Like [`ServerProcess::spawn`], for a server with no SQLite file of its own to remove.
    pub fn spawn_without_database(
        command: Command,
        kind: ServerKind,
        port: u16,
    ) -> anyhow::Result<ServerProcess> {
        ServerProcess::spawn_with_data(command, kind, port, None)
    }

    fn spawn_with_data(
        mut command: Command,
        kind: ServerKind,
        port: u16,
        database_path: Option<PathBuf>,
    ) -> anyhow::Result<ServerProcess> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // Its own process group lets the drop stop everything the server started.
        stop_with_appc_bench(&mut command);
        let child = command.spawn().with_context(|| {
            format!(
                "could not start the {} server {}",
                kind.name(),
                command.get_program().to_string_lossy()
            )
        })?;
        let mut server = ServerProcess {
            child,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            kind,
            database_path,
        };
        server.wait_until_listening(Duration::from_secs(30))?;
        Ok(server)
    }

    /// The server's process id (taskset replaces itself with the server, so it is the server's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident set size in bytes.
    pub fn resident_bytes(&self) -> Option<u64> {
        resident_bytes(self.pid())
    }

    /// The CPU time the server has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.pid())
    }

    fn wait_until_listening(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the {} server exited at start with {status}",
                    self.kind.name()
                );
            }
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "the {} server did not listen on {} within {} s",
            self.kind.name(),
            self.address,
            timeout.as_secs()
        )
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        stop_process_group(&mut self.child);
        // Only once the server has exited (it cannot write the files back), and whichever way
        // it stopped.
        if let Some(database_path) = &self.database_path {
            remove_database_files(database_path);
        }
    }
}

/// Starts `command` in its own process group (so that [`stop_process_group`] stops everything it
/// starts), and has the kernel stop it if appc-bench itself dies, when drops do not run.
pub fn stop_with_appc_bench(command: &mut Command) {
    std::os::unix::process::CommandExt::process_group(command, 0);
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Stops the process group `child` leads (see [`stop_with_appc_bench`]): SIGTERM, then SIGKILL
/// if it has not exited in 3 s.
pub fn stop_process_group(child: &mut Child) {
    let process_group = child.id() as libc::pid_t;
    // SAFETY: kill only sends a signal; a negative pid addresses the group we created.
    unsafe { libc::kill(-process_group, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above; SIGKILL ends a server that ignored SIGTERM.
    unsafe { libc::kill(-process_group, libc::SIGKILL) };
    let _ = child.wait();
}

/// How many users [`seed_users`] creates: more than any scenario's connections.
const SEEDED_USERS: u32 = 65_536;

/// Inserts the users with ids 0 to 65,535 (`user-<id>`, the names in the load generator's
/// tokens) into a generated server's SQLite database, with the `sqlite3` command-line tool. Signing
/// them up over HTTP would spend minutes hashing passwords no scenario uses.
fn seed_users(database_path: &Path) -> anyhow::Result<()> {
    let statement = format!(
        "WITH RECURSIVE ids(id) AS (SELECT 0 UNION ALL SELECT id + 1 FROM ids WHERE id < {}) \
         INSERT OR IGNORE INTO \"User\" (id, username) SELECT id, 'user-' || id FROM ids;",
        SEEDED_USERS - 1
    );
    let output = Command::new("sqlite3")
        .arg(database_path)
        .arg(statement)
        .output()
        .context("could not run `sqlite3` to create the benchmark users: install the sqlite3 command-line tool")?;
    if !output.status.success() {
        bail!(
            "sqlite3 could not create the benchmark users in {}: {}",
            database_path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The suffixes of a SQLite database's files: the database and its journals.
const DATABASE_FILE_SUFFIXES: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// Removes a SQLite database and its journal files, if they exist.
fn remove_database_files(database_path: &Path) {
    for suffix in DATABASE_FILE_SUFFIXES {
        let mut path = database_path.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }
}

/// Removes the database files (`appc-bench-<pid>-<port>.db` and its journals) that runs of
/// appc-bench which no longer exist left in `directory`: a run that is killed (Ctrl-C, SIGKILL)
/// never drops its servers, so its files would otherwise stay there for good. Files of a running
/// appc-bench, this one included, are left alone.
pub fn remove_stale_database_files(directory: &Path) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(bench_database_owner) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The process id in the name of a database file that [`ServerProcess::start`] creates
/// (`appc-bench-<pid>-<port>.db`, or one of its journals), or `None` for any other name.
fn bench_database_owner(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix("appc-bench-")?;
    let (pid, rest) = rest.split_once('-')?;
    let (port, suffix) = rest.split_once(".db")?;
    let pid = pid.parse::<u32>().ok()?;
    port.parse::<u16>().ok()?;
    DATABASE_FILE_SUFFIXES.contains(&suffix).then_some(pid)
}

/// The resident set size of a process in bytes, read from `/proc/PID/status`.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kibibytes: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kibibytes * 1024)
}

/// The CPU time (user + system) a process has used so far, in seconds, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the fields start after it.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 11 and 12 after the name.
    let user_ticks: f64 = fields.get(11)?.parse().ok()?;
    let system_ticks: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks_per_second > 0.0).then(|| (user_ticks + system_ticks) / ticks_per_second)
}

/// The directory that holds the running executable, where cargo puts the sibling binaries.
pub fn sibling_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join(name)
}

pub fn free_loopback_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("could not find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Creates the database file and its journals at `database_path`, as a generated server does.
    fn create_database_files(database_path: &Path) -> Vec<PathBuf> {
        DATABASE_FILE_SUFFIXES
            .iter()
            .map(|suffix| {
                let mut path = database_path.as_os_str().to_owned();
                path.push(suffix);
                let path = PathBuf::from(path);
                std::fs::write(&path, b"data").expect("the temporary folder is writable");
                path
            })
            .collect()
    }

    fn remaining_files(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory)
            .expect("the folder exists")
            .map(|entry| {
                entry
                    .expect("readable")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_server_that_exits_on_sigterm_leaves_no_database_files() {
        let directory = tempfile::tempdir().expect("a temporary folder");
        // `sleep` exits at once on SIGTERM: the path of every server that shuts down cleanly.
        let mut command = Command::new("sleep");
        command.arg("60");
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("sleep starts");
        let database_path = directory
            .path()
            .join(format!("appc-bench-{}-4000.db", std::process::id()));
        let files = create_database_files(&database_path);
        let server = ServerProcess {
            child,
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 4000)),
            kind: ServerKind::Appc,
            database_path: Some(database_path),
        };
        drop(server);
        for file in files {
            assert!(!file.exists(), "{} was left behind", file.display());
        }
    }

    #[test]
    fn files_of_finished_runs_are_removed_and_those_of_running_ones_kept() {
        let directory = tempfile::tempdir().expect("a temporary folder");
        let mut finished = Command::new("true").spawn().expect("true starts");
        let finished_pid = finished.id();
        finished.wait().expect("true exits");
        create_database_files(
            &directory
                .path()
                .join(format!("appc-bench-{finished_pid}-4001.db")),
        );
        let running = directory
            .path()
            .join(format!("appc-bench-{}-4002.db", std::process::id()));
        std::fs::write(&running, b"data").expect("writable");
        let unrelated = directory
            .path()
            .join(format!("appc-bench-{finished_pid}-notes.txt"));
        std::fs::write(&unrelated, b"data").expect("writable");

        remove_stale_database_files(directory.path());

        assert_eq!(
            remaining_files(directory.path()),
            [
                format!("appc-bench-{}-4002.db", std::process::id()),
                format!("appc-bench-{finished_pid}-notes.txt"),
            ]
        );
    }

    #[test]
    fn only_the_names_of_bench_databases_have_an_owner() {
        assert_eq!(bench_database_owner("appc-bench-123-4000.db"), Some(123));
        assert_eq!(
            bench_database_owner("appc-bench-123-4000.db-wal"),
            Some(123)
        );
        assert_eq!(
            bench_database_owner("appc-bench-123-4000.db-shm"),
            Some(123)
        );
        assert_eq!(
            bench_database_owner("appc-bench-123-4000.db-journal"),
            Some(123)
        );
        assert_eq!(bench_database_owner("appc-bench-123-4000.dbx"), None);
        assert_eq!(bench_database_owner("appc-bench-abc-4000.db"), None);
        assert_eq!(bench_database_owner("appc-bench-123-70000.db"), None);
        assert_eq!(bench_database_owner("other-123-4000.db"), None);
    }
}
