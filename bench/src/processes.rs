//! The multi-process broadcast benchmark (issue #16): the broadcast scenario with its clients
//! spread evenly over the processes of one app, run in one go on several setups: the generated
//! chat as one process without Redis, one process with Redis, two processes on one Redis, and
//! the Node anchor in `bench/node-redis/` (socket.io 4.8 with `@socket.io/redis-adapter`) as two
//! processes on one Redis. Every message must reach every client, whichever process its sender
//! is connected to, so with two processes half of each message's deliveries cross Redis.
//!
//! Each setup gets a fresh Redis (`redis-server` on a free loopback port, no persistence) and a
//! fresh PostgreSQL database on the server given (the processes of one app share it, as a
//! deployment does). Both chats do the same work: they store every message in it before
//! broadcasting the stored row. The app processes and Redis are pinned to the servers' core,
//! like the single-process benchmark's server.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::client::{ServerProtocol, Target};
use crate::operations::install_node_packages;
use crate::protocol::Encoding;
use crate::scenarios::{self, BroadcastConfig, BroadcastResult, ConnectOptions};
use crate::servers::{
    ServerKind, ServerProcess, cpu_seconds, free_loopback_port, stop_process_group,
    stop_with_appc_bench,
};

/// One way of running the chat: which server, how many processes, and whether they share Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Setup {
    pub server: ServerKind,
    pub processes: usize,
    pub redis: bool,
}

impl Setup {
    /// The setups of one run: appc alone, appc with Redis, two appc processes, two Node ones.
    pub fn standard() -> Vec<Setup> {
        vec![
            Setup {
                server: ServerKind::Appc,
                processes: 1,
                redis: false,
            },
            Setup {
                server: ServerKind::Appc,
                processes: 1,
                redis: true,
            },
            Setup {
                server: ServerKind::Appc,
                processes: 2,
                redis: true,
            },
            Setup {
                server: ServerKind::Node,
                processes: 2,
                redis: true,
            },
        ]
    }

    /// `appc x2 + Redis`, as the report names the setup.
    pub fn label(&self) -> String {
        format!(
            "{} x{}{}",
            self.server.name(),
            self.processes,
            if self.redis { " + Redis" } else { "" }
        )
    }
}

/// Everything a run needs besides the setups.
#[derive(Debug, Clone)]
pub struct ProcessesSettings {
    /// The generated chat server (`appc build examples/chat`).
    pub appc_chat_binary: PathBuf,
    /// `bench/node-redis`, whose packages are installed on first use.
    pub node_directory: PathBuf,
    /// A PostgreSQL server URL whose user may create databases: each setup gets its own.
    pub postgres_url: String,
    /// The `redis-server` program.
    pub redis_server: PathBuf,
    /// The core the app processes and Redis are pinned to, or none.
    pub server_core: Option<usize>,
    pub broadcast: BroadcastConfig,
    pub connect: ConnectOptions,
    pub setups: Vec<Setup>,
}

/// One setup's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SetupResult {
    pub setup: Setup,
    pub label: String,
    pub result: Option<BroadcastResult>,
    /// The CPU time Redis used during the measured window.
    pub redis_cpu_seconds: Option<f64>,
    /// Why the setup could not be measured.
    pub error: Option<String>,
}

