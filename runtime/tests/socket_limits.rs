//! The per-socket limits against an in-process server and a raw WebSocket client, each one hit:
//! WebSocket messages beyond `max_payload` close the connection before any handler runs; one
//! socket's events are handled (stored, acknowledged and broadcast) in the order they were sent,
//! even while a slow commit holds the first one back and while a handler panics; events beyond
//! the rate are answered `rate_limited` and a socket that keeps sending them is disconnected;
//! events beyond the handlers in flight are refused; a socket is disconnected when its token
//! expires or its user is deleted.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use appc_runtime::SocketRef;
use appc_runtime::codegen::{
    AckSender, Connection, Entity, NamespaceConfig, emit_to_socket, on_in_order,
};
use appc_runtime::{AppState, Query};
use common::{Message, NewMessage, Packet, SocketClient, TestServer, User, WAIT, signup};
use serde_json::json;
use tokio::sync::{Semaphore, mpsc};

/// The text that makes the chat handler panic before it stores anything.
const PANIC_TEXT: &str = "panic in the handler";

/// The generated chat's handler, registered as generated code does: each message is stored, acknowledged with its
/// text, then broadcast to every socket, the sender included.
fn chat_namespace(state: AppState) -> NamespaceConfig {
    reporting_chat_namespace(state, None)
}

/// The chat, whose handler also reports each message to `started` when it begins.
fn reporting_chat_namespace(
    state: AppState,
    started: Option<mpsc::UnboundedSender<String>>,
) -> NamespaceConfig {
    NamespaceConfig::new("/").on_connect(move |connection: Connection| {
        let state = state.clone();
        let started = started.clone();
        async move {
            on_in_order(
                &connection.socket,
                "chatMessage",
                move |_socket: SocketRef, text: String, ack: AckSender| {
                    let state = state.clone();
                    let started = started.clone();
                    async move {
                        if let Some(started) = &started {
                            started.send(text.clone()).ok();
                        }
                        assert_ne!(text, PANIC_TEXT, "the test asked this handler to panic");
                        let stored = state
                            .database
                            .table::<Message>()
                            .create(NewMessage {
                                text,
                                room: None,
                                author_id: None,
                                metadata: None,
                            })
                            .await
                            .expect("the message is stored");
                        ack.send(&stored.text).ok();
                        state
                            .emitter
                            .to_all("/", "chatMessage", &stored.text)
                            .await
                            .expect("the message is broadcast");
                    }
                },
            );
            connection.socket.emit("ready", &()).ok();
        }
    })
}

/// A namespace whose handler reports that it started and then waits for a permit, so the test
/// decides when handlers finish.
fn slow_namespace(started: mpsc::UnboundedSender<String>, gate: Arc<Semaphore>) -> NamespaceConfig {
    NamespaceConfig::new("/slow").on_connect(move |connection: Connection| {
        let started = started.clone();
        let gate = gate.clone();
        async move {
            on_in_order(
                &connection.socket,
                "work",
                move |socket: SocketRef, label: String, _ack: AckSender| {
                    let started = started.clone();
                    let gate = gate.clone();
                    async move {
                        started.send(label.clone()).ok();
                        gate.acquire().await.expect("the gate stays open").forget();
                        emit_to_socket(&socket, "done", &label).ok();
                    }
                },
            );
            connection.socket.emit("ready", &()).ok();
        }
    })
}

