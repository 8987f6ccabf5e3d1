//! Shutdown without loss, against an in-process server on a SQLite file with a raw Socket.IO
//! client: socket handlers that are running when shutdown starts finish their database writes
//! before the database closes; a burst of writes in flight is either stored and acknowledged or
//! not acknowledged, never acknowledged and lost; a handler that never finishes delays the stop
//! by `APPC_SHUTDOWN_TIMEOUT_SECS` only.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use appc_runtime::codegen::{
    AckSender, Connection, ConnectionUser, Entity, EntitySet, NamespaceConfig,
};
use appc_runtime::socketioxide::extract::Data;
use appc_runtime::{AppState, Database, SocketContext, Table};
use common::{Message, NewMessage, Packet, SocketClient, TestServer, User, WAIT};
use serde_json::json;
use tokio::sync::mpsc;

#[derive(Clone)]
struct Entities {
    message: Table<Message>,
}

impl EntitySet for Entities {
    fn from_database(database: &Database) -> Self {
        Entities {
            message: database.table(),
        }
    }
}

/// A namespace whose `save` handler works like a generated one: it gets its own context, says
/// it started (on the test's channel), works for `work` (a slow computation, a call to another
/// service), stores the text and acknowledges the stored row's id, or the error.
fn saving_namespace(
    state: AppState,
    work: Duration,
    started: mpsc::UnboundedSender<String>,
) -> NamespaceConfig {
    NamespaceConfig::new("/").on_connect(move |connection: Connection| {
        let state = state.clone();
        let started = started.clone();
        async move {
            connection
                .socket
                .on("save", move |Data(text): Data<String>, ack: AckSender| {
                    let ctx = SocketContext::<Entities>::new(&state, &ConnectionUser::default());
                    let started = started.clone();
                    async move {
                        let _ = started.send(text.clone());
                        tokio::time::sleep(work).await;
                        let new_message = NewMessage {
                            text,
                            room: None,
                            author_id: None,
                            metadata: None,
                        };
                        match ctx.entities.message.create(new_message).await {
                            Ok(stored) => ack.send(&json!({ "id": stored.id })).ok(),
                            Err(error) => ack.send(&json!({ "error": error.to_string() })).ok(),
                        };
                    }
                });
            // The connect function runs as a task of its own: an event sent before this
            // point would find no handler, so the client waits for `ready`.
            connection.socket.emit("ready", &()).ok();
        }
    })
}

/// The server, and the texts of the `save` handlers as they start.
async fn start(
    database_file: &Path,
    work: Duration,
    shutdown_timeout_seconds: &str,
) -> (TestServer, mpsc::UnboundedReceiver<String>) {
    let url = format!("sqlite://{}", database_file.display());
    let (started, handlers_started) = mpsc::unbounded_channel();
    let server = TestServer::start_with(
        Some(url),
        &[("APPC_SHUTDOWN_TIMEOUT_SECS", shutdown_timeout_seconds)],
        move |server| {
            server
                .tables([User::schema().clone(), Message::schema().clone()])
                .namespace_with_state(move |state| saving_namespace(state, work, started))
        },
    )
    .await;
    (server, handlers_started)
}

async fn first_start(handlers_started: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, handlers_started.recv())
        .await
        .expect("a handler starts in time")
        .expect("the server runs")
}

/// The ids and texts stored in the file, read by a new connection after the server stopped.
async fn stored_messages(database_file: &Path) -> Vec<(String, String)> {
    let url = format!("sqlite://{}", database_file.display());
    let database = Database::connect(&url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(r#"SELECT "id", "text" FROM "Message""#)
        .fetch_all(database.sqlite_pool().unwrap())
        .await
        .unwrap();
    database.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_running_at_shutdown_finishes_its_write_before_the_database_closes() {
    let directory = tempfile::tempdir().unwrap();
    let database_file = directory.path().join("app.db");
    let (server, mut handlers_started) =
        start(&database_file, Duration::from_millis(400), "10").await;
    let (mut client, answer) = SocketClient::connect(server.address, "/", json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client.expect_event("ready").await;
    client
        .emit("save", json!("written during shutdown"), Some(1))
        .await;
    first_start(&mut handlers_started).await;

    // Shutdown starts while the handler works: its socket closes at once, but the database
    // stays open until the handler's write is done.
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the stop waited for the handler ({:?})",
        started.elapsed()
    );
    let stored = stored_messages(&database_file).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].1, "written during shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_in_flight_at_shutdown_is_stored_or_refused_never_acknowledged_and_lost() {
    const BURST: u64 = 200;
    let directory = tempfile::tempdir().unwrap();
    let database_file = directory.path().join("app.db");
    let (server, handlers_started) = start(&database_file, Duration::from_millis(5), "10").await;
    let (mut client, answer) = SocketClient::connect(server.address, "/", json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client.expect_event("ready").await;
    // The first half is under way and partly answered...
    for number in 1..=BURST / 2 {
        client
            .emit("save", json!(format!("burst {number}")), Some(number))
            .await;
    }
    let mut acks = Vec::new();
    while acks.len() < 10 {
        if let Packet::Ack { id, data } = client.next_packet().await {
            acks.push((id, data));
        }
    }
    // ...when the second half is sent and SIGTERM arrives right after it.
    for number in BURST / 2 + 1..=BURST {
        client
            .emit("save", json!(format!("burst {number}")), Some(number))
            .await;
    }
    let stopping = tokio::spawn(server.stop());
    acks.extend(client.acks_until_closed().await);
    stopping.await.unwrap();
    drop(handlers_started);

    let stored = stored_messages(&database_file).await;
    let mut acknowledged = 0;
    for (ack_id, data) in &acks {
        let answer = &data[0];
        if let Some(id) = answer["id"].as_str() {
            acknowledged += 1;
            assert!(
                stored
                    .iter()
                    .any(|(stored_id, text)| stored_id == id && *text == format!("burst {ack_id}")),
                "write {ack_id} was acknowledged as {id} but is not in the database"
            );
        } else {
            // Refused: the client knows it was not stored.
            assert!(answer["error"].is_string(), "{answer}");
        }
    }
    // Every stored row is one of the burst's, once.
    let mut texts: Vec<&str> = stored.iter().map(|(_, text)| text.as_str()).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(texts.len(), stored.len(), "no write is stored twice");
    assert!(stored.len() >= acknowledged);
    assert!(
        acknowledged > 0,
        "the burst was under way when shutdown began"
    );
    println!(
        "burst of {BURST}: {} acknowledged, {} stored, {} refused",
        acknowledged,
        stored.len(),
        acks.len() - acknowledged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_never_finishes_delays_the_stop_by_the_shutdown_timeout_only() {
    let directory = tempfile::tempdir().unwrap();
    let database_file = directory.path().join("app.db");
    let (server, mut handlers_started) =
        start(&database_file, Duration::from_secs(3600), "1").await;
    let (mut client, answer) = SocketClient::connect(server.address, "/", json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client.expect_event("ready").await;
    client.emit("save", json!("never written"), Some(1)).await;
    first_start(&mut handlers_started).await;

    let started = Instant::now();
    server.stop().await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(4),
        "waited {elapsed:?} for a 1 s timeout"
    );
    assert!(stored_messages(&database_file).await.is_empty());
}