/// Runs every setup of `settings` in turn.
pub async fn run(settings: &ProcessesSettings) -> Vec<SetupResult> {
    let mut results = Vec::new();
    for (number, setup) in settings.setups.iter().enumerate() {
        eprintln!(
            "broadcast: {} clients, {} senders at {}/s on {}",
            settings.broadcast.clients,
            settings.broadcast.senders,
            settings.broadcast.rate_per_sender,
            setup.label()
        );
        let mut outcome = SetupResult {
            setup: *setup,
            label: setup.label(),
            result: None,
            redis_cpu_seconds: None,
            error: None,
        };
        if let Err(error) = measure(settings, *setup, number, &mut outcome).await {
            outcome.error = Some(format!("{error:#}"));
        }
        results.push(outcome);
        // Lets the closed connections' bookkeeping and the stopped processes settle.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    results
}

async fn measure(
    settings: &ProcessesSettings,
    setup: Setup,
    number: usize,
    outcome: &mut SetupResult,
) -> anyhow::Result<()> {
    let redis = if setup.redis {
        Some(RedisProcess::start(
            &settings.redis_server,
            settings.server_core,
        )?)
    } else {
        None
    };
    match setup.server {
        ServerKind::Appc => {}
        ServerKind::Node => install_node_packages(
            &settings.node_directory,
            &["@socket.io/redis-adapter", "socket.io", "pg"],
        )?,
        ServerKind::Limit => bail!("the raw limit has no multi-process setup"),
    }
    let database = PostgresDatabase::create(
        &settings.postgres_url,
        &format!("appc_bench_{}_{number}", std::process::id()),
    )?;
    let mut servers = Vec::new();
    for _ in 0..setup.processes {
        let server = start_server(
            settings,
            setup.server,
            &database,
            redis.as_ref().map(|redis| redis.url.as_str()),
        )?;
        // The first process created the chat's tables (appc by its migrations, Node by the
        // same statements): they exist now.
        if servers.is_empty() {
            database.seed_users()?;
        }
        servers.push(server);
    }
    let targets: Vec<Target> = servers
        .iter()
        .map(|server| Target {
            address: server.address,
            protocol: ServerProtocol::SocketIo(Encoding::Json),
        })
        .collect();
    let server_cpu = || {
        servers
            .iter()
            .map(ServerProcess::cpu_seconds)
            .sum::<Option<f64>>()
    };
    let redis_cpu_before = redis.as_ref().and_then(RedisProcess::cpu_seconds);
    let result = scenarios::broadcast_spread(
        &targets,
        &settings.broadcast,
        &settings.connect,
        &server_cpu,
    )
    .await;
    outcome.redis_cpu_seconds = match (
        redis_cpu_before,
        redis.as_ref().and_then(RedisProcess::cpu_seconds),
    ) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    outcome.result = Some(result);
    // The servers stop before their database is dropped.
    drop(servers);
    drop(database);
    Ok(())
}

fn start_server(
    settings: &ProcessesSettings,
    kind: ServerKind,
    database: &PostgresDatabase,
    redis_url: Option<&str>,
) -> anyhow::Result<ServerProcess> {
    let port = free_loopback_port()?;
    let (program, arguments): (PathBuf, Vec<String>) = match kind {
        ServerKind::Appc => (settings.appc_chat_binary.clone(), vec![]),
        _ => (
            PathBuf::from("node"),
            vec![
                settings
                    .node_directory
                    .join("server.mjs")
                    .display()
                    .to_string(),
            ],
        ),
    };
    if kind == ServerKind::Appc && !program.exists() {
        bail!(
            "the appc chat server {} does not exist: build it with `appc build examples/chat` or pass --appc-chat-bin",
            program.display()
        );
    }
    let mut command = pinned(&program, settings.server_core);
    command
        .args(&arguments)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("APPC_ENV", "production")
        .env("JWT_SECRET", &settings.connect.jwt_secret)
        // As in the single-process benchmark: machine senders far beyond a person's limits, and
        // thousands of connections from a few loopback addresses.
        .env("APPC_SOCKET_EVENTS_PER_SECOND", "1000000")
        .env("APPC_SOCKET_EVENT_BURST", "1000000")
        .env("APPC_SOCKET_QUEUED_EVENTS", "1000000")
        .env("APPC_MAX_CONNECTIONS_PER_IP", "1000000")
        .env("APPC_MAX_CONNECTIONS", "1000000");
    command.env("DATABASE_URL", &database.url);
    if let Some(redis_url) = redis_url {
        command.env("REDIS_URL", redis_url);
    }
    ServerProcess::spawn_without_database(command, kind, port)
}

/// `program` run through `taskset` on `core`, or directly when unpinned.
fn pinned(program: &Path, core: Option<usize>) -> Command {
    match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.arg("--cpu-list").arg(core.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// A throwaway `redis-server` on a free loopback port, without persistence, stopped when dropped.
struct RedisProcess {
    child: Child,
    url: String,
}

impl RedisProcess {
    fn start(redis_server: &Path, core: Option<usize>) -> anyhow::Result<RedisProcess> {
        let port = free_loopback_port()?;
        let mut command = pinned(redis_server, core);
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--dir", &std::env::temp_dir().display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        stop_with_appc_bench(&mut command);
        let child = command.spawn().with_context(|| {
            format!(
                "could not start {}: install Debian's redis-server package or pass --redis-server",
                redis_server.display()
            )
        })?;
        let mut redis = RedisProcess {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = redis.child.try_wait()? {
                bail!("redis-server exited at start with {status}");
            }
            if Instant::now() > deadline {
                bail!("redis-server did not listen on 127.0.0.1:{port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.child.id())
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        stop_process_group(&mut self.child);
    }
}

/// A database created for one setup on the benchmark's PostgreSQL server, dropped when dropped.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    fn create(admin_url: &str, name: &str) -> anyhow::Result<PostgresDatabase> {
        run_psql(admin_url, &format!("DROP DATABASE IF EXISTS {name}"))?;
        run_psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        let without_query = admin_url.split('?').next().unwrap_or_default();
        let Some((server, _)) = without_query.rsplit_once('/') else {
            bail!("`{admin_url}` is not a postgres://USER@HOST:PORT/DATABASE url");
        };
        Ok(PostgresDatabase {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
            url: format!("{server}/{name}"),
        })
    }

    /// The users the load generator signs tokens for (ids 0 to 65,535, `user-<id>`): the chat
    /// looks each connection's user up, as a real app does.
    fn seed_users(&self) -> anyhow::Result<()> {
        run_psql(
            &self.url,
            "INSERT INTO \"User\" (id, username) SELECT id, 'user-' || id \
             FROM generate_series(0, 65535) AS id ON CONFLICT DO NOTHING",
        )
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let _ = run_psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn run_psql(url: &str, statement: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", statement])
        .output()
        .context("could not run psql: install Debian's postgresql-client package")?;
    if !output.status.success() {
        bail!(
            "psql could not run `{statement}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// What went wrong in a run, for the smoke test: a setup that could not run, a client that did
/// not connect or was dropped, or a message that did not reach every client, on any server.
/// Speed is never judged here.
pub fn delivery_failures(results: &[SetupResult]) -> Vec<String> {
    let mut failures = Vec::new();
    for outcome in results {
        let Some(result) = &outcome.result else {
            failures.push(format!(
                "{}: {}",
                outcome.label,
                outcome.error.as_deref().unwrap_or("no result")
            ));
            continue;
        };
        if result.delivered == 0
            || result.lost != 0
            || result.connected != result.clients
            || result.dropped_connections != 0
        {
            failures.push(format!(
                "{}: {} delivered, {} lost, {} of {} connected, {} dropped (first failure: {})",
                outcome.label,
                result.delivered,
                result.lost,
                result.connected,
                result.clients,
                result.dropped_connections,
                result.first_failure.as_deref().unwrap_or("none")
            ));
        }
    }
    failures
}

/// What the goals of issue #16 compare, from one run's results.
#[derive(Debug, Clone, Serialize)]
pub struct Verdicts {
    /// Deliveries/s of two appc processes on Redis over two Node processes on Redis (goal >= 5).
    pub appc_over_node: Option<f64>,
    /// Deliveries/s of one appc process with Redis over one without (goal >= 0.8).
    pub redis_over_local: Option<f64>,
    /// Messages lost by any appc setup (goal 0).
    pub appc_lost: u64,
}

pub fn verdicts(results: &[SetupResult]) -> Verdicts {
    let rate = |server: ServerKind, processes: usize, redis: bool| {
        results
            .iter()
            .find(|outcome| {
                outcome.setup
                    == Setup {
                        server,
                        processes,
                        redis,
                    }
            })
            .and_then(|outcome| outcome.result.as_ref())
            .map(|result| result.deliveries_per_second)
            .filter(|rate| *rate > 0.0)
    };
    let ratio = |numerator: Option<f64>, denominator: Option<f64>| Some(numerator? / denominator?);
    Verdicts {
        appc_over_node: ratio(
            rate(ServerKind::Appc, 2, true),
            rate(ServerKind::Node, 2, true),
        ),
        redis_over_local: ratio(
            rate(ServerKind::Appc, 1, true),
            rate(ServerKind::Appc, 1, false),
        ),
        appc_lost: results
            .iter()
            .filter(|outcome| outcome.setup.server == ServerKind::Appc)
            .filter_map(|outcome| outcome.result.as_ref())
            .map(|result| result.lost)
            .sum(),
    }
}

/// The results as a Markdown table with the goals, ready for `BENCHMARKS.md`.
pub fn render(results: &[SetupResult]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| setup | clients | connected | sent | delivered | lost | dropped | deliveries/s | p50 ms | p99 ms | app CPU (all processes) | Redis CPU | deliveries per app CPU-s |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for outcome in results {
        let Some(result) = &outcome.result else {
            let _ = writeln!(
                out,
                "| {} | failed: {} |",
                outcome.label,
                outcome.error.as_deref().unwrap_or("no result")
            );
            continue;
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {} | {} |",
            outcome.label,
            result.clients,
            result.connected,
            result.messages_sent,
            result.delivered,
            result.lost,
            result.dropped_connections,
            result.deliveries_per_second,
            result.latency.p50_us as f64 / 1000.0,
            result.latency.p99_us as f64 / 1000.0,
            result
                .cpu
                .server_utilisation
                .map_or("-".to_owned(), |share| format!("{:.0}%", share * 100.0)),
            outcome
                .redis_cpu_seconds
                .map_or("-".to_owned(), |seconds| format!(
                    "{:.0}%",
                    seconds / result.cpu.window_seconds.max(f64::EPSILON) * 100.0
                )),
            result
                .deliveries_per_server_cpu_second
                .map_or("-".to_owned(), |rate| format!("{rate:.0}")),
        );
    }
    let verdicts = verdicts(results);
    let verdict = |met: bool| if met { "met" } else { "missed" };
    let _ = writeln!(out);
    if let Some(ratio) = verdicts.appc_over_node {
        let _ = writeln!(
            out,
            "- appc x2 + Redis / Node x2 + redis-adapter, deliveries/s: {ratio:.2} (goal >= 5: {})",
            verdict(ratio >= 5.0)
        );
    }
    if let Some(ratio) = verdicts.redis_over_local {
        let _ = writeln!(
            out,
            "- appc x1 with Redis / without, deliveries/s: {ratio:.2} (goal >= 0.80, at most 20% lost to the adapter: {})",
            verdict(ratio >= 0.8)
        );
    }
    let _ = writeln!(
        out,
        "- messages lost by appc: {} (goal 0: {})",
        verdicts.appc_lost,
        verdict(verdicts.appc_lost == 0)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{CpuUse, Latency};

    fn outcome(setup: Setup, deliveries_per_second: f64, lost: u64) -> SetupResult {
        SetupResult {
            setup,
            label: setup.label(),
            result: Some(BroadcastResult {
                clients: 1000,
                senders: 10,
                connected: 1000,
                failed: 0,
                messages_sent: 3000,
                expected_deliveries: 3_000_000,
                delivered: 3_000_000 - lost,
                lost,
                dropped_connections: 0,
                offered_deliveries_per_second: 2_000_000.0,
                deliveries_per_second,
                elapsed_seconds: 3.0,
                latency: Latency::default(),
                cpu: CpuUse::default(),
                deliveries_per_server_cpu_second: None,
                first_failure: None,
            }),
            redis_cpu_seconds: None,
            error: None,
        }
    }

    #[test]
    fn the_goals_compare_the_matching_setups() {
        let [alone, with_redis, two, node] =
            Setup::standard().try_into().expect("four standard setups");
        let results = vec![
            outcome(alone, 1_000_000.0, 0),
            outcome(with_redis, 900_000.0, 0),
            outcome(two, 1_200_000.0, 2),
            outcome(node, 100_000.0, 7),
        ];
        let verdicts = verdicts(&results);
        assert_eq!(verdicts.appc_over_node, Some(12.0));
        assert_eq!(verdicts.redis_over_local, Some(0.9));
        // Node's losses are its own; the goal is about appc's.
        assert_eq!(verdicts.appc_lost, 2);
        let report = render(&results);
        assert!(report.contains("| appc x2 + Redis | 1000 |"), "{report}");
        assert!(report.contains("12.00 (goal >= 5: met)"), "{report}");
        assert!(
            report.contains("messages lost by appc: 2 (goal 0: missed)"),
            "{report}"
        );
    }

    #[test]
    fn lost_messages_unconnected_clients_and_setups_that_did_not_run_are_failures() {
        let [alone, with_redis, two, node] =
            Setup::standard().try_into().expect("four standard setups");
        let mut unconnected = outcome(with_redis, 900_000.0, 0);
        if let Some(result) = unconnected.result.as_mut() {
            result.connected = 999;
            result.first_failure = Some("connection refused".to_owned());
        }
        let mut not_run = outcome(node, 0.0, 0);
        not_run.result = None;
        not_run.error = Some("npm ci failed".to_owned());
        let results = vec![
            outcome(alone, 1_000_000.0, 0),
            unconnected,
            outcome(two, 1_200_000.0, 3),
            not_run,
        ];
        assert_eq!(
            delivery_failures(&results),
            [
                "appc x1 + Redis: 3000000 delivered, 0 lost, 999 of 1000 connected, 0 dropped (first failure: connection refused)",
                "appc x2 + Redis: 2999997 delivered, 3 lost, 1000 of 1000 connected, 0 dropped (first failure: none)",
                "node x2 + Redis: npm ci failed",
            ]
        );
        assert!(delivery_failures(&results[..1]).is_empty());
    }

    #[test]
    fn a_setup_that_could_not_run_has_no_ratio() {
        let [alone, with_redis, two, node] =
            Setup::standard().try_into().expect("four standard setups");
        let mut failed = outcome(node, 0.0, 0);
        failed.result = None;
        failed.error = Some("redis-server is missing".to_owned());
        let results = vec![
            outcome(alone, 1_000_000.0, 0),
            outcome(with_redis, 700_000.0, 0),
            outcome(two, 1_200_000.0, 0),
            failed,
        ];
        let verdicts = verdicts(&results);
        assert_eq!(verdicts.appc_over_node, None);
        assert_eq!(verdicts.redis_over_local, Some(0.7));
        let report = render(&results);
        assert!(
            report.contains("| node x2 + Redis | failed: redis-server is missing |"),
            "{report}"
        );
        assert!(
            report.contains("0.70 (goal >= 0.80, at most 20% lost to the adapter: missed)"),
            "{report}"
        );
    }
}
