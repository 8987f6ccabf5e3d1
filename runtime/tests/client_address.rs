//! Who the client is behind a reverse proxy (`APPC_TRUSTED_PROXIES`), attacked on purpose
//! against an in-process server on loopback: a forged `X-Forwarded-For` from a peer that is not
//! trusted changes nothing (the operation rate still bites the real peer), a trusted proxy's
//! forwarded clients get allowances of their own (operations and login attempts) and a client
//! cannot buy a fresh one by writing the header itself, a malformed header falls back to the
//! proxy, a trusted proxy's connections are not capped per address, and a socket's client is
//! the forwarded one too.
//!
//! The tests connect from 127.0.0.1, which plays the proxy when it is trusted.

mod common;

use std::time::Duration;

use appc_runtime::axum::extract::State;
use appc_runtime::axum::routing::post;
use appc_runtime::codegen::{Connection, Entity, NamespaceConfig};
use common::{TestServer, User, http_with_headers};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const WAIT: Duration = Duration::from_secs(10);

/// Held by every test: several servers at once would only slow the limits' timing down.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `query ping { input: Bool?, output: Int }`, whose function answers 1.
static PING: appc_runtime::codegen::OperationSpec = appc_runtime::codegen::OperationSpec {
    name: "ping",
    auth_required: false,
    input_max_length: None,
};

async fn ping(
    _input: Option<bool>,
    _ctx: appc_runtime::OperationContext<()>,
) -> Result<i64, appc_runtime::HttpError> {
    Ok(1)
}

/// A server with auth, `/operations/ping`, and a root namespace that tells each socket the
/// client address the server sees for it, under the given variables.
async fn server(variables: &[(&str, &str)]) -> TestServer {
    TestServer::start_with(None, variables, |server| {
        server
            .user_table(User::schema().clone())
            .namespace(
                NamespaceConfig::new("/").on_connect(|connection: Connection| async move {
                    let extensions = &connection.socket.req_parts().extensions;
                    let address =
                        appc_runtime::client_address(extensions).map(|address| address.to_string());
                    connection.socket.emit("client", &address).ok();
                }),
            )
            .routes(|router| {
                router.route(
                    "/operations/ping",
                    post(
                        async |State(state): State<appc_runtime::AppState>,
                               request: appc_runtime::axum::extract::Request| {
                            appc_runtime::codegen::answer_operation(state, request, &PING, ping)
                                .await
                        },
                    ),
                )
            })
    })
    .await
}

/// The statuses of `count` pings sent with `forwarded_for` as `X-Forwarded-For` (none when
/// `None`).
async fn pings(server: &TestServer, count: usize, forwarded_for: Option<&str>) -> Vec<u16> {
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|value| ("x-forwarded-for", value))
        .into_iter()
        .collect();
    let mut statuses = Vec::new();
    for _ in 0..count {
        let response = http_with_headers(
            "POST",
            &server.url("/operations/ping"),
            Some("null"),
            None,
            &headers,
        )
        .await;
        statuses.push(response.status);
    }
    statuses
}

const SLOW_RATE: [(&str, &str); 2] = [
    ("APPC_OPERATIONS_PER_SECOND", "1"),
    ("APPC_OPERATION_BURST", "3"),
];

#[tokio::test]
async fn a_forged_forwarded_for_from_a_peer_that_is_not_trusted_is_ignored() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // A proxy is trusted, but not the peer these requests come from.
    let mut variables = SLOW_RATE.to_vec();
    variables.push(("APPC_TRUSTED_PROXIES", "10.0.0.0/8"));
    let server = server(&variables).await;
    let mut statuses = Vec::new();
    for index in 0..6 {
        let forged = format!("203.0.113.{index}");
        statuses.extend(pings(&server, 1, Some(&forged)).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    server.stop().await;
}

#[tokio::test]
async fn forwarded_clients_of_a_trusted_proxy_get_separate_allowances() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut variables = SLOW_RATE.to_vec();
    variables.push(("APPC_TRUSTED_PROXIES", "127.0.0.1"));
    let server = server(&variables).await;
    assert_eq!(
        pings(&server, 5, Some("203.0.113.1")).await,
        [200, 200, 200, 429, 429]
    );
    // Another client behind the same proxy has its own allowance.
    assert_eq!(
        pings(&server, 3, Some("203.0.113.2")).await,
        [200, 200, 200]
    );
    // A client that writes a fresh address itself is still the address the proxy appended.
    assert_eq!(
        pings(&server, 2, Some("198.51.100.77, 203.0.113.1")).await,
        [429, 429]
    );
    // The proxy's own requests (no header) count against the proxy, apart from its clients.
    assert_eq!(pings(&server, 1, None).await, [200]);
    server.stop().await;
}

