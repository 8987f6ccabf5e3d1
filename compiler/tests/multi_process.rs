//! Several processes of one app (compiler/tests/fixtures/multi_process, built once) on one
//! PostgreSQL database and one Redis, driven by `tests/e2e/multi_process.mjs` with the real
//! `socket.io-client`: broadcasts, rooms, user emits, the emitter and acknowledged broadcasts
//! across processes; three processes migrating one fresh database at once; Redis stopped and
//! started again while clients chat; and the start-ups that are refused (Redis unreachable,
//! SQLite with `REDIS_URL`).
//!
//! Each test starts its own throwaway Redis with `tests/support/start-redis.sh` (Redis pub/sub
//! is global to a server, so tests sharing one would hear each other) and needs
//! `APPC_TEST_POSTGRES_URL` (`tests/support/start-postgres.sh`); without it the PostgreSQL tests
//! say they are skipped, as the other PostgreSQL tests do. `scripts/test.sh` provides both.

#[path = "support/app_server.rs"]
mod app_server;
#[path = "support/databases.rs"]
mod databases;
#[path = "support/redis.rs"]
mod redis;

use std::path::{Path, PathBuf};
use std::time::Duration;

use app_server::{
    RunningServer, assert_e2e_package_installed, built_project, free_port, repository_root,
    run_node_script, server_command,
};
use databases::{Databases, fresh_postgres_url};
use redis::ThrowawayRedis;

/// How long one node scenario may take; the outage scenario waits for reconnections.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

fn fixture() -> PathBuf {
    built_project(&repository_root().join("compiler/tests/fixtures/multi_process"))
}

/// A fresh PostgreSQL database for one test, or `None` (with a notice) without PostgreSQL.
fn fresh_database(label: &str) -> Option<Databases> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let postgres_url = fresh_postgres_url(&runtime, label)?;
    Some(Databases {
        sqlite_url: String::new(),
        postgres_url: Some(postgres_url),
        runtime,
    })
}

/// Starts the processes `p1`, `p2`, ... of `binary` at the same moment, on one database and
/// one Redis, and waits until each listens.
fn start_processes(
    binary: &Path,
    data_dir: &Path,
    database_url: &str,
    redis_url: &str,
    count: usize,
) -> Vec<RunningServer> {
    std::thread::scope(|scope| {
        let starting: Vec<_> = (1..=count)
            .map(|number| {
                scope.spawn(move || {
                    let name = format!("p{number}");
                    RunningServer::start_with(
                        binary,
                        data_dir,
                        &[
                            ("DATABASE_URL", database_url),
                            ("REDIS_URL", redis_url),
                            ("PROCESS_NAME", &name),
                        ],
                    )
                })
            })
            .collect();
        starting
            .into_iter()
            .map(|thread| thread.join().expect("a process starts"))
            .collect()
    })
}

/// One cross-process test's world: `count` processes of the fixture started at once on a fresh
/// PostgreSQL database and a throwaway Redis. The fields drop in their order, the processes
/// before the Redis and the data directory they use.
struct Processes {
    servers: Vec<RunningServer>,
    redis: ThrowawayRedis,
    _data: tempfile::TempDir,
    database_url: String,
    databases: Databases,
}

impl Processes {
    /// `None` (with a notice) without PostgreSQL.
    fn start(database_label: &str, count: usize) -> Option<Processes> {
        let databases = fresh_database(database_label)?;
        let database_url = databases.postgres_url.clone().unwrap();
        assert_e2e_package_installed("socket.io-client");
        let binary = fixture();
        let redis = ThrowawayRedis::start();
        let data = tempfile::tempdir().unwrap();
        let servers = start_processes(&binary, data.path(), &database_url, &redis.url, count);
        Some(Processes {
            servers,
            redis,
            _data: data,
            database_url,
            databases,
        })
    }
}

/// Runs a scenario of `tests/e2e/multi_process.mjs`: node receives the first process's url
/// from `run_node_script`, then the scenario, its argument and the other processes' urls.
fn run_multi_process_scenario(servers: &[RunningServer], scenario: &str, argument: &str) {
    let mut arguments = vec![scenario, argument];
    arguments.extend(servers[1..].iter().map(|server| server.url.as_str()));
    run_node_script(
        &servers[0],
        "multi_process.mjs",
        &arguments,
        SCENARIO_TIMEOUT,
    );
}

#[test]
fn three_processes_share_broadcasts_rooms_users_the_emitter_and_acks_through_redis() {
    // Three processes start at once on an empty database: one applies the migration under the
    // lock, the others find it applied.
    let Some(processes) = Processes::start("appc_multi_process", 3) else {
        return;
    };
    let applied = processes.databases.column(
        &processes.database_url,
        "SELECT CAST(COUNT(*) AS TEXT) FROM _appc_migrations",
    );
    assert_eq!(applied, vec![Some("1".to_owned())]);
    for transport in ["websocket", "polling"] {
        run_multi_process_scenario(&processes.servers, "across", transport);
    }
    for server in processes.servers {
        assert!(
            server
                .log()
                .contains("sockets reach the other processes through Redis"),
            "{}",
            server.log()
        );
        server.stop();
    }
}

#[test]
fn a_redis_restart_stops_only_cross_process_delivery_and_is_logged_once() {
    let Some(processes) = Processes::start("appc_redis_outage", 2) else {
        return;
    };
    run_multi_process_scenario(&processes.servers, "outage", &processes.redis.url);
    for server in processes.servers {
        let log = server.log();
        assert_eq!(
            log.matches("lost the connection to Redis").count(),
            1,
            "one line for the outage, not one per message:\n{log}"
        );
        assert_eq!(
            log.matches("reconnected to Redis").count(),
            1,
            "one line when it ends:\n{log}"
        );
        server.stop();
    }
}

/// Runs `binary` with `variables` and returns its exit status and what it printed.
fn run_refused(binary: &Path, variables: &[(&str, &str)]) -> (Option<i32>, String) {
    let data = tempfile::tempdir().unwrap();
    let output = server_command(binary, data.path(), free_port())
        .envs(variables.iter().copied())
        .output()
        .expect("the server binary runs");
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn a_server_refuses_to_start_without_its_redis_or_on_sqlite_with_redis() {
    let binary = fixture();
    // Nothing listens on a port that was just free: Redis is checked before the database.
    let unreachable = format!("redis://127.0.0.1:{}", free_port());
    let (status, output) = run_refused(
        &binary,
        &[
            ("DATABASE_URL", "postgres://appc@127.0.0.1:1/never_reached"),
            ("REDIS_URL", &unreachable),
        ],
    );
    assert_eq!(status, Some(1), "{output}");
    assert!(
        output.contains(&format!("cannot reach Redis at REDIS_URL ({unreachable})"))
            && output.contains("unset REDIS_URL to serve from this one process alone"),
        "{output}"
    );

    // The tests' SQLite database (`server_command`'s) with REDIS_URL.
    let (status, output) = run_refused(&binary, &[("REDIS_URL", "redis://127.0.0.1:6379")]);
    assert_eq!(status, Some(1), "{output}");
    assert!(
        output.contains("REDIS_URL is set, but the database is a SQLite file: several server processes cannot share one SQLite file safely")
            && output.contains("run them on PostgreSQL"),
        "{output}"
    );
}
