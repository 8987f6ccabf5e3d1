//! End to end: `appc build` generates and compiles the example apps (server and web client), each
//! binary is started on a free port with a temporary SQLite database, and node scripts drive it
//! with the real `socket.io-client` (tests/e2e/*.mjs), over WebSocket and HTTP long-polling, and
//! check over HTTP that it serves the bundled web client.
//!
//! The node packages must be installed first: `npm ci --prefix tests/e2e` (scripts/test.sh does
//! it). Set CARGO_TARGET_DIR to the workspace's `target/` so the generated servers reuse the
//! compiled dependencies (scripts/test.sh does that too).

#[path = "support/app_server.rs"]
mod app_server;
#[path = "support/redis.rs"]
mod redis;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app_server::{
    JWT_SECRET, RunningServer, appc_build, appc_command, assert_e2e_package_installed,
    built_example, built_project, database_url, free_port, repository_root, run_node_script,
    server_command,
};
use redis::ThrowawayRedis;

/// How long one node scenario may take before it is killed and the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the browser scenario may take: starting chromium and several page loads are slower
/// than socket.io-client alone.
const BROWSER_SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// Debian's chromium, the only browser the tests use (they never download one).
const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs `node tests/e2e/<script> <url> <args...>` and fails the test with its output (and the
/// server's log) unless it passes within [`SCENARIO_TIMEOUT`].
fn run_scenario(server: &RunningServer, script: &str, args: &[&str]) {
    assert_e2e_package_installed("socket.io-client");
    run_node_script(server, script, args, SCENARIO_TIMEOUT);
}

/// Runs a playwright-core script of `tests/e2e` against the server (`<url> <args...>`) in Debian's
/// chromium, within [`BROWSER_SCENARIO_TIMEOUT`]. A missing chromium fails the test: it is never
/// skipped.
fn run_browser_scenario(server: &RunningServer, script: &str, args: &[&str]) {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "the browser tests need Debian's chromium at {CHROMIUM}; install it with `apt-get install chromium` (scripts/test.sh does it)"
    );
    assert_e2e_package_installed("playwright-core");
    run_node_script(server, script, args, BROWSER_SCENARIO_TIMEOUT);
}

const TRANSPORTS: [&str; 2] = ["websocket", "polling"];

#[test]
fn chat_logged_in_and_anonymous_clients_see_each_others_messages() {
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "chat.mjs", &["conversation", transport]);
    }
    server.stop();
}

/// `server --help` and a wrong command line are answered before the configuration is read: in
/// production mode without `JWT_SECRET`, help still prints and a typo still says what is allowed.
#[test]
fn the_server_binary_answers_help_and_bad_arguments_without_configuration() {
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let run = |arguments: &[&str]| {
        Command::new(&binary)
            .args(arguments)
            .current_dir(data.path())
            .env("APPC_ENV", "production")
            .env_remove("JWT_SECRET")
            .output()
            .expect("the server binary runs")
    };
    let help = run(&["--help"]);
    assert!(help.status.success(), "server --help failed: {help:?}");
    assert!(String::from_utf8_lossy(&help.stdout).contains("server seed NAME"));
    let typo = run(&["sede"]);
    assert_eq!(typo.status.code(), Some(2), "{typo:?}");
    assert!(String::from_utf8_lossy(&typo.stderr).contains("unexpected arguments `sede`"));
}

/// The chat's pages in a real browser: Debian's chromium driven by playwright-core
/// (tests/e2e/browser_chat.mjs, which saves screenshots when it fails). `npm ci --prefix
/// tests/e2e` installs playwright-core; scripts/test.sh also installs chromium when it is missing.
#[test]
fn chat_pages_work_in_a_real_browser_for_two_users_and_after_logout() {
    let binary = built_example("chat");
    let project = repository_root().join("examples/chat");
    let index = project.join(".appc/build/web/index.html");
    assert!(
        index.is_file(),
        "appc build wrote no web client at {}",
        index.display()
    );
    // The server starts in a temporary folder: it serves the bundle beside its binary.
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    run_browser_scenario(&server, "browser_chat.mjs", &[]);
    server.stop();
}

#[test]
fn chat_history_survives_a_restart_and_keeps_the_latest_fifty() {
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    run_scenario(&server, "chat.mjs", &["conversation", "websocket"]);
    server.stop();

    let server = RunningServer::start(&binary, data.path());
    let expected = r#"["hello from alicewebsocket","hello from nobody on websocket"]"#;
    for transport in TRANSPORTS {
        run_scenario(&server, "chat.mjs", &["history", transport, expected]);
    }
    run_scenario(&server, "chat.mjs", &["history-limit", "websocket"]);
    server.stop();
}

