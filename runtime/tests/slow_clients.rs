//! Clients that do not keep up, against an in-process server over real WebSockets: one that
//! never reads while the others receive a broadcast is disconnected once the server would hold
//! more than `APPC_SOCKET_SEND_BUFFER_BYTES` for it, while the readers get every message in
//! order; one that sends heartbeat answers the server never asked for is disconnected too.

mod common;

use std::time::{Duration, Instant};

use appc_runtime::codegen::{Connection, NamespaceConfig};
use appc_runtime::{AppState, Emitter};
use common::{Packet, SocketClient, TestServer};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as Frame;

const SEND_BUFFER: usize = 256 * 1024;
const MESSAGES: usize = 1_500;
const MESSAGE_BYTES: usize = 20_000;
// The broadcast is far larger than the cap plus the kernel's buffers, so a client that does not
// read must overflow it.
const _: () = assert!(MESSAGES * MESSAGE_BYTES > 100 * SEND_BUFFER);

/// A namespace whose `flood` event makes the server broadcast `MESSAGES` numbered messages of
/// `MESSAGE_BYTES` each to every socket, the way a busy chat room would.
fn flood_namespace(state: AppState) -> NamespaceConfig {
    let emitter: Emitter = state.emitter.clone();
    NamespaceConfig::new("/").on_connect(move |connection: Connection| {
        let emitter = emitter.clone();
        async move {
            connection.socket.on("flood", async move || {
                let filler = "x".repeat(MESSAGE_BYTES);
                for index in 0..MESSAGES {
                    // A broadcast reports the sockets it could not reach (the one being
                    // disconnected for not reading); the others still get the message.
                    let _ = emitter
                        .to_all("/", "bulk", &json!({ "index": index, "filler": filler }))
                        .await;
                    // About 20 MB/s: a client that reads keeps up, one that does not falls
                    // behind by far more than the cap.
                    if index % 10 == 9 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            });
        }
    })
}

async fn flood_server() -> TestServer {
    TestServer::start_with(
        None,
        &[("APPC_SOCKET_SEND_BUFFER_BYTES", &SEND_BUFFER.to_string())],
        |server| server.namespace_with_state(flood_namespace),
    )
    .await
}

async fn connect(server: &TestServer) -> SocketClient {
    let (client, answer) = SocketClient::connect(server.address, "/", json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)), "got {answer:?}");
    client
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_and_the_readers_get_everything() {
    let server = flood_server().await;
    let mut reader = connect(&server).await;
    // Connected, then never read from again.
    let _silent = connect(&server).await;

    reader.emit("flood", json!(null), None).await;
    for expected in 0..MESSAGES {
        let payload = reader.expect_event("bulk").await;
        assert_eq!(
            payload[0]["index"], expected,
            "a reader gets every broadcast, in order"
        );
    }

    // The silent client owed far more than the cap: its connection was closed and counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.connection_stats.slow_clients() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.connection_stats.slow_clients(), 1);
    server.stop().await;
}

#[tokio::test]
async fn heartbeat_answers_the_server_did_not_ask_for_end_the_connection() {
    let server = flood_server().await;
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        server.address
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects");
    // Pongs with no ping before them, as a client that reads nothing would send to look alive.
    let mut refused = false;
    for _ in 0..20 {
        if stream.send(Frame::text("3")).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.connection_stats.slow_clients() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.connection_stats.slow_clients(),
        1,
        "the connection was closed for unasked pongs (send refused: {refused})"
    );
    server.stop().await;
}
