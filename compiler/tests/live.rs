//! End to end: the live queries of the todo example (`getTasks` scoped to the user, `getNotes`
//! shared, `getTask` one row), built with `appc build --debug` and started like a deployment.
//! `tests/e2e/live.mjs` subscribes on the built-in `/appc-live` namespace with socket.io-client
//! beside HTTP calls, and sends it hostile payloads; `tests/e2e/browser_live.mjs` runs two users
//! in Debian's chromium and reads one user's WebSocket frames, a single task's page and a
//! connection cut and restored;
//! `tests/e2e/live_across.mjs` runs two processes on one PostgreSQL database
//! (`APPC_TEST_POSTGRES_URL`, from tests/support/start-postgres.sh; skipped without it, except
//! under `CI`) and a Redis of the test's own (`support/redis.rs`).
//!
//! The node packages must be installed first: `npm ci --prefix tests/e2e` (scripts/test.sh does
//! it).

#[path = "support/app_server.rs"]
mod app_server;
#[path = "support/databases.rs"]
mod databases;
#[path = "support/deployment.rs"]
mod deployment;
#[path = "support/redis.rs"]
mod redis;

use std::path::Path;
use std::time::Duration;

use app_server::{RunningServer, assert_e2e_package_installed, built_example, run_node_script};
use deployment::postgres_and_redis;

/// How long the socket.io-client scenario may take.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// `APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET` for `live.mjs`, which goes past it: low, so that a
/// handful of subscriptions reach it.
const SUBSCRIPTIONS_PER_SOCKET: &str = "5";

/// How long the browser scenario may take: chromium and several page loads are slower.
const BROWSER_SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Debian's chromium, the only browser the tests use (they never download one).
const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn live_queries_push_each_users_own_results_and_refuse_hostile_subscriptions() {
    assert_e2e_package_installed("socket.io-client");
    let binary = built_example("todo");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start_with(
        &binary,
        data.path(),
        &[(
            "APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET",
            SUBSCRIPTIONS_PER_SOCKET,
        )],
    );
    let output = run_node_script(
        &server,
        "live.mjs",
        &[SUBSCRIPTIONS_PER_SOCKET],
        SCENARIO_TIMEOUT,
    );
    assert!(
        output.contains("ok: live queries over socket.io"),
        "{output}"
    );
    server.stop();
}

#[test]
fn another_users_note_appears_without_a_reload_and_private_tasks_never_reach_other_browsers() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "the browser tests need Debian's chromium at {CHROMIUM}; install it with `apt-get install chromium` (scripts/test.sh does it)"
    );
    assert_e2e_package_installed("playwright-core");
    let binary = built_example("todo");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    let output = run_node_script(&server, "browser_live.mjs", &[], BROWSER_SCENARIO_TIMEOUT);
    assert!(output.contains("ok: browser live queries"), "{output}");
    server.stop();
}

/// Two processes of the todo example on one PostgreSQL database and one Redis: writes commit on
/// the first, the subscribed sockets are on the second.
#[test]
fn a_write_committed_on_one_process_pushes_results_to_the_subscribers_on_another() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some((database_url, redis)) = postgres_and_redis(&runtime, "appc_live_across") else {
        return;
    };
    assert_e2e_package_installed("socket.io-client");
    let binary = built_example("todo");
    let data = tempfile::tempdir().unwrap();
    let services = [
        ("DATABASE_URL", database_url.as_str()),
        ("REDIS_URL", redis.url.as_str()),
    ];
    // One after the other: the first applies the migrations.
    let first = RunningServer::start_with(&binary, data.path(), &services);
    let second = RunningServer::start_with(&binary, data.path(), &services);
    let output = run_node_script(&first, "live_across.mjs", &[&second.url], SCENARIO_TIMEOUT);
    assert!(
        output.contains("ok: live queries across processes"),
        "{output}\nthe second process's log:\n{}",
        second.log()
    );
    first.stop();
    second.stop();
}