#[test]
fn chat_rejects_a_payload_that_is_not_a_string() {
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "chat.mjs", &["invalid", transport]);
    }
    server.stop();
}

/// socket.io-client clients that send a message from their `connect` callback, a thousand
/// over WebSocket and four hundred over polling, in rounds: socketioxide sends CONNECT before the chat's namespace
/// function has registered its handler, and none of those messages may be lost (before the
/// runtime held such events, 1 to 7 of 500 were lost over WebSocket in half of the runs).
#[test]
fn chat_messages_sent_the_moment_a_client_connects_are_never_lost() {
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "chat.mjs", &["emit-on-connect", transport]);
    }
    server.stop();
}

#[test]
fn chat_inbox_namespace_requires_a_logged_in_user() {
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "chat.mjs", &["auth-required", transport]);
    }
    server.stop();
}

#[test]
fn uppercase_greets_the_visitor_and_echoes_in_upper_case_over_msgpack() {
    let binary = built_example("uppercase");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "uppercase.mjs", &["echo", transport]);
    }
    server.stop();
}

#[test]
fn uppercase_refuses_a_handshake_with_a_missing_or_mistyped_field() {
    let binary = built_example("uppercase");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "uppercase.mjs", &["refused", transport]);
    }
    server.stop();
}

#[test]
fn the_server_creates_its_schema_on_first_start_only() {
    let binary = built_example("chat");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    let first_log = server.log();
    server.stop();
    assert!(
        data.path().join("app.db").is_file(),
        "the SQLite file was created"
    );
    // The example's first migration (examples/chat/migrations) creates its tables.
    assert!(
        first_log.contains("applied migration `") && first_log.contains("_init` in "),
        "the first start applies the first migration:\n{first_log}"
    );

    let server = RunningServer::start(&binary, data.path());
    let second_log = server.log();
    server.stop();
    assert!(
        !second_log.contains("applied migration") && !second_log.contains("created table"),
        "a restart keeps the existing tables:\n{second_log}"
    );
}

#[test]
fn the_chat_binary_alone_serves_its_embedded_web_client_with_a_fallback_for_client_routes() {
    let binary = built_example("chat");
    let web = repository_root().join("examples/chat/.appc/build/web");
    assert!(
        web.join("index.html").is_file(),
        "appc build bundled the web client into {}",
        web.display()
    );
    // The binary alone, copied to a temporary folder without the bundle: it carries the web
    // client inside (one file is the whole app).
    let data = tempfile::tempdir().unwrap();
    let alone = data.path().join("chat-server");
    std::fs::copy(&binary, &alone).unwrap();
    let server = RunningServer::start(&alone, data.path());
    run_scenario(&server, "web.mjs", &["serves", "Chat"]);
    server.stop();
}

/// The generated SDK in a real browser: the uppercase page (`useSocket` with the typed handshake,
/// `useSocketListener`, the msgpack parser) in Debian's chromium, driven by playwright-core.
#[test]
fn uppercase_page_echoes_in_a_real_browser_through_the_generated_sdk() {
    let binary = built_example("uppercase");
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    run_browser_scenario(&server, "browser_uppercase.mjs", &[]);
    server.stop();
}

/// The end of a session in a real browser (the session_expiry fixture,
/// tests/e2e/browser_session_expiry.mjs): a token that expires while the page's `auth: true`
/// socket is connected, and a handshake with an expired token, both log the page out to the
/// login page, which says the session expired; an anonymous socket in the lobby stays connected.
#[test]
fn an_expired_session_sends_the_page_to_the_login_page_and_forgets_the_token() {
    let binary = built_project(&repository_root().join("compiler/tests/fixtures/session_expiry"));
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    // The scenario signs short-lived tokens with the server's secret: the server issues 7-day ones.
    run_browser_scenario(&server, "browser_session_expiry.mjs", &[JWT_SECRET]);
    server.stop();
}

