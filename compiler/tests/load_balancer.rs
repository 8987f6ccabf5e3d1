//! Several processes of the generated chat behind nginx: Debian's nginx, started by
//! `tests/support/start-nginx.sh` on a free loopback port, in front of two `examples/chat`
//! processes, driven by `tests/e2e/load_balancer.mjs` with the real socket.io-client. Clients bind
//! distinct 127.0.0.x source addresses so that nginx's sticky `hash $remote_addr consistent`
//! spreads them over the processes.
//!
//! The processes share one PostgreSQL database (`APPC_TEST_POSTGRES_URL`; `scripts/test.sh`
//! starts it) and one Redis, as a deployment would; each test starts its own Redis
//! (`support/redis.rs`), since tests sharing one would hear each other's broadcasts. Without
//! PostgreSQL the tests that need it say so and pass, except in CI (`CI` set), where they fail: a CI run must
//! not pass by checking nothing. The test of a balancer without stickiness needs neither.

#[path = "support/app_server.rs"]
mod app_server;
#[path = "support/databases.rs"]
mod databases;
#[path = "support/deployment.rs"]
mod deployment;
#[path = "support/redis.rs"]
mod redis;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use app_server::{RunningServer, built_example, repository_root, run_node_script_at};
use deployment::postgres_and_redis;

/// How long one scenario may take: the kill scenario waits for reconnections.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

/// nginx started by `tests/support/start-nginx.sh`, stopped (and its folder removed) when dropped.
struct Nginx {
    url: String,
    folder: PathBuf,
}

impl Nginx {
    /// nginx in front of `servers`, sticky by client address, or round-robin when `sticky` is false.
    fn start(servers: &[&RunningServer], sticky: bool) -> Nginx {
        let script = repository_root().join("tests/support/start-nginx.sh");
        let mut command = Command::new("bash");
        command.arg(&script);
        if !sticky {
            command.arg("--round-robin");
        }
        command.args(servers.iter().map(|server| backend_of(server)));
        let output = command.output().expect("bash runs");
        assert!(
            output.status.success(),
            "start-nginx.sh failed (install Debian's nginx package; scripts/test.sh does): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut lines = stdout.lines();
        let (Some(url), Some(folder)) = (lines.next(), lines.next()) else {
            panic!("start-nginx.sh printed `{stdout}`, not its url and folder");
        };
        Nginx {
            url: url.to_owned(),
            folder: PathBuf::from(folder),
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let script = repository_root().join("tests/support/stop-nginx.sh");
        let _ = Command::new("bash").arg(script).arg(&self.folder).status();
    }
}

/// `127.0.0.1:PORT` of a running server, as nginx's `server` lines and the script name it.
fn backend_of(server: &RunningServer) -> String {
    server
        .url
        .strip_prefix("http://")
        .expect("servers listen on http urls")
        .to_owned()
}

/// Runs `node tests/e2e/load_balancer.mjs <nginx url> <arguments...>`, failing the test with the
/// logs of `servers` and nginx's own if it fails; returns what the script printed.
fn run_through_nginx(nginx: &Nginx, servers: &[&RunningServer], arguments: &[&str]) -> String {
    app_server::assert_e2e_package_installed("socket.io-client");
    let logs = || {
        let mut logs: Vec<String> = servers
            .iter()
            .map(|server| format!("--- {} ---\n{}", server.url, server.log()))
            .collect();
        let nginx_log = std::fs::read_to_string(nginx.folder.join("error.log")).unwrap_or_default();
        logs.push(format!("--- nginx ---\n{nginx_log}"));
        logs.join("\n")
    };
    run_node_script_at(
        &nginx.url,
        "load_balancer.mjs",
        arguments,
        SCENARIO_TIMEOUT,
        &logs,
    )
}

/// The environment of one chat process of a deployment: the shared database and Redis.
fn deployment_variables<'a>(database_url: &'a str, redis_url: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("DATABASE_URL", database_url),
        ("REDIS_URL", redis_url),
        // The kill scenario's clients send a message every 25 ms for a moment, beyond the burst
        // a person needs (runtime/tests/socket_limits.rs tests the limit itself).
        ("APPC_SOCKET_EVENT_BURST", "100"),
    ]
}

/// Starts `count` chat processes on the shared database and Redis, one after the other (the
/// first applies the migrations), each with its log in `data`.
fn start_chat_processes(
    binary: &Path,
    data: &Path,
    count: usize,
    database_url: &str,
    redis_url: &str,
) -> Vec<RunningServer> {
    (0..count)
        .map(|_| {
            RunningServer::start_with(binary, data, &deployment_variables(database_url, redis_url))
        })
        .collect()
}

/// Long-polling, WebSocket and upgrading clients spread over two processes by the sticky nginx:
/// every message reaches every client, whichever process its sender is on, and each
/// long-polling session keeps working over many requests.
#[test]
fn clients_of_every_transport_spread_over_two_processes_behind_nginx_get_every_message() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((database_url, redis)) = postgres_and_redis(&runtime, "load_balancer_spread") else {
        return;
    };
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let servers = start_chat_processes(&binary, data.path(), 2, &database_url, &redis.url);
    let server_refs: Vec<&RunningServer> = servers.iter().collect();
    let nginx = Nginx::start(&server_refs, true);
    let backends: Vec<String> = servers.iter().map(backend_of).collect();
    for transport in ["polling", "websocket", "upgrade"] {
        let mut arguments = vec!["spread", transport];
        arguments.extend(backends.iter().map(String::as_str));
        run_through_nginx(&nginx, &server_refs, &arguments);
    }
    drop(nginx);
    for server in servers {
        server.stop();
    }
}

/// Without a sticky balancer a long-polling client's requests land on a process that does not
/// know its session, so it never connects; a WebSocket-only client, one connection for its whole
/// session, connects and chats. Two processes with a database each are enough to show it.
#[test]
fn long_polling_needs_a_sticky_balancer_and_websocket_only_clients_do_not() {
    let binary = built_example("chat");
    let first_data = tempfile::tempdir().unwrap();
    let second_data = tempfile::tempdir().unwrap();
    let first = RunningServer::start(&binary, first_data.path());
    let second = RunningServer::start(&binary, second_data.path());
    let nginx = Nginx::start(&[&first, &second], false);
    let output = run_through_nginx(&nginx, &[&first, &second], &["no-stickiness"]);
    assert!(
        output.contains("long-polling without stickiness:"),
        "the script says why the long-polling client failed:\n{output}"
    );
    drop(nginx);
    first.stop();
    second.stop();
}

/// A process killed with SIGKILL while its clients chat: they reconnect through nginx to the
/// other process and receive the history again, and every message a sender saw acknowledged as
/// stored (broadcast back to it after its insert committed) is in the history afterwards.
#[test]
fn a_killed_process_clients_reconnect_through_nginx_and_nothing_acknowledged_is_lost() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some((database_url, redis)) = postgres_and_redis(&runtime, "load_balancer_kill") else {
        return;
    };
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let mut servers = start_chat_processes(&binary, data.path(), 2, &database_url, &redis.url);
    let server_refs: Vec<&RunningServer> = servers.iter().collect();
    let nginx = Nginx::start(&server_refs, true);
    let victim = format!("{}={}", backend_of(&servers[0]), servers[0].pid());
    let survivor = backend_of(&servers[1]);
    let output = run_through_nginx(&nginx, &server_refs, &["kill", &victim, &survivor]);
    eprintln!("{output}");
    drop(nginx);
    // The script killed the first process; the drop reaps it.
    let survivor = servers.pop().expect("two servers");
    survivor.stop();
}
