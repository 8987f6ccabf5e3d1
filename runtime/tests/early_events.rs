//! Events a client sends the moment it sees the Socket.IO CONNECT, against an in-process server
//! on a multi-threaded runtime and a raw Engine.IO client over WebSocket. socketioxide sends
//! CONNECT before it runs the namespace's connect handler, so such an event can arrive before
//! the namespace function has registered its handler: it must still reach that handler, in its
//! order, under the socket's limits and payload checks, while an event the function never
//! registers is ignored as before and what the function emits on connect still arrives, with
//! either encoding.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use appc_runtime::SocketRef;
use appc_runtime::codegen::{
    AckSender, Connection, Encoding, NamespaceConfig, SocketSettings, emit_to_socket, on_in_order,
    on_in_order_with_max_length,
};
use common::{MsgPackClient, Packet, SocketClient, TestServer};
use serde_json::json;

/// How long the slow namespace function works before it registers its handler.
const SLOW_START: Duration = Duration::from_millis(300);

/// A namespace function as the generator calls the team's: it registers `echo` (acknowledged
/// with its text) before its first await, then loads something and sends `history`.
fn echo_namespace() -> NamespaceConfig {
    NamespaceConfig::new("/").on_connect(async |connection: Connection| {
        on_in_order(
            &connection.socket,
            "echo",
            |_socket: SocketRef, text: String, ack: AckSender| async move {
                ack.send(&text).ok();
            },
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        emit_to_socket(&connection.socket, "history", "earlier messages").ok();
    })
}

/// A namespace function that works for [`SLOW_START`] (synchronously, so no await lets the
/// runtime open the socket) before it registers `echo` with `maxLength: 5`; each `echo` emits
/// `echoed` then acknowledges, and counts in `handled`. It never registers `unhandled`.
fn slow_start_namespace(path: &str, handled: Arc<AtomicUsize>) -> NamespaceConfig {
    NamespaceConfig::new(path).on_connect(move |connection: Connection| {
        let handled = handled.clone();
        async move {
            std::thread::sleep(SLOW_START);
            on_in_order_with_max_length(
                &connection.socket,
                "echo",
                5,
                move |socket: SocketRef, text: String, ack: AckSender| {
                    handled.fetch_add(1, Ordering::SeqCst);
                    async move {
                        emit_to_socket(&socket, "echoed", &text).ok();
                        ack.send(&text).ok();
                    }
                },
            );
            emit_to_socket(&connection.socket, "history", "earlier messages").ok();
        }
    })
}

/// A namespace function that registers `echo` after a slow start, then panics before its first
/// await.
fn panicking_namespace() -> NamespaceConfig {
    NamespaceConfig::new("/panicking").on_connect(async |connection: Connection| {
        std::thread::sleep(SLOW_START);
        on_in_order(
            &connection.socket,
            "echo",
            |_socket: SocketRef, text: String, ack: AckSender| async move {
                ack.send(&text).ok();
            },
        );
        panic!("the test asked this namespace function to panic");
    })
}

/// The `APPC_SOCKET_*` variables of a server with these limits and no user checks.
fn limits(per_second: u32, burst: u32, queued: usize) -> Vec<(&'static str, String)> {
    vec![
        ("APPC_SOCKET_EVENTS_PER_SECOND", per_second.to_string()),
        ("APPC_SOCKET_EVENT_BURST", burst.to_string()),
        ("APPC_SOCKET_QUEUED_EVENTS", queued.to_string()),
        ("APPC_SOCKET_REFUSALS_BEFORE_DISCONNECT", "100".to_owned()),
        ("APPC_SOCKET_USER_CHECK_SECS", "0".to_owned()),
    ]
}

async fn start(variables: &[(&'static str, String)], namespace: NamespaceConfig) -> TestServer {
    let variables: Vec<(&str, &str)> = variables
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    TestServer::start_with(None, &variables, |server| server.namespace(namespace)).await
}

async fn connect(server: &TestServer, namespace: &str) -> SocketClient {
    let (client, answer) = SocketClient::connect(server.address, namespace, json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client
}

/// Every packet that arrives until nothing has for `quiet`.
async fn packets_until_quiet(client: &mut SocketClient, quiet: Duration) -> Vec<Packet> {
    let mut packets = Vec::new();
    while let Ok(packet) = tokio::time::timeout(quiet, client.next_packet()).await {
        packets.push(packet);
    }
    packets
}

/// What a client that emits in its `connect` callback sees: every one of many connections, made
/// at once, gets its first event handled and the namespace function's `history`. (This
/// in-process client seldom wins the race against the connect handler; the slow starts below
/// make it win every time, and `tests/e2e/chat.mjs emit-on-connect` loads a real server.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_sent_the_moment_the_socket_connects_reaches_its_handler() {
    const CONNECTIONS: usize = 100;
    let server = start(&limits(20, 40, 32), echo_namespace()).await;
    let address = server.address;
    let clients = (0..CONNECTIONS).map(|number| {
        tokio::spawn(async move {
            let (mut client, answer) = SocketClient::connect(address, "/", json!({})).await;
            assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
            let text = format!("hello {number}");
            client.emit("echo", json!(text), Some(1)).await;
            let (mut acknowledged, mut history) = (false, false);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
            while !(acknowledged && history) {
                let Ok(packet) = tokio::time::timeout_at(deadline, client.next_packet()).await
                else {
                    break;
                };
                match packet {
                    Packet::Ack { id: 1, data } => {
                        assert_eq!(data, vec![json!(text)]);
                        acknowledged = true;
                    }
                    Packet::Event { name, data } if name == "history" => {
                        assert_eq!(data, vec![json!("earlier messages")]);
                        history = true;
                    }
                    other => panic!("unexpected packet {other:?}"),
                }
            }
            (acknowledged, history)
        })
    });
    let outcomes = futures_util::future::join_all(clients).await;
    let lost_events = outcomes
        .iter()
        .filter(|outcome| !outcome.as_ref().expect("the client did not panic").0)
        .count();
    let lost_histories = outcomes
        .iter()
        .filter(|outcome| !outcome.as_ref().expect("the client did not panic").1)
        .count();
    assert_eq!(
        (lost_events, lost_histories),
        (0, 0),
        "events and histories lost of {CONNECTIONS} connections"
    );
    server.stop().await;
}

/// Events that arrive while the namespace function has not registered their handler yet wait
/// for it and are handled in the order sent, with their payloads checked as always; an event it
/// never registers is ignored, as for any socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_before_the_handler_is_registered_wait_for_it_in_order() {
    let handled = Arc::new(AtomicUsize::new(0));
    let server = start(
        &limits(20, 40, 32),
        slow_start_namespace("/slow", handled.clone()),
    )
    .await;
    let mut client = connect(&server, "/slow").await;
    client.emit("echo", json!("first"), Some(1)).await;
    client.emit("unhandled", json!("ignored"), Some(2)).await;
    client.emit("echo", json!("too long"), Some(3)).await;
    client.emit("echo", json!(5), Some(4)).await;
    client.emit("echo", json!("last"), Some(5)).await;

    let packets = packets_until_quiet(&mut client, SLOW_START + Duration::from_millis(700)).await;
    let mut ordered = Vec::new();
    for packet in &packets {
        match packet {
            Packet::Ack { id: 3, data } => {
                assert_eq!(data[0]["error"]["code"], "invalid_payload", "{data:?}");
                let message = data[0]["error"]["message"].as_str().unwrap();
                assert_eq!(message, "expected at most 5 characters, found 8");
            }
            Packet::Ack { id: 4, data } => {
                assert_eq!(data[0]["error"]["code"], "invalid_payload", "{data:?}");
                let message = data[0]["error"]["message"].as_str().unwrap();
                assert_eq!(message, "expected String, found Int 5");
            }
            Packet::Ack { id, data } => ordered.push(format!("ack {id} {}", data[0])),
            Packet::Event { name, data } => ordered.push(format!("{name} {}", data[0])),
            other => panic!("unexpected packet {other:?}"),
        }
    }
    let answered: Vec<_> = packets
        .iter()
        .filter_map(|packet| match packet {
            Packet::Ack { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert!(
        !answered.contains(&2),
        "the unregistered event got {packets:?}"
    );
    assert_eq!(answered.len(), 4, "{packets:?}");
    assert_eq!(
        ordered,
        [
            r#"history "earlier messages""#,
            r#"echoed "first""#,
            r#"ack 1 "first""#,
            r#"echoed "last""#,
            r#"ack 5 "last""#,
        ],
        "the history first (sent before anything was handled), then the events in order"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 2);

    // Once registered, the socket is served as any other.
    client.emit("echo", json!("later"), Some(6)).await;
    assert_eq!(client.expect_ack(6).await, vec![json!("later")]);
    server.stop().await;
}

/// A client that floods before the handler is registered meets the same limits as after: the
/// events beyond the socket's rate and beyond its queued events are refused with `rate_limited`
/// and never reach the handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_before_the_handler_is_registered_hits_the_sockets_limits() {
    let handled = Arc::new(AtomicUsize::new(0));
    // A burst of 4, and room for the oldest event and 2 behind it.
    let server = start(
        &limits(1, 4, 2),
        slow_start_namespace("/slow", handled.clone()),
    )
    .await;
    let mut client = connect(&server, "/slow").await;
    for ack_id in 1..=6 {
        client
            .emit("echo", json!(format!("e{ack_id}")), Some(ack_id))
            .await;
    }

    let mut acks = Vec::new();
    while acks.len() < 6 {
        if let Packet::Ack { id, data } = client.next_packet().await {
            acks.push((id, data));
        }
    }
    acks.sort_by_key(|(id, _)| *id);
    let answers: Vec<_> = acks.iter().map(|(_, data)| data[0].clone()).collect();
    assert_eq!(answers[..3], [json!("e1"), json!("e2"), json!("e3")]);
    for (answer, expected) in answers[3..].iter().zip([
        "too many events waiting: at most 2 per socket",
        "too many events: at most 1 per second (bursts of 4) per socket",
        "too many events: at most 1 per second (bursts of 4) per socket",
    ]) {
        assert_eq!(answer["error"]["code"], "rate_limited", "{answer:?}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "{message}");
    }
    assert_eq!(
        handled.load(Ordering::SeqCst),
        3,
        "refused events never ran"
    );
    server.stop().await;
}

/// A namespace function that panics does not keep the events it was waiting for: they go to the
/// handlers it had registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_held_for_a_namespace_function_that_panics_still_reach_its_handlers() {
    let server = start(&limits(20, 40, 32), panicking_namespace()).await;
    let mut client = connect(&server, "/panicking").await;
    client.emit("echo", json!("before"), Some(1)).await;
    assert_eq!(client.expect_ack(1).await, vec![json!("before")]);
    client.emit("echo", json!("after"), Some(2)).await;
    assert_eq!(client.expect_ack(2).await, vec![json!("after")]);
    server.stop().await;
}

/// With the msgpack parser, held events are read and handed over the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_held_over_msgpack_reach_their_handler() {
    let handled = Arc::new(AtomicUsize::new(0));
    let namespace = slow_start_namespace("/", handled.clone());
    let server = TestServer::start(|server| {
        server
            .socket_settings(SocketSettings::default().encoding(Encoding::MsgPack))
            .namespace(namespace)
    })
    .await;
    let mut client = MsgPackClient::connect(server.address, json!({})).await;
    for (id, text) in [(1, "one"), (2, "two")] {
        client
            .send(json!({ "type": 2, "nsp": "/", "data": ["echo", text], "id": id }))
            .await;
    }
    assert_eq!(client.expect_ack(1).await["data"], json!(["one"]));
    assert_eq!(client.expect_ack(2).await["data"], json!(["two"]));
    assert_eq!(handled.load(Ordering::SeqCst), 2);
    server.stop().await;
}