#[test]
fn generated_rust_is_rustfmt_clean_and_a_second_build_rewrites_nothing() {
    built_example("chat");
    let project = repository_root().join("examples/chat");
    let output = appc_build(&project, &["--debug"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches(" 0 files written").count(),
        2,
        "an unchanged project rewrites no generated file, neither the server's nor the web client's:\n{stderr}"
    );
    assert!(
        stderr.contains("web client is up to date"),
        "an unchanged web client is not bundled again:\n{stderr}"
    );

    let server_src = project.join(".appc/out/server/src");
    let mut rust_files = vec![server_src.join("main.rs")];
    for entry in std::fs::read_dir(server_src.join("app")).unwrap() {
        rust_files.push(entry.unwrap().path());
    }
    let rustfmt = Command::new("rustfmt")
        .args(["--check", "--edition", "2024"])
        .args(&rust_files)
        .output()
        .expect("rustfmt runs");
    assert!(
        rustfmt.status.success(),
        "generated code is not rustfmt-clean:\n{}",
        String::from_utf8_lossy(&rustfmt.stdout)
    );
}

#[test]
fn a_compile_error_in_the_teams_code_names_the_teams_file() {
    let project = repository_root().join("compiler/tests/fixtures/team_code_error");
    let output = appc_build(&project, &["--debug"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--> src/server/broken.rs:"),
        "the error points at the team's file:\n{stderr}"
    );
    assert!(
        !stderr.contains("../../"),
        "no generated-crate paths leak into the message:\n{stderr}"
    );
    assert!(stderr.contains("the server did not compile"), "{stderr}");
}

/// Typed queries are checked by rustc: a misspelled column and a column compared with a value
/// of the wrong type fail `appc build`, each error pointing at the team's own file.
#[test]
fn a_misspelled_column_or_a_wrongly_typed_comparison_does_not_compile() {
    let project = repository_root().join("compiler/tests/fixtures/typed_query_errors");
    let output = appc_build(&project, &["--debug"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no associated item named `TEXTT` found for struct")
            && stderr.contains("--> src/server/misspelled_column.rs:"),
        "the misspelled column is rustc's error in the team's file:\n{stderr}"
    );
    assert!(
        stderr.contains("From<{integer}>") && stderr.contains("--> src/server/wrong_type.rs:"),
        "comparing a String column with a number is rustc's error in the team's file:\n{stderr}"
    );
    assert!(stderr.contains("the server did not compile"), "{stderr}");
}

#[test]
fn every_kind_of_generated_api_compiles_without_warnings() {
    // The fixture declares acks in both directions, a typed handshake, a second namespace with
    // auth, defaults and relations; its team code calls every kind of generated API.
    let binary = built_project(&repository_root().join("compiler/tests/fixtures/full_api"));
    assert!(binary.is_file());
}

/// `client.baseDir: "/app"`: the binary serves the bundle under `/app/` (with the client-route
/// fallback there) and keeps `/auth` at the root; in chromium the assets load, typed links carry
/// the prefix and the login redirect stays under it.
#[test]
fn a_web_client_with_a_base_dir_is_served_and_navigates_under_its_prefix() {
    let binary = built_project(&repository_root().join("compiler/tests/fixtures/full_api"));
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    run_scenario(&server, "web.mjs", &["under", "Full"]);
    run_browser_scenario(&server, "browser_base_dir.mjs", &[]);
    server.stop();
}

#[test]
fn acknowledgements_travel_both_ways() {
    let project = repository_root().join("compiler/tests/fixtures/full_api");
    let binary = built_project(&project);
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "full_api.mjs", &["acks", transport]);
    }
    server.stop();
}

/// Presence in one process (the fixture's `presence: true` webSocket, tests/e2e/presence.mjs):
/// a user's two tabs are one entry, an anonymous socket one of its own, rooms have their own
/// lists, and joins, updates, leaves and the server's own list agree, over both transports.
#[test]
fn presence_lists_users_and_rooms_and_follows_joins_and_leaves() {
    let project = repository_root().join("compiler/tests/fixtures/presence");
    let binary = built_project(&project);
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "presence.mjs", &["one-process", transport]);
    }
    server.stop();
}

/// `usePresence` in a real browser: the presence fixture's page in Debian's chromium shows who is
/// connected to the namespace and the lobby, its own entry marked, as a second page comes and
/// goes (tests/e2e/browser_presence.mjs).
#[test]
fn presence_page_follows_who_comes_and_goes_in_a_real_browser() {
    let project = repository_root().join("compiler/tests/fixtures/presence");
    let binary = built_project(&project);
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    run_browser_scenario(&server, "browser_presence.mjs", &[]);
    server.stop();
}

