//! Every limit of the serving path, hit on purpose against an in-process server on loopback:
//! the password-hashing cap (memory under 64 concurrent logins, 503 past the wait), login and
//! signup throttling (429 with `Retry-After`), the login password length, the header read
//! timeout, the connection limits, auth's database wait, the body limits (operations' included),
//! the per-client rate of operations (429 `rate_limited`), the web client's
//! security headers, and WebSocket upgrades through the new accept loop.
//!
//! The tests run one at a time (they share the process whose memory one of them measures) and
//! every wait is bounded.

mod common;

use std::time::{Duration, Instant};

use appc_runtime::axum::body::Bytes;
use appc_runtime::axum::extract::State;
use appc_runtime::axum::routing::post;
use appc_runtime::codegen::{AckSender, Connection, Entity, NamespaceConfig};
use common::{Packet, SocketClient, TestServer, User, http, signup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Held by every test: the memory measurement must not see another test's server.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn auth_server(variables: &[(&str, &str)]) -> TestServer {
    TestServer::start_with(None, variables, |server| {
        server.user_table(User::schema().clone())
    })
    .await
}

fn credentials(username: &str, password: &str) -> String {
    serde_json::json!({ "username": username, "password": password }).to_string()
}

async fn login(server: &TestServer, username: &str, password: &str) -> common::HttpResponse {
    let body = credentials(username, password);
    http("POST", &server.url("/auth/login"), Some(&body), None).await
}

/// The resident memory of this process, from `/proc/self/status`.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kilobytes: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|number| number.parse().ok())
        .expect("VmRSS in kB");
    kilobytes * 1024
}

/// Reads until the server closes the connection; `None` when it stays open past `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(received),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_logins_stay_under_the_hashing_memory_cap() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = auth_server(&[
        ("APPC_HASH_CONCURRENCY", "2"),
        // Every login waits its turn here: the point is memory, not refusals.
        ("APPC_HASH_WAIT_SECS", "120"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE", "1000"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "1000"),
    ])
    .await;
    signup(&server, "ada", "correct horse battery").await;
    let before = resident_bytes();
    let started = Instant::now();
    let logins: Vec<_> = (0..64)
        .map(|_| {
            let url = server.url("/auth/login");
            tokio::spawn(async move {
                let body = credentials("ada", "correct horse battery");
                http("POST", &url, Some(&body), None).await.status
            })
        })
        .collect();
    let mut peak = before;
    for login in logins {
        let status = tokio::time::timeout(Duration::from_secs(120), login)
            .await
            .expect("logins finish in time")
            .unwrap();
        assert_eq!(status, 200);
        peak = peak.max(resident_bytes());
    }
    let after = resident_bytes();
    let growth_mb = after.saturating_sub(before) as f64 / 1e6;
    let peak_mb = peak.saturating_sub(before) as f64 / 1e6;
    println!(
        "64 concurrent logins in {:.1} s: RSS +{growth_mb:.0} MB after, +{peak_mb:.0} MB at the peak",
        started.elapsed().as_secs_f64()
    );
    assert!(growth_mb < 300.0, "RSS grew by {growth_mb:.0} MB");
    assert!(
        peak_mb < 300.0,
        "RSS peaked {peak_mb:.0} MB above the start"
    );
    server.stop().await;
}

#[tokio::test]
async fn hashing_past_its_slots_gets_503_with_retry_after() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = auth_server(&[
        ("APPC_HASH_CONCURRENCY", "1"),
        ("APPC_HASH_WAIT_SECS", "0"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "1000"),
    ])
    .await;
    let attempts: Vec<_> = (0..16)
        .map(|index| {
            let url = server.url("/auth/login");
            tokio::spawn(async move {
                let body = credentials(&format!("nobody{index}"), "some password");
                http("POST", &url, Some(&body), None).await
            })
        })
        .collect();
    let mut busy = 0;
    for attempt in attempts {
        let response = attempt.await.unwrap();
        match response.status {
            401 => {}
            503 => {
                busy += 1;
                assert_eq!(response.body["error"]["code"], "server_busy");
                assert_eq!(response.headers["retry-after"], "1");
            }
            other => panic!("unexpected status {other}: {}", response.text),
        }
    }
    assert!(
        busy > 0,
        "16 logins at once on one slot with no wait: some must be refused"
    );
    server.stop().await;
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_and_then_the_right_one_gets_429() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // The defaults: 10 attempts a minute per username, 60 per address.
    let server = auth_server(&[]).await;
    signup(&server, "grace", "the right password").await;
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(login(&server, "grace", "a wrong password").await.status);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "throttled attempts are answered at once"
    );
    // The signup used one of the username's ten.
    assert!(
        statuses[..9].iter().all(|status| *status == 401),
        "{statuses:?}"
    );
    assert!(
        statuses[9..].iter().all(|status| *status == 429),
        "{statuses:?}"
    );
    let right = login(&server, "grace", "the right password").await;
    assert_eq!(right.status, 429, "{}", right.text);
    assert_eq!(right.body["error"]["code"], "too_many_requests");
    let retry_after: u64 = right.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    server.stop().await;
}

