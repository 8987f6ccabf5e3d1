//! The raw-WebSocket LIMIT server: what this machine gives for the benchmark apps' traffic with
//! nothing on top of WebSocket. It exchanges the same logical messages as the Socket.IO servers,
//! byte for byte the same JSON text frames (`42["chatMessage",{"id","username","text"}]`,
//! `42["greeting",..]`, `42["uppercase",..]`), so frame sizes match, but it omits everything
//! Socket.IO adds: the Engine.IO handshake and heartbeats, namespaces and the connect packet,
//! acknowledgements, per-socket packet buffers, the JWT check, and any database.
//!
//! Environment: `PORT` (default 3000) and `APP` (`chat` or `uppercase`), like the other servers.

use std::sync::atomic::{AtomicU64, Ordering};

use appc_bench::servers::{AppKind, ServerEnvironment};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// How many broadcast frames may wait for the slowest connection before it misses some. Large,
/// so that a missed frame means the server truly could not keep up.
const BROADCAST_CAPACITY: usize = 1 << 16;

static NEXT_CONNECTION_NUMBER: AtomicU64 = AtomicU64::new(1);

#[derive(Serialize)]
struct ChatMessage<'a> {
    id: String,
    username: &'a str,
    text: &'a str,
}

fn main() -> anyhow::Result<()> {
    let environment = ServerEnvironment::from_process_environment()?;
    let runtime = appc_bench::servers::server_runtime()?;
    runtime.block_on(serve(environment))
}

async fn serve(environment: ServerEnvironment) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", environment.port)).await?;
    println!(
        "raw-limit-server ({}) listening on 127.0.0.1:{}",
        environment.app.name(),
        environment.port
    );
    let (hub, _) = broadcast::channel::<Utf8Bytes>(BROADCAST_CAPACITY);
    let app = environment.app;
    let accept_loop = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let hub = hub.clone();
            tokio::spawn(async move {
                let _ = handle_connection(stream, app, hub).await;
            });
        }
    };
    tokio::select! {
        _ = accept_loop => {}
        _ = appc_bench::servers::shutdown_signal() => {}
    }
    Ok(())
}

async fn handle_connection(
    stream: TcpStream,
    app: AppKind,
    hub: broadcast::Sender<Utf8Bytes>,
) -> anyhow::Result<()> {
    // The same 4 KiB read buffer socketioxide uses by default, instead of tungstenite's 128 KiB,
    // so that memory per connection compares like with like.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let mut websocket = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    let username = format!(
        "user-{}",
        NEXT_CONNECTION_NUMBER.fetch_add(1, Ordering::Relaxed)
    );
    match app {
        AppKind::Uppercase => {
            let greeting = serde_json::to_string(&("greeting", format!("hello {username}")))?;
            websocket
                .send(Message::text(format!("42{greeting}")))
                .await?;
            while let Some(frame) = websocket.next().await {
                let Message::Text(text) = frame? else {
                    continue;
                };
                let Some(input) = event_argument(&text, "textInput") else {
                    continue;
                };
                let reply = serde_json::to_string(&("uppercase", input.to_uppercase()))?;
                websocket.send(Message::text(format!("42{reply}"))).await?;
            }
        }
        AppKind::Chat => {
            let mut deliveries = hub.subscribe();
            loop {
                tokio::select! {
                    frame = websocket.next() => {
                        let Some(frame) = frame else { break };
                        let Message::Text(text) = frame? else { continue };
                        let Some(input) = event_argument(&text, "chatMessage") else { continue };
                        let message = ChatMessage {
                            id: uuid::Uuid::new_v4().to_string(),
                            username: &username,
                            text: &input,
                        };
                        // Encoded once per broadcast; every connection sends the same bytes.
                        let encoded = serde_json::to_string(&("chatMessage", message))?;
                        let _ = hub.send(Utf8Bytes::from(format!("42{encoded}")));
                    }
                    delivery = deliveries.recv() => {
                        match delivery {
                            Ok(frame) => {
                                websocket.feed(Message::Text(frame)).await?;
                                // Queue whatever else is waiting, then write it all at once.
                                while let Ok(frame) = deliveries.try_recv() {
                                    websocket.feed(Message::Text(frame)).await?;
                                }
                                websocket.flush().await?;
                            }
                            Err(broadcast::error::RecvError::Lagged(missed)) => {
                                eprintln!("raw-limit-server: a slow connection missed {missed} broadcasts");
                            }
                            Err(broadcast::error::RecvError::Closed) => break,
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The string argument of a `42["name","argument"]` frame, if it is that event.
fn event_argument(frame: &str, name: &str) -> Option<String> {
    let arguments = frame.strip_prefix("42")?;
    let (event, argument): (String, String) = serde_json::from_str(arguments).ok()?;
    (event == name).then_some(argument)
}
