//! End to end: the queries, actions and apis of `compiler/tests/fixtures/operations`, built with
//! `appc build --debug`, started like a deployment (production mode, its committed migration)
//! and driven over HTTP by `tests/e2e/operations.mjs`, with one socket.io-client listening for
//! what an action emits. Every status of the operations' contract is hit, the body limit with a
//! small `APPC_REQUEST_BODY_BYTES`; the cause of a 500 must be in the server's log and nowhere
//! in the response. The same scenario runs on PostgreSQL when `APPC_TEST_POSTGRES_URL` is set.
//!
//! The todo example runs in Debian's chromium (`tests/e2e/browser_todo.mjs`), and the web-only
//! fixture `operations_client` builds with its server.
//!
//! The node packages must be installed first: `npm ci --prefix tests/e2e` (scripts/test.sh does
//! it).

#[path = "support/app_server.rs"]
mod app_server;
#[path = "support/databases.rs"]
mod databases;

use std::path::Path;
use std::time::Duration;

use app_server::{
    RunningServer, assert_e2e_package_installed, built_example, built_project, repository_root,
    run_node_script,
};

/// How long the scenario may take before it is killed and the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a browser scenario may take: starting chromium and several page loads are slower
/// than plain HTTP.
const BROWSER_SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Debian's chromium, the only browser the tests use (they never download one).
const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn operations_and_apis_answer_every_status_of_the_http_contract() {
    run_the_operations_scenario(None);
}

/// The same scenario with the server on PostgreSQL (its committed `postgresql.sql` migration),
/// when `APPC_TEST_POSTGRES_URL` is set (scripts/test.sh sets it).
#[test]
fn operations_and_apis_answer_every_status_on_postgresql_too() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(postgres_url) = databases::fresh_postgres_url(&runtime, "appc_operations_e2e") else {
        return;
    };
    run_the_operations_scenario(Some(&postgres_url));
}

/// Builds the operations fixture, serves it on SQLite (or on `database_url`) and runs
/// `tests/e2e/operations.mjs` against it.
fn run_the_operations_scenario(database_url: Option<&str>) {
    assert_e2e_package_installed("socket.io-client");
    let binary = built_project(&repository_root().join("compiler/tests/fixtures/operations"));
    let data = tempfile::tempdir().unwrap();
    let mut variables = vec![("APPC_REQUEST_BODY_BYTES", "4096")];
    variables.extend(database_url.map(|url| ("DATABASE_URL", url)));
    let server = RunningServer::start_with(&binary, data.path(), &variables);
    let output = run_node_script(&server, "operations.mjs", &[], SCENARIO_TIMEOUT);
    assert!(output.contains("ok: operations over HTTP"), "{output}");
    let log = server.log();
    assert!(
        log.contains("secret-detail-4711") && log.contains("brokenReport"),
        "the 500's cause is logged with the operation's name:\n{log}"
    );
    server.stop();
}

/// A team function whose types differ from its declaration does not compile, and rustc's error
/// names the team's file: a wrong input type is rustc's error in the team's file; a wrong output
/// type is rustc's error at the generated call whose message names the team's file and line
/// (the generated `<Name>Output` trait) and both types.
#[test]
fn a_team_function_of_the_wrong_type_fails_the_build_naming_it() {
    let project = repository_root().join("compiler/tests/fixtures/operation_type_errors");
    let output = app_server::appc_build(&project, &["--debug"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("expected `i64`, found `String`")
            && stderr.contains("--> src/server/wrong_types.rs:"),
        "the wrong input type is an error in the team's file:\n{stderr}"
    );
    assert!(
        stderr.contains("`count_tasks` (src/server/wrong_types.rs:7) returns `Result<")
            && stderr
                .contains("String, HttpError>`, but query `countTasks` declares `output: Int`")
            && stderr.contains("is implemented for `Result<i64, HttpError>`"),
        "the wrong output type names the team's file, line and both types:\n{stderr}"
    );
    assert!(stderr.contains("the server did not compile"), "{stderr}");
}

/// The todo example in a real browser (Debian's chromium driven by playwright-core): a user's
/// tasks are listed, added, ticked off and deleted through the generated `useQuery` and
/// `useAction`, survive a reload, and are never seen nor changed by another user, whose direct
/// `updateTask` and `deleteTask` calls on them answer 404; `GET /api/tasks/count` counts each
/// user's own tasks. The server runs like a deployment: production mode, its committed migration.
#[test]
fn the_todo_example_keeps_each_users_tasks_apart_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "the browser tests need Debian's chromium at {CHROMIUM}; install it with `apt-get install chromium` (scripts/test.sh does it)"
    );
    assert_e2e_package_installed("playwright-core");
    let binary = built_example("todo");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    let output = run_node_script(&server, "browser_todo.mjs", &[], BROWSER_SCENARIO_TIMEOUT);
    assert!(output.contains("ok: browser todo"), "{output}");
    server.stop();
}

/// The fixture of the web client's tests has real server functions too: `appc build --debug`
/// compiles its server (without warnings) and its web client.
#[test]
fn the_operations_client_fixture_builds_its_server_and_web_client() {
    let project = repository_root().join("compiler/tests/fixtures/operations_client");
    let binary = built_project(&project);
    assert!(binary.is_file());
    assert!(project.join(".appc/build/web/index.html").is_file());
}