#[tokio::test]
async fn one_address_is_throttled_across_usernames() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = auth_server(&[("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "5")]).await;
    for index in 0..5 {
        let response = login(&server, &format!("guess{index}"), "some password").await;
        assert_eq!(response.status, 401, "{}", response.text);
    }
    let refused = login(&server, "guess5", "some password").await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.headers.contains_key("retry-after"));
    let body = credentials("newcomer", "long enough password");
    let signup = http("POST", &server.url("/auth/signup"), Some(&body), None).await;
    assert_eq!(signup.status, 429, "signup shares the address's allowance");
    server.stop().await;
}

#[tokio::test]
async fn a_long_password_on_login_is_refused_before_any_hashing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // One hashing slot and no wait: a login that reached the hasher while others hold the slot
    // would get 503, so twenty concurrent 400s show that none of them hashed.
    let server = auth_server(&[
        ("APPC_HASH_CONCURRENCY", "1"),
        ("APPC_HASH_WAIT_SECS", "0"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE", "1000"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "1000"),
    ])
    .await;
    let long_password = "p".repeat(200);
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let url = server.url("/auth/login");
            let body = credentials("ada", &long_password);
            tokio::spawn(async move { http("POST", &url, Some(&body), None).await })
        })
        .collect();
    for attempt in attempts {
        let response = attempt.await.unwrap();
        assert_eq!(response.status, 400, "{}", response.text);
        assert_eq!(response.body["error"]["field"], "password");
        assert_eq!(
            response.body["error"]["message"],
            "password must be at most 128 characters long"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start_with(None, &[], |server| {
        server.user_table(User::schema().clone()).routes(|router| {
            router.route("/echo", post(async |body: Bytes| body.len().to_string()))
        })
    })
    .await;
    let credentials_too_big = credentials("ada", &"x".repeat(20 * 1024));
    let response = http(
        "POST",
        &server.url("/auth/login"),
        Some(&credentials_too_big),
        None,
    )
    .await;
    assert_eq!(response.status, 413, "credentials are capped at 16 KiB");
    let over_two_megabytes = "x".repeat(2 * 1024 * 1024 + 1);
    let response = http(
        "POST",
        &server.url("/echo"),
        Some(&over_two_megabytes),
        None,
    )
    .await;
    assert_eq!(response.status, 413, "other routes keep the 2 MB limit");
    let response = http("POST", &server.url("/echo"), Some("small"), None).await;
    assert_eq!(response.text, "5");
    server.stop().await;
}

/// `operation echoLength { input: String, output: Int }`, as the generated code serves it.
static ECHO_LENGTH: appc_runtime::codegen::OperationSpec = appc_runtime::codegen::OperationSpec {
    name: "echoLength",
    auth_required: false,
    input_max_length: None,
};

async fn echo_length(
    input: String,
    _ctx: appc_runtime::OperationContext<()>,
) -> Result<i64, appc_runtime::HttpError> {
    Ok(input.len() as i64)
}

/// Serves `echoLength` at `/operations/echo-length` under the given `APPC_*` variables, with auth.
async fn echo_length_server(variables: &[(&str, &str)]) -> TestServer {
    TestServer::start_with(None, variables, |server| {
        server.user_table(User::schema().clone()).routes(|router| {
            router.route(
                "/operations/echo-length",
                post(
                    async |State(state): State<appc_runtime::AppState>,
                           request: appc_runtime::axum::extract::Request| {
                        appc_runtime::codegen::answer_operation(
                            state,
                            request,
                            &ECHO_LENGTH,
                            echo_length,
                        )
                        .await
                    },
                ),
            )
        })
    })
    .await
}

#[tokio::test]
async fn operation_bodies_over_appc_request_body_bytes_get_413() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = echo_length_server(&[("APPC_REQUEST_BODY_BYTES", "64")]).await;
    let url = server.url("/operations/echo-length");
    let at_the_limit = format!("\"{}\"", "x".repeat(62));
    let response = http("POST", &url, Some(&at_the_limit), None).await;
    assert_eq!((response.status, response.text.as_str()), (200, "62"));
    let over_the_limit = format!("\"{}\"", "x".repeat(63));
    let response = http("POST", &url, Some(&over_the_limit), None).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.body["error"]["code"], "payload_too_large");
    assert_eq!(
        response.body["error"]["message"],
        "the request body is larger than the 64 bytes this server accepts; send a smaller one"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_past_its_operation_rate_gets_429_rate_limited_with_retry_after() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = echo_length_server(&[
        ("APPC_OPERATIONS_PER_SECOND", "1"),
        ("APPC_OPERATION_BURST", "3"),
    ])
    .await;
    let (token, _) = signup(&server, "ada", "a long enough password").await;
    let url = server.url("/operations/echo-length");
    // An anonymous flood from one address: its burst, then 429 at once, before the body is read.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(http("POST", &url, Some("\"hi\""), None).await.status);
    }
    assert_eq!(statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(
        statuses[3..].iter().all(|status| *status == 429),
        "{statuses:?}"
    );
    let refused = http("POST", &url, Some("\"hi\""), None).await;
    assert_eq!(
        refused.body["error"]["code"], "rate_limited",
        "{}",
        refused.text
    );
    assert_eq!(refused.headers["retry-after"], "1");
    // A made-up token does not buy a fresh allowance: it counts against the address.
    let forged = http("POST", &url, Some("\"hi\""), Some("not-a-token")).await;
    assert_eq!(forged.status, 429, "{}", forged.text);
    // A logged-in user has an allowance of their own, from the same address.
    for _ in 0..3 {
        let response = http("POST", &url, Some("\"hi\""), Some(&token)).await;
        assert_eq!((response.status, response.text.as_str()), (200, "2"));
    }
    let response = http("POST", &url, Some("\"hi\""), Some(&token)).await;
    assert_eq!(response.status, 429, "{}", response.text);
    // The allowance comes back at the sustained rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = http("POST", &url, Some("\"hi\""), Some(&token)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    server.stop().await;
}