/// The `APPC_SOCKET_*` variables of a server with these limits and no user checks.
fn limits(
    per_second: u32,
    burst: u32,
    queued: usize,
    refusals: u32,
) -> [(&'static str, String); 5] {
    [
        ("APPC_SOCKET_EVENTS_PER_SECOND", per_second.to_string()),
        ("APPC_SOCKET_EVENT_BURST", burst.to_string()),
        ("APPC_SOCKET_QUEUED_EVENTS", queued.to_string()),
        (
            "APPC_SOCKET_REFUSALS_BEFORE_DISCONNECT",
            refusals.to_string(),
        ),
        ("APPC_SOCKET_USER_CHECK_SECS", "0".to_owned()),
    ]
}

fn as_variables<'a>(variables: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    variables
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

async fn chat_server(variables: &[(&'static str, String)]) -> TestServer {
    TestServer::start_with(None, &as_variables(variables), |server| {
        server
            .user_table(User::schema().clone())
            .tables([Message::schema().clone()])
            .namespace_with_state(chat_namespace)
    })
    .await
}

async fn connect(server: &TestServer, namespace: &str, auth: serde_json::Value) -> SocketClient {
    let (mut client, answer) = SocketClient::connect(server.address, namespace, auth).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client.expect_event("ready").await;
    client
}

async fn stored_texts(server: &TestServer) -> Vec<String> {
    server
        .state
        .database
        .table::<Message>()
        .find_many(Query::new())
        .await
        .unwrap()
        .into_iter()
        .map(|message| message.text)
        .collect()
}

/// The next packet, or `None` when nothing arrives within `wait`.
async fn packet_within(client: &mut SocketClient, wait: Duration) -> Option<Packet> {
    tokio::time::timeout(wait, client.next_packet()).await.ok()
}

#[tokio::test]
async fn websocket_messages_beyond_max_payload_close_the_connection_before_any_handler() {
    let server = chat_server(&[]).await;
    let mut observer = connect(&server, "/", json!({})).await;

    for size in [1_000_000, 10_000_000] {
        let mut sender = connect(&server, "/", json!({})).await;
        // The send itself may fail when the server closes the connection mid-frame.
        sender
            .try_emit("chatMessage", json!("x".repeat(size)))
            .await;
        assert!(
            sender.is_closed().await,
            "a {size}-byte message closes the connection"
        );
    }

    let mut sender = connect(&server, "/", json!({})).await;
    let fifty_kilobytes = "y".repeat(50_000);
    sender
        .emit("chatMessage", json!(fifty_kilobytes), Some(1))
        .await;
    assert_eq!(sender.expect_ack(1).await, vec![json!(fifty_kilobytes)]);
    // The first broadcast the observer sees is the one that fit: the large ones never reached
    // the handler.
    assert_eq!(
        observer.expect_event("chatMessage").await,
        vec![json!(fifty_kilobytes)]
    );
    assert_eq!(stored_texts(&server).await, vec![fifty_kilobytes]);
    server.stop().await;
}

#[tokio::test]
async fn one_sockets_events_are_stored_acknowledged_and_broadcast_in_the_order_sent() {
    let server = chat_server(&limits(1_000, 1_000, 64, 10)).await;
    let mut observer = connect(&server, "/", json!({})).await;
    let mut sender = connect(&server, "/", json!({})).await;
    let sent: Vec<String> = (1..=51).map(|number| format!("message {number}")).collect();
    for (ack_id, text) in (1..).zip(&sent) {
        sender.emit("chatMessage", json!(text), Some(ack_id)).await;
    }

    let mut acknowledged = Vec::new();
    let mut echoed = Vec::new();
    while acknowledged.len() < sent.len() || echoed.len() < sent.len() {
        match sender.next_packet().await {
            Packet::Ack { data, .. } => acknowledged.push(data[0].as_str().unwrap().to_owned()),
            Packet::Event { name, data } if name == "chatMessage" => {
                echoed.push(data[0].as_str().unwrap().to_owned());
            }
            other => panic!("unexpected packet {other:?}"),
        }
    }
    let mut observed = Vec::new();
    while observed.len() < sent.len() {
        let data = observer.expect_event("chatMessage").await;
        observed.push(data[0].as_str().unwrap().to_owned());
    }
    assert_eq!(acknowledged, sent, "acks in the order sent");
    assert_eq!(
        echoed, sent,
        "the sender's own broadcasts in the order sent"
    );
    assert_eq!(
        observed, sent,
        "another client's broadcasts in the order sent"
    );
    assert_eq!(
        stored_texts(&server).await,
        sent,
        "stored in the order sent"
    );
    server.stop().await;
}

#[tokio::test]
async fn events_beyond_the_rate_are_refused_and_a_socket_that_keeps_sending_is_disconnected() {
    let server = chat_server(&limits(20, 40, 1_000, 10)).await;
    let mut sender = connect(&server, "/", json!({})).await;
    let started = Instant::now();
    for number in 0..100 {
        if !sender
            .try_emit("chatMessage", json!(format!("flood {number}")))
            .await
        {
            break;
        }
    }
    let mut refusals = 0;
    let disconnected = loop {
        match packet_within(&mut sender, WAIT).await {
            Some(Packet::Event { name, data }) if name == "error" => {
                assert_eq!(data[0]["error"]["code"], "rate_limited", "{data:?}");
                assert_eq!(data[0]["error"]["event"], "chatMessage");
                let message = data[0]["error"]["message"].as_str().unwrap();
                assert!(message.contains("at most 20 per second"), "{message}");
                refusals += 1;
            }
            Some(Packet::Disconnect) => break true,
            Some(_) => {}
            None => break false,
        }
    };
    assert!(disconnected, "the flooding socket is disconnected");
    // Ten refusals are tolerated; the eleventh is answered too, then the socket is disconnected.
    assert_eq!(
        refusals, 11,
        "refused eleven times, the last one with the disconnect"
    );
    // The burst was handled; nothing after it reached the handler (a few more may have been
    // admitted as the bucket refilled while the flood was being sent).
    let refill = (started.elapsed().as_secs_f64() * 20.0).ceil() as usize;
    // The admitted events' handlers run after the disconnect too, one after another.
    let deadline = Instant::now() + WAIT;
    while stored_texts(&server).await.len() < 40 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stored = stored_texts(&server).await;
    assert!(
        (40..=40 + refill).contains(&stored.len()),
        "{} stored, expected 40 + at most {refill}",
        stored.len()
    );
    assert_eq!(stored[0], "flood 0");

    // Everyone else carries on.
    let mut other = connect(&server, "/", json!({})).await;
    other
        .emit("chatMessage", json!("still served"), Some(1))
        .await;
    assert_eq!(other.expect_ack(1).await, vec![json!("still served")]);
    server.stop().await;
}

#[tokio::test]
async fn events_beyond_the_handlers_in_flight_are_refused() {
    let (started_sender, mut started) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    let namespace = slow_namespace(started_sender, gate.clone());
    let server = TestServer::start_with(
        None,
        &as_variables(&limits(1_000, 1_000, 4, 10)),
        |server| server.namespace(namespace),
    )
    .await;
    let mut client = connect(&server, "/slow", json!({})).await;

    let labels = ["running", "queued 1", "queued 2", "queued 3", "queued 4"];
    for label in labels {
        client.emit("work", json!(label), None).await;
    }
    // The oldest and the four behind it all run at once; their emits wait for their turn.
    let mut started_labels = Vec::new();
    for _ in labels {
        let label = tokio::time::timeout(WAIT, started.recv()).await.unwrap();
        started_labels.push(label.unwrap());
    }
    started_labels.sort();
    let mut expected_labels = labels.map(str::to_owned).to_vec();
    expected_labels.sort();
    assert_eq!(started_labels, expected_labels);

    client.emit("work", json!("one too many"), Some(9)).await;
    let refusal = client.expect_ack(9).await;
    assert_eq!(refusal[0]["error"]["code"], "rate_limited", "{refusal:?}");
    let message = refusal[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("at most 4 per socket"), "{message}");

    // Released in any order, the five emit in the order their events arrived; the refused one
    // never runs.
    gate.add_permits(5);
    let mut done = Vec::new();
    for _ in 0..5 {
        done.push(client.expect_event("done").await[0].clone());
    }
    assert_eq!(done, labels.map(|label| json!(label)));
    assert!(
        packet_within(&mut client, Duration::from_millis(300))
            .await
            .is_none()
    );
    assert!(started.try_recv().is_err(), "the refused event never ran");
    server.stop().await;
}

#[tokio::test]
async fn a_slow_commit_does_not_hold_back_the_next_handlers_yet_their_effects_keep_the_order() {
    let (started_sender, mut started) = mpsc::unbounded_channel();
    let server = TestServer::start_with(
        None,
        &as_variables(&limits(1_000, 1_000, 64, 10)),
        |server| {
            server
                .user_table(User::schema().clone())
                .tables([Message::schema().clone()])
                .namespace_with_state(move |state| {
                    reporting_chat_namespace(state, Some(started_sender))
                })
        },
    )
    .await;
    let mut observer = connect(&server, "/", json!({})).await;
    let mut sender = connect(&server, "/", json!({})).await;

    // Another connection holds SQLite's write lock, so the first message's commit waits.
    let pool = server.state.database.sqlite_pool().unwrap().clone();
    let blocker = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let sent: Vec<String> = (1..=10).map(|number| format!("slow {number}")).collect();
    for (ack_id, text) in (1..).zip(&sent) {
        sender.emit("chatMessage", json!(text), Some(ack_id)).await;
    }
    for _ in &sent {
        tokio::time::timeout(WAIT, started.recv())
            .await
            .expect("every handler starts while the first commit waits");
    }
    assert!(
        packet_within(&mut sender, Duration::from_millis(200))
            .await
            .is_none(),
        "nothing is acknowledged before the first message is committed"
    );
    blocker.rollback().await.unwrap();

    let mut acknowledged = Vec::new();
    let mut echoed = Vec::new();
    while acknowledged.len() < sent.len() || echoed.len() < sent.len() {
        match sender.next_packet().await {
            Packet::Ack { data, .. } => acknowledged.push(data[0].as_str().unwrap().to_owned()),
            Packet::Event { name, data } if name == "chatMessage" => {
                echoed.push(data[0].as_str().unwrap().to_owned());
            }
            other => panic!("unexpected packet {other:?}"),
        }
    }
    let mut observed = Vec::new();
    while observed.len() < sent.len() {
        observed.push(
            observer.expect_event("chatMessage").await[0]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(acknowledged, sent, "acks in the order sent");
    assert_eq!(
        echoed, sent,
        "the sender's own broadcasts in the order sent"
    );
    assert_eq!(
        observed, sent,
        "another client's broadcasts in the order sent"
    );
    assert_eq!(
        stored_texts(&server).await,
        sent,
        "stored in the order sent"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_handler_that_panics_does_not_hold_back_the_sockets_later_events() {
    let server = chat_server(&limits(1_000, 1_000, 64, 10)).await;
    let mut sender = connect(&server, "/", json!({})).await;
    sender.emit("chatMessage", json!("before"), Some(1)).await;
    sender.emit("chatMessage", json!(PANIC_TEXT), Some(2)).await;
    sender.emit("chatMessage", json!("after"), Some(3)).await;

    let mut acknowledged = Vec::new();
    while acknowledged.len() < 2 {
        if let Packet::Ack { id, data } = sender.next_packet().await {
            acknowledged.push((id, data[0].clone()));
        }
    }
    assert_eq!(
        acknowledged,
        [(1, json!("before")), (3, json!("after"))],
        "the events around the panicking one are answered, in order"
    );
    assert_eq!(stored_texts(&server).await, ["before", "after"]);
    // The socket keeps being served.
    sender.emit("chatMessage", json!("later"), Some(4)).await;
    assert_eq!(sender.expect_ack(4).await, vec![json!("later")]);
    server.stop().await;
}

#[tokio::test]
async fn a_socket_is_disconnected_when_its_token_expires() {
    let server = TestServer::start(|server| {
        server
            .user_table(User::schema().clone())
            .tables([Message::schema().clone()])
            .token_lifetime(Duration::from_secs(2))
            .namespace_with_state(chat_namespace)
    })
    .await;
    let (token, _) = signup(&server, "olga", "long enough password").await;
    let connected = Instant::now();
    let mut client = connect(&server, "/", json!({ "token": token })).await;
    // Still served before the expiry.
    client
        .emit("chatMessage", json!("before expiry"), Some(1))
        .await;
    assert_eq!(client.expect_ack(1).await, vec![json!("before expiry")]);

    let error = client.expect_event("error").await;
    assert_eq!(error[0]["error"]["code"], "token_expired", "{error:?}");
    assert!(
        error[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("log in again")
    );
    assert_eq!(client.next_packet().await, Packet::Disconnect);
    let elapsed = connected.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(4),
        "disconnected {elapsed:?} after connecting with a token that lived 2 s"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_socket_is_disconnected_when_its_user_is_deleted() {
    let server = TestServer::start_with(None, &[("APPC_SOCKET_USER_CHECK_SECS", "1")], |server| {
        server
            .user_table(User::schema().clone())
            .tables([Message::schema().clone()])
            .namespace_with_state(chat_namespace)
    })
    .await;
    let (token, user) = signup(&server, "pavel", "long enough password").await;
    let mut client = connect(&server, "/", json!({ "token": token })).await;
    // The user is still there at the first check.
    assert!(
        packet_within(&mut client, Duration::from_millis(1_500))
            .await
            .is_none()
    );

    let deleted = server
        .state
        .database
        .table::<User>()
        .delete(user["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert!(deleted);
    let error = client.expect_event("error").await;
    assert_eq!(error[0]["error"]["code"], "user_deleted", "{error:?}");
    assert_eq!(client.next_packet().await, Packet::Disconnect);
    server.stop().await;
}
