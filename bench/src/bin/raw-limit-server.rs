//! The raw-WebSocket LIMIT server: what this machine gives for the benchmark apps' traffic with
//! nothing on top of WebSocket. It exchanges the same logical messages as the Socket.IO servers,
//! byte for byte the same event packets in the parser the run uses (`ENCODING`): JSON text frames
//! (`42["chatMessage",{"id","username","text"}]`, `42["greeting",..]`, `42["uppercase",..]`) or
//! msgpack binary frames (`{type: 2, nsp: "/", data: [name, argument]}`), so frame sizes and the
//! encoding work match, but it omits everything Socket.IO adds: the Engine.IO handshake and
//! heartbeats, namespaces and the connect packet, acknowledgements, per-socket packet buffers, the
//! JWT check, and any database.
//!
//! Environment: `PORT` (default 3000), `APP` (`chat` or `uppercase`) and `ENCODING` (`json`, the
//! default, or `msgpack`), like the other servers.

use std::sync::atomic::{AtomicU64, Ordering};

use appc_bench::protocol::{self, Encoding};
use appc_bench::servers::{AppKind, ServerEnvironment};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

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
        "raw-limit-server ({}, {}) listening on 127.0.0.1:{}",
        environment.app.name(),
        environment.encoding.name(),
        environment.port
    );
    let (hub, _) = broadcast::channel::<Message>(BROADCAST_CAPACITY);
    let app = environment.app;
    let encoding = environment.encoding;
    let accept_loop = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let hub = hub.clone();
            tokio::spawn(async move {
                let _ = handle_connection(stream, app, encoding, hub).await;
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
    encoding: Encoding,
    hub: broadcast::Sender<Message>,
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
            let greeting = format!("hello {username}");
            websocket
                .send(protocol::event_with_argument(
                    encoding, "greeting", &greeting,
                ))
                .await?;
            while let Some(frame) = websocket.next().await {
                let Some(input) = event_argument(&frame?, "textInput") else {
                    continue;
                };
                let reply = input.to_uppercase();
                websocket
                    .send(protocol::event_with_argument(encoding, "uppercase", &reply))
                    .await?;
            }
        }
        AppKind::Chat => {
            let mut deliveries = hub.subscribe();
            loop {
                tokio::select! {
                    frame = websocket.next() => {
                        let Some(frame) = frame else { break };
                        let Some(input) = event_argument(&frame?, "chatMessage") else { continue };
                        let message = ChatMessage {
                            id: uuid::Uuid::new_v4().to_string(),
                            username: &username,
                            text: &input,
                        };
                        // Encoded once per broadcast; every connection sends the same bytes.
                        let _ = hub.send(protocol::event_with_argument(encoding, "chatMessage", &message));
                    }
                    delivery = deliveries.recv() => {
                        match delivery {
                            Ok(frame) => {
                                websocket.feed(frame).await?;
                                // Queue whatever else is waiting, then write it all at once.
                                while let Ok(frame) = deliveries.try_recv() {
                                    websocket.feed(frame).await?;
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

/// The string argument of an event frame named `name`, in either parser. JSON text frames are
/// read straight into two strings, as before msgpack was supported, so the JSON figures keep
/// their cost.
fn event_argument(frame: &Message, name: &str) -> Option<String> {
    match frame {
        Message::Text(text) => {
            let arguments = text.as_str().strip_prefix("42")?;
            let (event, argument): (String, String) = serde_json::from_str(arguments).ok()?;
            (event == name).then_some(argument)
        }
        Message::Binary(_) => protocol::event_string_argument(frame, name),
        _ => None,
    }
}
