//! The attack suite of issue #13: every way the generated chat was attacked (oversized messages,
//! a client that does not read, concurrent logins, password guessing, a connect storm, an event
//! flood, connection and header floods, expired tokens and deleted users, a burst from one
//! socket, wrong payloads) is reproduced against the chat built from `examples/chat`, and the
//! behaviour that now holds is asserted. One `#[test]` per attack, so
//! `cargo test -p appc --test attack <name>` runs one; each starts its own chat server on
//! 127.0.0.1 (a fresh SQLite database, small limits where they keep the test fast) and runs
//! its node script from `tests/e2e/attack/` with the real `socket.io-client`, bounded in time
//! and count. The scripts print the measured figures (`figure: ...`) that BENCHMARKS.md records;
//! `cargo test -p appc --test attack -- --nocapture` shows them.
//!
//! The chat is built like `e2e.rs` builds it (`appc build --debug`, the shared target folder),
//! so in a full test run the second of the two reuses the first one's binary. The attacks run
//! one at a time: several of them measure the server's memory or latency, which a neighbour
//! would disturb.

#[path = "support/app_server.rs"]
mod app_server;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use app_server::{
    JWT_SECRET, RunningServer, assert_e2e_package_installed, built_example, database_url,
    e2e_scripts_dir, run_node_script,
};

/// How long one attack script may take before it is killed and the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

/// The chat's send buffer cap per WebSocket client in the slow-reader attack: 4 MiB rather than
/// the runtime's default of 1 MiB, so that the fixed costs around the buffer (allocator, the
/// moment between the refusal and Engine.IO closing the session) weigh less in the figure.
const SEND_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Limits per socket far above what the attacks that are not about them send, so that a
/// broadcast from few senders is not rate limited.
const UNLIMITED_SOCKET_EVENTS: [(&str, &str); 3] = [
    ("APPC_SOCKET_EVENTS_PER_SECOND", "1000000"),
    ("APPC_SOCKET_EVENT_BURST", "1000000"),
    ("APPC_SOCKET_QUEUED_EVENTS", "4096"),
];

/// Filler rows in the `Message` table for the connect storm: enough that a history query that
/// sorts the whole table, instead of reading the chat's index on `createdAt`, starves auth (with
/// the index dropped, `/auth/me` got errors during the storm; with it, its p99 is tens of ms).
const FILLER_MESSAGES: u32 = 200_000;

/// Keeps the attacks from running at the same time (see the module docs).
static ONE_ATTACK_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The chat server one attack runs against, with its own data folder.
struct AttackedChat {
    server: RunningServer,
    data: tempfile::TempDir,
}

impl AttackedChat {
    /// Builds the chat (once per test run) and starts it with `variables` on a new database.
    fn start(variables: &[(&str, &str)]) -> AttackedChat {
        assert_e2e_package_installed("socket.io-client");
        let binary = built_example("chat");
        let data = tempfile::tempdir().unwrap();
        let server = RunningServer::start_with(&binary, data.path(), variables);
        AttackedChat { server, data }
    }

    /// Runs `tests/e2e/attack/<script> <url> <args...>`, prints what it printed (its figures)
    /// and fails the test unless it passes.
    fn attack(&self, script: &str, args: &[&str]) {
        let stdout = run_node_script(
            &self.server,
            &format!("attack/{script}"),
            args,
            SCRIPT_TIMEOUT,
        );
        print!("{stdout}");
    }

    fn pid(&self) -> String {
        self.server.pid().to_string()
    }

    /// The chat's SQLite database, opened beside the server.
    fn database(&self) -> ChatDatabase {
        ChatDatabase::open(self.data.path())
    }

    /// How many lines of the server's log contain `text`.
    fn log_lines_containing(&self, text: &str) -> usize {
        self.server
            .log()
            .lines()
            .filter(|line| line.contains(text))
            .count()
    }

    fn stop(self) {
        self.server.stop();
    }
}

/// The test's own connection to the chat's SQLite database, for what no client can do: filling
/// the table the history is read from, counting stored rows, deleting a user.
struct ChatDatabase {
    runtime: tokio::runtime::Runtime,
    pool: sqlx::SqlitePool,
}

impl ChatDatabase {
    fn open(data_dir: &Path) -> ChatDatabase {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the test's database connection");
        let options = database_url(data_dir)
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .expect("the test database url parses")
            .busy_timeout(Duration::from_secs(10));
        let pool = runtime
            .block_on(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options),
            )
            .expect("the chat's database opens");
        ChatDatabase { runtime, pool }
    }

    /// Runs `statement` with its one `?` bound to `argument`; returns the rows it changed.
    fn execute(&self, statement: &'static str, argument: i64) -> u64 {
        self.runtime
            .block_on(sqlx::query(statement).bind(argument).execute(&self.pool))
            .unwrap_or_else(|error| panic!("`{statement}` failed: {error}"))
            .rows_affected()
    }

    fn count(&self, query: &'static str) -> i64 {
        self.runtime
            .block_on(sqlx::query_scalar::<_, i64>(query).fetch_one(&self.pool))
            .unwrap_or_else(|error| panic!("`{query}` failed: {error}"))
    }
}