/// Presence across two processes sharing a real PostgreSQL (`APPC_TEST_POSTGRES_URL`, from
/// tests/support/start-postgres.sh; skipped without it, except under `CI`) and a Redis of the
/// test's own (`support/redis.rs`: tests sharing one would hear each other's broadcasts): both list the same entries, a user's tabs on both are one,
/// joins cross over through the Redis adapter, and after the first process is killed its
/// sockets leave the second's lists within the heartbeat's TTL.
#[test]
fn presence_is_shared_through_redis_and_drops_a_killed_process() {
    let Some(postgres_url) = test_service_url("APPC_TEST_POSTGRES_URL", "start-postgres.sh") else {
        return;
    };
    let redis = ThrowawayRedis::start();
    let project = repository_root().join("compiler/tests/fixtures/presence");
    let binary = built_project(&project);
    let (first_data, second_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let services = [
        ("REDIS_URL", redis.url.as_str()),
        ("DATABASE_URL", postgres_url.as_str()),
    ];
    let first = RunningServer::start_with(&binary, first_data.path(), &services);
    let second = RunningServer::start_with(&binary, second_data.path(), &services);
    let first_pid = first.pid().to_string();
    let output = run_node_script(
        &first,
        "presence.mjs",
        &["cross-process", "websocket", &second.url, &first_pid],
        Duration::from_secs(60),
    );
    // How long the killed process's socket stayed listed.
    eprint!("{output}");
    second.stop();
}

/// The url in `variable` (a throwaway server from `tests/support/<script>`), or `None` (with a
/// note) when it is not set; under `CI` a missing server fails instead, so CI never passes
/// without the test.
fn test_service_url(variable: &str, script: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{variable} is not set; start its server with tests/support/{script}")
        }
        _ => {
            eprintln!("skipped: set {variable} (tests/support/{script}) to run it");
            None
        }
    }
}

/// Events declared without a payload (`askForStateUpdate: {}`, `countMessages: { ack: Int }`):
/// the real socket.io-client sends them bare and receives the server's payload-less events with
/// no argument; a payload sent where none is declared is refused like a wrong payload.
#[test]
fn events_without_a_payload_travel_both_ways_and_refuse_a_payload() {
    let project = repository_root().join("compiler/tests/fixtures/full_api");
    let binary = built_project(&project);
    let data = tempfile::tempdir().unwrap();
    let server = RunningServer::start(&binary, data.path());
    for transport in TRANSPORTS {
        run_scenario(&server, "full_api.mjs", &["no-payload", transport]);
    }
    server.stop();
}

/// `appc db seed` on the fixture: without `--name` it lists the seeds; `--name seed_dev_data`
/// builds and runs the seed on the database the server then serves; the server's setup function
/// ran before it listened and the middleware's route and layer answer (server_hooks.mjs).
#[test]
fn seeds_the_setup_function_and_the_middleware_work_end_to_end() {
    let project = repository_root().join("compiler/tests/fixtures/full_api");
    let binary = built_project(&project);
    let data = tempfile::tempdir().unwrap();
    let seed = |arguments: &[&str]| {
        appc_command(arguments, &project)
            .env("DATABASE_URL", database_url(data.path()))
            .env("JWT_SECRET", JWT_SECRET)
            .output()
            .expect("the appc binary runs")
    };

    let unnamed = seed(&["db", "seed"]);
    let stderr = String::from_utf8_lossy(&unnamed.stderr);
    assert_eq!(unnamed.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("declares 2 seeds; choose one with `--name`")
            && stderr.contains("seed_dev_data  (src/server/seeds.rs)")
            && stderr.contains("seed_rooms     (src/server/seeds.rs)"),
        "several seeds and no --name list the seeds:\n{stderr}"
    );

    let seeded = seed(&["db", "seed", "--name", "seed_dev_data"]);
    let stdout = String::from_utf8_lossy(&seeded.stdout);
    let stderr = String::from_utf8_lossy(&seeded.stderr);
    assert!(seeded.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("seeded the database with `seed_dev_data` in `src/server/seeds.rs`"),
        "the binary says what ran:\n{stdout}"
    );

    // The seed creates `ada`, so a second run fails with the seed's own error and status 1.
    let again = seed(&["db", "seed", "--name", "seed_dev_data"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the seed `seed_dev_data` in `src/server/seeds.rs` failed: 409 (username_taken): username `ada` is already taken"),
        "the seed's error is shown:\n{stderr}"
    );

    let server = RunningServer::start(&binary, data.path());
    run_scenario(&server, "server_hooks.mjs", &[]);
    server.stop();
}

/// A setup function that returns an error stops the start: the server exits with status 1,
/// prints the function's message, and never listens.
#[test]
fn a_failing_setup_function_stops_the_server_with_its_message() {
    let binary = built_project(&repository_root().join("compiler/tests/fixtures/full_api"));
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = server_command(&binary, data.path(), port)
        .env("FULL_API_FAIL_SETUP", "the e2e test asked")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the server can be waited for") {
            break status;
        }
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server listened although its setup failed"
        );
        assert!(
            Instant::now() < deadline,
            "the server did not exit within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child
        .wait_with_output()
        .expect("the server's output can be read");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the server's setup function `setup` in `src/server/setup.rs` failed: the setup was told to fail: the e2e test asked; the server did not start"),
        "the setup function's message is printed:\n{stderr}"
    );
}