/// `query explode { output: Int }`, whose function panics.
static EXPLODE: appc_runtime::codegen::OperationSpec = appc_runtime::codegen::OperationSpec {
    name: "explode",
    auth_required: false,
    input_max_length: None,
};

async fn explode(
    input: String,
    _ctx: appc_runtime::OperationContext<()>,
) -> Result<i64, appc_runtime::HttpError> {
    if input == "boom" {
        panic!("secret detail {}", input.len());
    }
    Ok(0)
}

#[tokio::test]
async fn a_panicking_operation_answers_500_without_its_message_and_the_server_goes_on() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start_with(None, &[], |server| {
        server.routes(|router| {
            router.route(
                "/operations/explode",
                post(
                    async |State(state): State<appc_runtime::AppState>,
                           request: appc_runtime::axum::extract::Request| {
                        appc_runtime::codegen::answer_operation(state, request, &EXPLODE, explode)
                            .await
                    },
                ),
            )
        })
    })
    .await;
    let url = server.url("/operations/explode");
    for _ in 0..3 {
        let response = http("POST", &url, Some("\"boom\""), None).await;
        assert_eq!(response.status, 500);
        assert_eq!(response.body["error"]["code"], "internal");
        assert!(!response.text.contains("secret"), "{}", response.text);
    }
    let response = http("POST", &url, Some("\"calm\""), None).await;
    assert_eq!((response.status, response.text.as_str()), (200, "0"));
    server.stop().await;
}