impl Drop for ChatDatabase {
    fn drop(&mut self) {
        self.runtime.block_on(self.pool.close());
    }
}

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_ATTACK_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs an attack script that asks the test to act for it: every line it prints is passed to
/// `answer`, and what `answer` returns is written to the script's stdin as one line. Fails the
/// test unless the script passes within [`SCRIPT_TIMEOUT`].
fn attack_in_conversation(
    chat: &AttackedChat,
    script: &str,
    args: &[&str],
    mut answer: impl FnMut(&str) -> Option<String>,
) {
    let scripts = e2e_scripts_dir();
    let mut child = Command::new("node")
        .arg(scripts.join("attack").join(script))
        .arg(&chat.server.url)
        .args(args)
        .current_dir(&scripts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs; install Node.js 18 or later");
    let mut stdin = child.stdin.take().expect("node's stdin is piped");
    let stdout = child.stdout.take().expect("node's stdout is piped");
    let (lines_sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let mut printed = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(line) => {
                println!("{line}");
                if let Some(reply) = answer(&line) {
                    writeln!(stdin, "{reply}").expect("the script reads its stdin");
                }
                printed.push_str(&line);
                printed.push('\n');
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "node {script} did not finish within {SCRIPT_TIMEOUT:?}:\n{printed}\nserver log:\n{}",
                    chat.server.log()
                );
            }
        }
    }
    drop(stdin);
    let output = child.wait_with_output().expect("node can be waited for");
    assert!(
        output.status.success(),
        "node {script} failed:\n{printed}{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        chat.server.log()
    );
}

/// 1 MB and 10 MB messages over WebSocket close the sender's connection before any handler
/// runs (they are far beyond the 100 kB `max_payload`); nothing is stored or broadcast.
#[test]
fn oversized_messages_over_websocket_close_the_connection_and_store_nothing() {
    let _serial = one_at_a_time();
    let chat = AttackedChat::start(&[]);
    chat.attack("oversized_messages.mjs", &[]);
    chat.stop();
}

/// A client that stops reading during a broadcast is disconnected once the server would hold
/// more than its send buffer cap for it, with one log line, and sees the end as soon as it reads
/// again; the readers get every message in order; the memory held for it stays within the cap
/// and 10%. A client sending unasked pongs is disconnected too.
#[test]
fn a_client_that_does_not_read_is_disconnected_and_held_memory_stays_near_the_cap() {
    let _serial = one_at_a_time();
    let send_buffer = SEND_BUFFER_BYTES.to_string();
    let mut variables = vec![("APPC_SOCKET_SEND_BUFFER_BYTES", send_buffer.as_str())];
    variables.extend(UNLIMITED_SOCKET_EVENTS);
    let chat = AttackedChat::start(&variables);
    chat.attack("slow_reader.mjs", &[&chat.pid(), &send_buffer]);
    assert_eq!(
        chat.log_lines_containing("the client is not reading what the server sends"),
        1,
        "the slow client's disconnect is logged once:\n{}",
        chat.server.log()
    );
    assert_eq!(
        chat.log_lines_containing("the client sends heartbeat answers the server did not ask for"),
        1,
        "the disconnect for unasked pongs is logged once:\n{}",
        chat.server.log()
    );
    chat.stop();
}