#[tokio::test]
async fn a_malformed_forwarded_for_from_a_trusted_proxy_falls_back_to_the_proxy() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut variables = SLOW_RATE.to_vec();
    variables.push(("APPC_TRUSTED_PROXIES", "127.0.0.1"));
    let server = server(&variables).await;
    let garbled = ["not an address", "203.0.113.1, 999.1.1.1", ", ,", "::g"];
    let mut statuses = Vec::new();
    for header in garbled {
        statuses.extend(pings(&server, 1, Some(header)).await);
    }
    // All four count against the proxy: three admitted, then the proxy's allowance is spent.
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(pings(&server, 1, None).await, [429]);
    // A well-formed client is unaffected.
    assert_eq!(pings(&server, 1, Some("203.0.113.1")).await, [200]);
    server.stop().await;
}

#[tokio::test]
async fn login_attempts_are_throttled_per_forwarded_client() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = server(&[
        ("APPC_TRUSTED_PROXIES", "127.0.0.1"),
        ("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "2"),
    ])
    .await;
    let login = async |username: &str, forwarded_for: &str| {
        let body = serde_json::json!({ "username": username, "password": "some password" });
        http_with_headers(
            "POST",
            &server.url("/auth/login"),
            Some(&body.to_string()),
            None,
            &[("x-forwarded-for", forwarded_for)],
        )
        .await
        .status
    };
    assert_eq!(login("guess0", "203.0.113.1").await, 401);
    assert_eq!(login("guess1", "203.0.113.1").await, 401);
    assert_eq!(login("guess2", "203.0.113.1").await, 429);
    assert_eq!(login("guess3", "203.0.113.2").await, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_trusted_proxys_connections_are_not_capped_per_address() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let open_connections = async |server: &TestServer, count: usize| {
        let mut held = Vec::new();
        for _ in 0..count {
            held.push(TcpStream::connect(server.address).await.unwrap());
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        let stats = &server.connection_stats;
        while stats.open() + stats.refused() < count as u64 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "connections counted"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (stats.open(), stats.refused(), held)
    };
    let direct = server(&[("APPC_MAX_CONNECTIONS_PER_IP", "2")]).await;
    let (open, refused, _held) = open_connections(&direct, 4).await;
    assert_eq!((open, refused), (2, 2), "the cap applies to a direct peer");
    direct.stop().await;

    let proxied = server(&[
        ("APPC_MAX_CONNECTIONS_PER_IP", "2"),
        ("APPC_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let (open, refused, _held) = open_connections(&proxied, 4).await;
    assert_eq!(
        (open, refused),
        (4, 0),
        "a trusted proxy carries many clients"
    );
    proxied.stop().await;
}

/// The address the server reports to a socket that connects with `forwarded_for` as its
/// upgrade request's `X-Forwarded-For`.
async fn socket_client_address(server: &TestServer, forwarded_for: &str) -> serde_json::Value {
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.address
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", forwarded_for.parse().unwrap());
    let (mut stream, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("websocket connects in time")
        .expect("websocket connects");
    stream.send(Frame::text("40")).await.unwrap();
    loop {
        let frame = tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("a frame in time")
            .expect("the connection is open")
            .expect("a valid frame");
        let Frame::Text(text) = frame else { continue };
        if let Some(event) = text.as_str().strip_prefix("42") {
            let event: serde_json::Value = serde_json::from_str(event).unwrap();
            assert_eq!(event[0], "client");
            return event[1].clone();
        }
    }
}

#[tokio::test]
async fn a_sockets_client_is_the_forwarded_one_only_through_a_trusted_proxy() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let direct = server(&[]).await;
    assert_eq!(
        socket_client_address(&direct, "203.0.113.7").await,
        "127.0.0.1"
    );
    direct.stop().await;
    let proxied = server(&[("APPC_TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    assert_eq!(
        socket_client_address(&proxied, "198.51.100.1, 203.0.113.7").await,
        "203.0.113.7"
    );
    proxied.stop().await;
}