#[tokio::test]
async fn half_sent_headers_are_closed_after_the_header_timeout() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start_with(
        None,
        &[
            ("APPC_HEADER_TIMEOUT_SECS", "1"),
            ("APPC_MAX_CONNECTIONS_PER_IP", "1000"),
        ],
        |server| server.user_table(User::schema().clone()),
    )
    .await;
    let mut streams = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream
            .write_all(b"GET /auth/me HTTP/1.1\r\nhost: localhost\r\nx-half: ")
            .await
            .unwrap();
        streams.push(stream);
    }
    let started = Instant::now();
    for stream in &mut streams {
        let closed = read_until_closed(stream, Duration::from_secs(6)).await;
        assert!(
            closed.is_some(),
            "a half-sent request is still open after 6 s"
        );
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(6), "closed after {elapsed:?}");

    // A kept-alive connection that goes quiet is closed by the same timer.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET /auth/me HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(6))
        .await
        .expect("an idle kept-alive connection is closed");
    assert!(
        answer.starts_with(b"HTTP/1.1 401"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    while server.connection_stats.open() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.connection_stats.open(),
        0,
        "every connection was given back"
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_refused_at_once() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start_with(None, &[("APPC_MAX_CONNECTIONS_PER_IP", "4")], |server| {
        server.user_table(User::schema().clone())
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(server.address).await.unwrap());
    }
    wait_for_open(&server, 4).await;
    let mut extra = TcpStream::connect(server.address).await.unwrap();
    let answer = read_until_closed(&mut extra, Duration::from_secs(2))
        .await
        .expect("the fifth connection is closed at once");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
        "{answer}"
    );
    assert_eq!(server.connection_stats.refused(), 1);

    // A freed slot admits the next connection.
    held.pop();
    wait_for_open(&server, 3).await;
    let me = http("GET", &server.url("/auth/me"), None, None).await;
    assert_eq!(me.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_total_cap_are_refused_at_once() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start_with(None, &[("APPC_MAX_CONNECTIONS", "2")], |server| {
        server.user_table(User::schema().clone())
    })
    .await;
    let _held = [
        TcpStream::connect(server.address).await.unwrap(),
        TcpStream::connect(server.address).await.unwrap(),
    ];
    wait_for_open(&server, 2).await;
    let mut extra = TcpStream::connect(server.address).await.unwrap();
    assert!(
        read_until_closed(&mut extra, Duration::from_secs(2))
            .await
            .is_some()
    );
    assert_eq!(server.connection_stats.refused(), 1);
    server.stop().await;
}

async fn wait_for_open(server: &TestServer, open: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.connection_stats.open() != open {
        assert!(
            Instant::now() < deadline,
            "expected {open} open connections, the server has {}",
            server.connection_stats.open()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn auth_answers_503_database_busy_at_once_while_the_pool_is_exhausted() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = auth_server(&[("APPC_AUTH_DB_TIMEOUT_SECS", "1")]).await;
    let (token, _) = signup(&server, "hopper", "long enough password").await;
    let pool = server.state.database.sqlite_pool().unwrap().clone();
    let mut held = Vec::new();
    while let Ok(Ok(connection)) =
        tokio::time::timeout(Duration::from_millis(500), pool.acquire()).await
    {
        held.push(connection);
    }
    assert!(!held.is_empty());
    for (path, body) in [
        ("/auth/me", None),
        (
            "/auth/login",
            Some(credentials("hopper", "long enough password")),
        ),
    ] {
        let started = Instant::now();
        let method = if body.is_some() { "POST" } else { "GET" };
        let response = http(method, &server.url(path), body.as_deref(), Some(&token)).await;
        let elapsed = started.elapsed();
        assert_eq!(response.status, 503, "{path}: {}", response.text);
        assert_eq!(response.body["error"]["code"], "database_busy");
        assert_eq!(response.headers["retry-after"], "1");
        assert!(elapsed < Duration::from_secs(3), "{path} took {elapsed:?}");
    }
    drop(held);
    let me = http("GET", &server.url("/auth/me"), None, Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    server.stop().await;
}

#[tokio::test]
async fn web_client_files_carry_the_security_headers() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>app</title>",
    )
    .unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app.js"), "console.log('hi')").unwrap();
    let web_path = web.path().to_owned();
    let server = TestServer::start(|server| {
        server
            .user_table(User::schema().clone())
            .static_dir(web_path)
    })
    .await;
    for path in ["/", "/assets/app.js", "/a/client/route"] {
        let response = http("GET", &server.url(path), None, None).await;
        assert_eq!(response.status, 200, "{path}");
        let header = |name: &str| {
            response.headers[name]
                .to_str()
                .unwrap_or_else(|_| panic!("{path}: {name}"))
                .to_owned()
        };
        let policy = header("content-security-policy");
        for directive in [
            "script-src 'self'",
            "connect-src 'self' ws: wss:",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{path}: {policy}");
        }
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("referrer-policy"), "strict-origin-when-cross-origin");
    }
    server.stop().await;
}

#[tokio::test]
async fn websocket_upgrades_work_through_the_accept_loop() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server =
        TestServer::start_with(None, &[("APPC_HEADER_TIMEOUT_SECS", "1")], |server| {
            server.user_table(User::schema().clone()).namespace(
                NamespaceConfig::new("/").on_connect(|connection: Connection| async move {
                    connection.socket.on("ping", async |ack: AckSender| {
                        ack.send(&"pong").ok();
                    });
                }),
            )
        })
        .await;
    let (mut client, answer) =
        SocketClient::connect(server.address, "/", serde_json::json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    // Past the header timeout, the upgraded connection is Engine.IO's and stays open.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client.emit("ping", serde_json::json!(null), Some(1)).await;
    assert_eq!(client.expect_ack(1).await, vec![serde_json::json!("pong")]);
    assert_eq!(server.connection_stats.refused(), 0);
    server.stop().await;
}