/// 64 logins at once succeed while the server's memory grows by less than 300 MB.
#[test]
fn sixty_four_concurrent_logins_grow_memory_by_less_than_300_mb() {
    let _serial = one_at_a_time();
    let chat = AttackedChat::start(&[
        // Every login waits for a hashing slot: the point is memory, not refusals.
        ("APPC_HASH_WAIT_SECS", "120"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE", "1000"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "1000"),
    ]);
    chat.attack("concurrent_logins.mjs", &[&chat.pid()]);
    chat.stop();
}

/// 60 wrong passwords in a row, then the right one: 429 with `Retry-After` (default limits).
#[test]
fn guessing_passwords_is_throttled_with_429_and_retry_after() {
    let _serial = one_at_a_time();
    let chat = AttackedChat::start(&[]);
    chat.attack("password_guessing.mjs", &[]);
    chat.stop();
}

/// 100 anonymous connects at once against a long `Message` table, then 100 a second: every
/// connection gets its history, a login and `/auth/me` stay fast (p99 under a second).
#[test]
fn a_connect_storm_on_a_long_history_leaves_login_and_auth_fast() {
    let _serial = one_at_a_time();
    let chat = AttackedChat::start(&[]);
    // Older than anything the attack posts, one second apart, in the format the runtime writes.
    let filled = chat.database().execute(
        "WITH RECURSIVE filler(number) AS (SELECT 1 UNION ALL SELECT number + 1 FROM filler WHERE number < ?) \
         INSERT INTO \"Message\" (id, text, createdAt, userId) \
         SELECT lower(hex(randomblob(16))), 'filler ' || number, \
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || number || ' seconds'), NULL \
         FROM filler",
        i64::from(FILLER_MESSAGES),
    );
    assert_eq!(filled, u64::from(FILLER_MESSAGES));
    chat.attack("connect_storm.mjs", &[]);
    chat.stop();
}

/// 20,000 events from one socket in a fraction of a second: `rate_limited` answers, then a
/// disconnect; only a small part is stored (default socket limits).
#[test]
fn an_event_flood_from_one_socket_is_rate_limited_then_disconnected() {
    let _serial = one_at_a_time();
    let chat = AttackedChat::start(&[]);
    chat.attack("event_flood.mjs", &[]);
    let stored = chat
        .database()
        .count("SELECT COUNT(*) FROM \"Message\" WHERE text LIKE 'flood %'");
    println!("figure: flood messages stored: {stored} of 20000");
    assert_eq!(
        chat.log_lines_containing(
            "disconnected a socket that kept sending events beyond its limits"
        ),
        1,
        "the server disconnected the flooding socket, with one log line:\n{}",
        chat.server.log()
    );
    assert!(
        stored < 200,
        "{stored} of the flood's 20,000 messages were stored"
    );
    chat.stop();
}

/// 500 WebSocket clients from one address: exactly the per-address cap is admitted and stays
/// connected, the rest are refused at once and the refusals logged.
#[test]
fn connection_caps_refuse_sockets_from_one_address_past_the_cap() {
    let _serial = one_at_a_time();
    let cap = "250";
    let chat = AttackedChat::start(&[("APPC_MAX_CONNECTIONS_PER_IP", cap)]);
    chat.attack("connection_caps.mjs", &["sockets", cap]);
    assert!(
        chat.log_lines_containing(
            "refused connections over the limit of APPC_MAX_CONNECTIONS_PER_IP"
        ) >= 1,
        "the refusals are logged:\n{}",
        chat.server.log()
    );
    chat.stop();
}

/// 200 connections that send half a request header are closed once the header timeout passes.
#[test]
fn connection_caps_close_half_sent_headers_after_the_header_timeout() {
    let _serial = one_at_a_time();
    let header_timeout_seconds = "2";
    let chat = AttackedChat::start(&[("APPC_HEADER_TIMEOUT_SECS", header_timeout_seconds)]);
    chat.attack(
        "connection_caps.mjs",
        &["half-headers", header_timeout_seconds],
    );
    chat.stop();
}

/// A socket whose token expires is told `token_expired` and disconnected at the expiry; one
/// whose user is deleted is told `user_deleted` and disconnected at the next user check.
#[test]
fn sockets_end_when_their_token_expires_or_their_user_is_deleted() {
    let _serial = one_at_a_time();
    let chat = AttackedChat::start(&[("APPC_SOCKET_USER_CHECK_SECS", "1")]);
    let database = chat.database();
    attack_in_conversation(&chat, "session_end.mjs", &[JWT_SECRET], |line| {
        let user_id: i64 = line.strip_prefix("delete user ")?.parse().ok()?;
        // The user's messages first: they refer to the user.
        database.execute("DELETE FROM \"Message\" WHERE userId = ?", user_id);
        let deleted = database.execute("DELETE FROM \"User\" WHERE id = ?", user_id);
        assert_eq!(deleted, 1, "user {user_id} existed");
        Some("deleted".to_owned())
    });
    drop(database);
    chat.stop();
}

/// 51 messages sent in a row by one socket reach every client, and the history, in send order.
#[test]
fn messages_sent_in_a_row_keep_their_order_everywhere() {
    let _serial = one_at_a_time();
    // 51 at once is beyond the default burst (40) and queue (32): raised, because this attack
    // is about order, and `event_flood.mjs` covers the limits.
    let chat = AttackedChat::start(&[
        ("APPC_SOCKET_EVENT_BURST", "64"),
        ("APPC_SOCKET_QUEUED_EVENTS", "64"),
    ]);
    chat.attack("message_order.mjs", &[]);
    chat.stop();
}

/// Wrong payloads are answered in the spec's words (`expected String, found Int 42`), over
/// WebSocket and long-polling, and the 2000-character limit on a message holds.
#[test]
fn wrong_payloads_are_answered_in_the_specs_words() {
    let _serial = one_at_a_time();
    let chat = AttackedChat::start(&[]);
    for transport in ["websocket", "polling"] {
        chat.attack("payload_errors.mjs", &[transport]);
    }
    chat.stop();
}
