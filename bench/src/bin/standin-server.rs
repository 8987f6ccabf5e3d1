//! The hand-written STAND-IN for the server `appc build` will generate for the benchmark apps,
//! used until the generator exists: an axum + socketioxide server doing what the generated chat
//! and uppercase apps will do, so the benchmark tooling can be built and measured now. Swap in the
//! real generated binary with `appc-bench full --appc-bin PATH`.
//!
//! Environment (set by appc-bench, the same as for the Node anchor):
//! - `PORT`: port on 127.0.0.1 (default 3000);
//! - `APP`: `chat` (broadcast `chatMessage {id, username, text}` to every socket) or `uppercase`
//!   (emit `greeting` on connect, answer `textInput` with `uppercase`);
//! - `JWT_SECRET`: the HS256 secret; a socket whose handshake `auth.token` does not verify is
//!   refused with a Socket.IO connect error;
//! - `ENCODING`: `json` (default) or `msgpack`.
//!
//! Like the Node anchor, it does not store chat messages.

use std::sync::{Arc, OnceLock};

use appc_bench::jwt;
use appc_bench::servers::{AppKind, ServerEnvironment};
use axum::serve::ListenerExt as _;
use serde::{Deserialize, Serialize};
use socketioxide::extract::{Data, Extension, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::{ParserConfig, SocketIo};

static JWT_SECRET: OnceLock<Vec<u8>> = OnceLock::new();

/// Packets that may wait for one socket before broadcasts to it fail.
const SOCKET_BUFFER_PACKETS: usize = 1 << 16;

/// socketioxide's default WebSocket read buffer; `WS_READ_BUFFER_BYTES` overrides it for tuning.
const WS_READ_BUFFER_BYTES: usize = 4096;

/// A tuning knob from the environment, for measuring its effect without rebuilding.
fn environment_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// The user a verified handshake token names, kept on the socket for its handlers.
#[derive(Clone)]
struct AuthUser {
    username: Arc<str>,
}

#[derive(Deserialize)]
struct HandshakeAuth {
    token: String,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    id: String,
    username: &'a str,
    text: String,
}

#[derive(Debug, thiserror::Error)]
enum AuthError {
    #[error("missing auth token: send the JWT as auth.token in the handshake")]
    MissingToken,
    #[error("invalid auth token: {0}")]
    InvalidToken(jwt::JwtError),
}

fn main() -> anyhow::Result<()> {
    let environment = ServerEnvironment::from_process_environment()?;
    JWT_SECRET
        .set(environment.jwt_secret.clone().into_bytes())
        .expect("the secret is set once, before the server starts");
    let runtime = appc_bench::servers::server_runtime()?;
    runtime.block_on(serve(environment))
}

async fn serve(environment: ServerEnvironment) -> anyhow::Result<()> {
    // socketioxide buffers 128 packets per socket by default and drops what does not fit, so a
    // burst of broadcasts to a slow reader loses messages. The raw limit server gives each
    // connection 65,536 queued frames; the stand-in gets the same. The channel allocates as it
    // fills, so an idle socket does not pay for the capacity.
    let mut builder = SocketIo::builder()
        .max_buffer_size(environment_number(
            "SOCKET_BUFFER_PACKETS",
            SOCKET_BUFFER_PACKETS,
        ))
        .ws_read_buffer_size(environment_number(
            "WS_READ_BUFFER_BYTES",
            WS_READ_BUFFER_BYTES,
        ));
    if environment.encoding == appc_bench::protocol::Encoding::Msgpack {
        builder = builder.with_parser(ParserConfig::msgpack());
    }
    let (layer, io) = builder.build_layer();
    match environment.app {
        AppKind::Chat => io.ns("/", on_chat_connect.with(authenticate)),
        AppKind::Uppercase => io.ns("/", on_uppercase_connect.with(authenticate)),
    }
    let router = axum::Router::new().layer(layer);
    // Without TCP_NODELAY, small frames wait for delayed ACKs (Nagle), adding up to 40 ms.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", environment.port))
        .await?
        .tap_io(|tcp_stream| {
            let _ = tcp_stream.set_nodelay(true);
        });
    println!(
        "standin-server ({}, {}) listening on 127.0.0.1:{}",
        environment.app.name(),
        environment.encoding.name(),
        environment.port
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(appc_bench::servers::shutdown_signal())
        .await?;
    Ok(())
}

async fn authenticate(
    socket: SocketRef,
    TryData(auth): TryData<HandshakeAuth>,
) -> Result<(), AuthError> {
    let auth = auth.map_err(|_| AuthError::MissingToken)?;
    let secret = JWT_SECRET.get().map(Vec::as_slice).unwrap_or_default();
    let claims =
        jwt::verify(secret, &auth.token, jwt::unix_now()).map_err(AuthError::InvalidToken)?;
    socket.extensions.insert(AuthUser {
        username: Arc::from(claims.username),
    });
    Ok(())
}

async fn on_chat_connect(socket: SocketRef) {
    socket.on(
        "chatMessage",
        async |io: SocketIo, Extension(user): Extension<AuthUser>, Data(text): Data<String>| {
            let message = ChatMessage {
                id: uuid::Uuid::new_v4().to_string(),
                username: &user.username,
                text,
            };
            // A socket whose buffer is full misses this message; the benchmark counts it as lost.
            let _ = io.emit("chatMessage", &message).await;
        },
    );
}

async fn on_uppercase_connect(socket: SocketRef, Extension(user): Extension<AuthUser>) {
    let _ = socket.emit("greeting", &format!("hello {}", user.username));
    socket.on(
        "textInput",
        async |socket: SocketRef, Data(text): Data<String>| {
            let _ = socket.emit("uppercase", &text.to_uppercase());
        },
    );
}
