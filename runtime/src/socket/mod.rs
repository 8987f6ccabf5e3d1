//! The Socket.IO side of the server: builder settings ([`SocketSettings`]), namespaces with the
//! token-checking connect middleware ([`NamespaceConfig`], [`Connection`]), validated event
//! payloads ([`Payload`]), handlers that run in their events' order under per-socket limits
//! ([`on_in_order`], [`SocketLimits`]), and a cloneable [`Emitter`] for sending from anywhere.
//!
//! On connect, the middleware reads `auth.token` from the handshake. A valid token puts the
//! [`AuthUser`] on the socket (raw socketioxide handlers extract it with `Extension<AuthUser>`
//! or `MaybeExtension<AuthUser>`) and joins the socket to the user's room, so
//! [`Emitter::to_user`] reaches every tab of that user. On a namespace with `auth: true`, a
//! missing or invalid token is refused with a `connect_error` whose message starts with
//! `unauthorized:` and says why. A socket with a token is disconnected when the token expires
//! or its user is deleted (see `session.rs`). A namespace configured with
//! [`NamespaceConfig::user`] also decodes the user as its context's typed user, once, and
//! refuses the socket when that fails (see [`SocketContext`](crate::SocketContext)). Events the
//! client sends before the namespace function has registered their handlers are held until it
//! has (see `early_events.rs`).
//!
//! Every packet, over HTTP long-polling and WebSocket alike, is limited to
//! [`SocketSettings::max_payload`] bytes: a WebSocket message or frame beyond it closes the
//! connection before anything reaches a handler.

mod adapter;
mod early_events;
mod emit_error;
pub(crate) mod limits;
mod ordered;
mod payload;
mod redis_driver;
mod session;
mod shape;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketioxide::extract::{State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{ParserConfig, TransportType};

use crate::auth::{Auth, AuthUser, TokenRejection, TokenVerificationError, UserId};
use crate::context_user::{ConnectionUser, ContextUser, ContextUserError};
use crate::effect_order::{self, DeferredEmit, OrderTicket};

pub use adapter::{AdapterInit, AdapterState, AppAdapter, SocketIo, SocketRef};
pub use emit_error::EmitError;
pub use limits::SocketLimits;
pub use ordered::{AckSender, on_in_order, on_in_order_with_max_length};
pub use payload::{
    NoPayload, Payload, PayloadError, UNBOUNDED, decode_payload, decode_payload_with_max_length,
};
pub use redis_driver::{RedisConnectError, RedisDriver};
pub use shape::{
    FieldShape, MAX_NESTING_DEPTH, RecordShape, Shape, ShapeError, SpecType, check_value, describe,
};

/// How Socket.IO packets are encoded (the spec's `encoding`). One server uses one encoding for
/// every namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Socket.IO's default text parser.
    #[default]
    Json,
    /// The msgpack parser (binary frames); clients need `socket.io-msgpack-parser`.
    MsgPack,
}

/// Which Engine.IO transports clients may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transports {
    /// HTTP long-polling first, then an upgrade to WebSocket (the Socket.IO default).
    #[default]
    PollingAndWebSocket,
    /// WebSocket only.
    WebSocketOnly,
    /// HTTP long-polling only.
    PollingOnly,
}

/// Socket.IO server options.
///
/// ```
/// use std::time::Duration;
/// use appc_runtime::codegen::{Encoding, SocketSettings, Transports};
/// let settings = SocketSettings::default()
///     .max_payload(64 * 1024)
///     .ping_interval(Duration::from_secs(20))
///     .ping_timeout(Duration::from_secs(10))
///     .transports(Transports::WebSocketOnly)
///     .encoding(Encoding::MsgPack);
/// assert_eq!(settings.encoding, Encoding::MsgPack);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSettings {
    /// The largest accepted packet, in bytes (default 100 kB): an HTTP long-polling body, a
    /// WebSocket message and a WebSocket frame. A larger one closes the connection.
    pub max_payload: u64,
    /// How often the server pings each client (default 25 s).
    pub ping_interval: Duration,
    /// How long a client may take to answer a ping before it is dropped (default 20 s).
    pub ping_timeout: Duration,
    /// Allowed transports.
    pub transports: Transports,
    /// Packet encoding.
    pub encoding: Encoding,
    /// Events per second, queued handlers and user checks per socket. A [`Server`] takes them
    /// from its [`Config`](crate::config::Config) (the `APPC_SOCKET_*` variables).
    ///
    /// [`Server`]: crate::server::Server
    pub limits: SocketLimits,
}

impl Default for SocketSettings {
    fn default() -> Self {
        SocketSettings {
            max_payload: 100_000,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            transports: Transports::default(),
            encoding: Encoding::default(),
            limits: SocketLimits::default(),
        }
    }
}

impl SocketSettings {
    /// Sets the largest accepted packet, in bytes.
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.max_payload = bytes;
        self
    }

    /// Sets the ping interval.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets the ping timeout.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }

    /// Sets the allowed transports.
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// Sets the packet encoding.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Sets the per-socket limits.
    pub fn limits(mut self, limits: SocketLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Builds the tower layer and the io handle, with `auth` and the limits as state for the
    /// connect middleware and the handlers, on the adapter `adapter` (in memory, or Redis).
    pub fn build_layer(
        &self,
        auth: Auth,
        adapter: AdapterState,
    ) -> (SocketIoLayer<AppAdapter>, SocketIo) {
        // engineioxide applies `max_payload` to long-polling bodies only; WebSocket messages
        // and frames have their own limits, 64 MiB and 16 MiB unless set.
        let websocket_limit = usize::try_from(self.max_payload).unwrap_or(usize::MAX);
        let mut builder = socketioxide::SocketIo::builder()
            .with_adapter::<AppAdapter>(adapter)
            // socketioxide queues at most `max_buffer_size` packets per socket (default 128) and
            // drops an emit to a full queue with an error broadcasts cannot report: under a burst
            // of broadcasts 1.26 M of 2 M deliveries were lost to slow readers (BENCHMARKS.md).
            // The queue grows only when a client reads slowly, so idle memory does not change.
            .max_buffer_size(SOCKET_PACKET_QUEUE_LENGTH)
            .ws_read_buffer_size(WEBSOCKET_READ_BUFFER_SIZE)
            .max_payload(self.max_payload)
            .ws_max_message_size(websocket_limit)
            .ws_max_frame_size(websocket_limit)
            .ping_interval(self.ping_interval)
            .ping_timeout(self.ping_timeout)
            .with_state(auth)
            .with_state(self.limits.clone());
        builder = match self.transports {
            Transports::PollingAndWebSocket => {
                builder.transports([TransportType::Polling, TransportType::Websocket])
            }
            Transports::WebSocketOnly => builder.transports([TransportType::Websocket]),
            Transports::PollingOnly => builder.transports([TransportType::Polling]),
        };
        if self.encoding == Encoding::MsgPack {
            builder = builder.with_parser(ParserConfig::msgpack());
        }
        builder.build_layer()
    }
}

/// How many outgoing packets each socket may have queued before emits to it fail.
const SOCKET_PACKET_QUEUE_LENGTH: usize = 65_536;

/// The initial size of each WebSocket connection's read buffer (tungstenite's default is 4 KiB).
/// It is held for the life of every connection, idle or not, while Socket.IO frames from
/// clients are mostly far smaller; a larger frame grows the buffer as needed. 1 KiB saves
/// 3 KiB per connection (BENCHMARKS.md).
const WEBSOCKET_READ_BUFFER_SIZE: usize = 1024;

/// The room every authenticated socket of a user joins.
pub fn user_room(user_id: &UserId) -> String {
    format!("user:{user_id}")
}

/// What a namespace's connect handler receives.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The connected socket: register event handlers on it, join rooms, emit.
    pub socket: SocketRef,
    /// The user of the handshake's token, if it had a valid one.
    pub user: Option<AuthUser>,
    handshake: serde_json::Value,
}

impl Connection {
    /// The connection's user as the namespace's context user `User` (see [`ContextUser`]): the
    /// one the connect middleware decoded when the namespace was configured with
    /// [`NamespaceConfig::user`] (which refuses a socket whose user does not decode), otherwise
    /// decoded now.
    pub fn context_user<User: ContextUser>(
        &self,
    ) -> Result<ConnectionUser<User>, ContextUserError> {
        match self.socket.extensions.remove::<ConnectionUser<User>>() {
            Some(user) => Ok(user),
            None => ConnectionUser::decode(self.user.clone()),
        }
    }

    /// The handshake's `auth` object, without its `token`, decoded as the namespace's
    /// handshake type (validated on connect when the namespace declared it with
    /// [`NamespaceConfig::handshake`]).
    pub fn handshake<T: DeserializeOwned + SpecType>(&self) -> Result<T, PayloadError> {
        decode_payload("handshake", &self.handshake)
    }
}

type ConnectFn = Arc<dyn Fn(Connection) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;
type HandshakeCheck = fn(&serde_json::Value) -> Result<(), PayloadError>;
type UserDecoder = fn(&SocketRef) -> Result<(), ContextUserError>;

/// One Socket.IO namespace: its path, whether it requires a logged-in user, its handshake type
/// and the function called for each connection.
///
/// ```
/// use appc_runtime::codegen::{Connection, FieldShape, NamespaceConfig, Payload, RecordShape, Shape, SpecType};
/// use appc_runtime::SocketRef;
///
/// /// `type ChatHandshake { room: String }`, with its spec type as the generator writes it.
/// #[derive(serde::Deserialize)]
/// struct ChatHandshake { room: String }
///
/// impl SpecType for ChatHandshake {
///     const SHAPE: Shape = Shape::Record(|| &CHAT_HANDSHAKE);
/// }
///
/// static CHAT_HANDSHAKE: RecordShape = RecordShape {
///     name: "ChatHandshake",
///     fields: &[FieldShape { name: "room", shape: Shape::String, max_length: Some(100) }],
/// };
///
/// let namespace = NamespaceConfig::new("/chat").require_auth().handshake::<ChatHandshake>().on_connect(
///     async |connection: Connection| {
///         let room = connection.handshake::<ChatHandshake>().map(|handshake| handshake.room).unwrap_or_default();
///         connection.socket.join(room.clone());
///         connection.socket.on("chatMessage", async move |socket: SocketRef, Payload(text): Payload<String>| {
///             socket.within(room.clone()).emit("chatMessage", &text).await.ok();
///         });
///     },
/// );
/// ```
#[derive(Clone)]
pub struct NamespaceConfig {
    path: String,
    require_auth: bool,
    handshake_check: Option<HandshakeCheck>,
    user_decoder: Option<UserDecoder>,
    on_connect: ConnectFn,
}

impl std::fmt::Debug for NamespaceConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NamespaceConfig")
            .field("path", &self.path)
            .field("require_auth", &self.require_auth)
            .finish_non_exhaustive()
    }
}

fn check_handshake<T: DeserializeOwned + SpecType>(
    handshake: &serde_json::Value,
) -> Result<(), PayloadError> {
    decode_payload::<T>("handshake", handshake).map(|_| ())
}

/// Decodes the socket's user as `User` and keeps it on the socket for
/// [`Connection::context_user`].
fn decode_user<User: ContextUser>(socket: &SocketRef) -> Result<(), ContextUserError> {
    let user = ConnectionUser::<User>::decode(socket.extensions.get::<AuthUser>())?;
    socket.extensions.insert(user);
    Ok(())
}

impl NamespaceConfig {
    /// A namespace at `path` (`/` is the root namespace) that accepts anonymous sockets and
    /// does nothing on connect yet.
    pub fn new(path: impl Into<String>) -> Self {
        NamespaceConfig {
            path: path.into(),
            require_auth: false,
            handshake_check: None,
            user_decoder: None,
            on_connect: Arc::new(|_| Box::pin(async {})),
        }
    }

    /// Refuses sockets without a valid token (`auth: true` in the spec).
    pub fn require_auth(mut self) -> Self {
        self.require_auth = true;
        self
    }

    /// Refuses sockets whose handshake `auth` object does not decode as `T`.
    pub fn handshake<T: DeserializeOwned + SpecType>(mut self) -> Self {
        self.handshake_check = Some(check_handshake::<T>);
        self
    }

    /// Decodes each socket's user as `User` (the namespace's context user) when it connects, and
    /// refuses the socket with a logged reason when its user does not decode.
    pub fn user<User: ContextUser>(mut self) -> Self {
        self.user_decoder = Some(decode_user::<User>);
        self
    }

    /// Sets the function called for each accepted connection.
    pub fn on_connect<F, Fut>(mut self, on_connect: F) -> Self
    where
        F: Fn(Connection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_connect = Arc::new(move |connection| Box::pin(on_connect(connection)));
        self
    }

    /// The namespace path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Registers the namespace on `io` (built by [`SocketSettings::build_layer`], whose state
    /// holds the [`Auth`] service). With Redis, the namespace serves other processes once the
    /// returned start is [ready](AdapterInit::ready).
    pub fn register(self, io: &SocketIo) -> AdapterInit {
        let on_connect = self.on_connect.clone();
        let handler =
            async move |socket: SocketRef, TryData(handshake): TryData<serde_json::Value>| {
                let user = socket.extensions.get::<AuthUser>();
                if let Some(user) = &user {
                    socket.join(user_room(user.id()));
                }
                let handshake = without_token(handshake.unwrap_or(serde_json::Value::Null));
                let connected = on_connect(Connection {
                    socket: socket.clone(),
                    user,
                    handshake,
                });
                // The events the client sent before the namespace function registered their
                // handlers go to them once its synchronous start has run.
                early_events::open_after_start(socket, connected).await;
            };
        let require_auth = self.require_auth;
        let handshake_check = self.handshake_check;
        let user_decoder = self.user_decoder;
        let middleware = async move |socket: SocketRef,
                                     io: SocketIo,
                                     State(auth): State<Auth>,
                                     State(limits): State<SocketLimits>,
                                     TryData(handshake): TryData<serde_json::Value>|
                    -> Result<(), ConnectRefusal> {
            let handshake = handshake.unwrap_or(serde_json::Value::Null);
            authenticate(&socket, &auth, &handshake, require_auth).await?;
            if let Some(check) = handshake_check {
                check(&without_token(handshake.clone())).map_err(|error| {
                    ConnectRefusal(format!("invalid handshake: {}", error.message))
                })?;
            }
            if let Some(decode) = user_decoder {
                decode(&socket).map_err(|error| {
                    // The server's schema and the database disagree: the client cannot fix it.
                    tracing::error!(namespace = socket.ns(), %error, "socket refused");
                    ConnectRefusal(
                        "server error while loading the user; try again later".to_owned(),
                    )
                })?;
            }
            // Set up before the socket is connected, so its first event already finds them:
            // socketioxide sends CONNECT before it calls the handler that registers the
            // namespace's handlers, so the events sent meanwhile are held (`early_events.rs`).
            socket
                .extensions
                .insert(limits::EventGate::new(limits.clone()));
            early_events::EarlyEvents::install(&socket);
            if socket.extensions.get::<AuthUser>().is_some()
                && let Some(token) = handshake_token(&handshake)
            {
                session::watch_session(&socket, io, auth, token.to_owned(), &limits);
            }
            Ok(())
        };
        io.ns(self.path, handler.with(middleware))
    }
}

/// The `connect_error` message sent to a refused socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRefusal(String);

impl std::fmt::Display for ConnectRefusal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The typed handshake is the `auth` object minus the runtime's `token`, so handshake types
/// need not declare it (and may deny unknown fields).
fn without_token(mut handshake: serde_json::Value) -> serde_json::Value {
    if let Some(object) = handshake.as_object_mut() {
        object.remove("token");
    }
    handshake
}

fn handshake_token(handshake: &serde_json::Value) -> Option<&str> {
    handshake
        .get("token")?
        .as_str()
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// Verifies the handshake token; stores the user on the socket, or refuses the connection when
/// the namespace requires auth.
async fn authenticate(
    socket: &SocketRef,
    auth: &Auth,
    handshake: &serde_json::Value,
    require_auth: bool,
) -> Result<(), ConnectRefusal> {
    let outcome = match handshake_token(handshake) {
        None => Err(TokenRejection::Missing),
        Some(token) => match auth.user_from_token(token).await {
            Ok(user) => Ok(user),
            Err(TokenVerificationError::Rejected(rejection)) => Err(rejection),
            Err(TokenVerificationError::Database(error)) => {
                tracing::error!(%error, "socket authentication failed");
                return Err(ConnectRefusal(
                    "server error while checking the token; try again".to_owned(),
                ));
            }
        },
    };
    match outcome {
        Ok(user) => {
            socket.extensions.insert(user);
            Ok(())
        }
        Err(rejection) if require_auth => {
            tracing::debug!(namespace = socket.ns(), %rejection, "socket refused");
            Err(ConnectRefusal(format!("unauthorized: {rejection}")))
        }
        // Anonymous sockets are welcome on namespaces without `auth: true`; a bad token there
        // means the socket simply has no user, as in Wasp.
        Err(_) => Ok(()),
    }
}

/// A cloneable handle to emit events from anywhere in the server: HTTP handlers, background
/// tasks, other sockets' handlers.
///
/// ```no_run
/// # async fn example(emitter: appc_runtime::Emitter, user_id: i64) {
/// emitter.to_all("/", "announcement", &"maintenance at noon").await.ok();
/// emitter.to_room("/chat", "general", "chatMessage", &serde_json::json!({ "text": "hi" })).await.ok();
/// emitter.to_user("/", user_id, "notification", &"you have mail").await.ok();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Emitter {
    io: SocketIo,
}

/// Sends `event` to one socket (a generated `Socket::emit_*` method). In a handler registered
/// with [`on_in_order`], a send made before the socket's earlier handlers have ended is encoded
/// at once and sent when they have (see [`effect_order`](crate::effect_order)); its send errors
/// are then logged instead of returned.
pub fn emit_to_socket<T: Serialize + ?Sized>(
    socket: &SocketRef,
    event: &str,
    data: &T,
) -> Result<(), EmitError> {
    let Some(ticket) = OrderTicket::current() else {
        return send_to_socket(socket, event, data);
    };
    ticket.emit_now_or_later(
        || send_to_socket(socket, event, data),
        || {
            let value = ordered::encode_for_later(event, data)?;
            Ok(send_later(socket, event, value))
        },
    )
}

/// Sends `event` without a payload to one socket (the generated `Socket::emit_*` method of an
/// event declared without one): the client's listener gets no argument. Ordered like
/// [`emit_to_socket`]. (A payload encoded for later is a JSON value, which would arrive as an
/// empty list, so the deferred send keeps [`NoPayload`] itself.)
pub fn emit_to_socket_without_payload(socket: &SocketRef, event: &str) -> Result<(), EmitError> {
    let Some(ticket) = OrderTicket::current() else {
        return send_to_socket(socket, event, &NoPayload);
    };
    ticket.emit_now_or_later(
        || send_to_socket(socket, event, &NoPayload),
        || Ok(send_later(socket, event, NoPayload)),
    )
}

/// The send of `data` to `socket` once its turn comes; an error is logged, as nobody waits.
fn send_later<T: Serialize + Send + 'static>(
    socket: &SocketRef,
    event: &str,
    data: T,
) -> DeferredEmit {
    let socket = socket.clone();
    let event = event.to_owned();
    Box::new(move || {
        if let Err(error) = send_to_socket(&socket, &event, &data) {
            tracing::debug!(%error, "a deferred emit was not sent");
        }
    })
}

fn send_to_socket<T: Serialize + ?Sized>(
    socket: &SocketRef,
    event: &str,
    data: &T,
) -> Result<(), EmitError> {
    socket.emit(event, data).map_err(|source| EmitError::Send {
        event: event.to_owned(),
        source,
    })
}

/// Sends `event` to one socket and waits for its acknowledgement, decoded as `Reply` (a generated
/// `Socket::emit_*` method for an event with `ack`).
pub async fn emit_to_socket_with_ack<T: Serialize + ?Sized, Reply: DeserializeOwned>(
    socket: &SocketRef,
    event: &str,
    data: &T,
) -> Result<Reply, EmitError> {
    effect_order::wait_for_emit_turn().await;
    let acknowledgement = socket
        .emit_with_ack::<T, Reply>(event, data)
        .map_err(|source| EmitError::Send {
            event: event.to_owned(),
            source,
        })?;
    acknowledgement.await.map_err(|source| EmitError::Ack {
        event: event.to_owned(),
        source,
    })
}

impl Emitter {
    /// Wraps the io handle.
    pub fn new(io: SocketIo) -> Self {
        Emitter { io }
    }

    /// The underlying socketioxide handle, for anything the typed emitters do not cover.
    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    async fn emit_to<T: Serialize + ?Sized>(
        &self,
        namespace: &str,
        rooms: Option<String>,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        effect_order::wait_for_emit_turn().await;
        let operators = self
            .io
            .of(namespace)
            .ok_or_else(|| EmitError::UnknownNamespace(namespace.to_owned()))?;
        let operators = match rooms {
            Some(room) => operators.to(room),
            None => operators,
        };
        operators
            .emit(event.to_owned(), data)
            .await
            .map_err(|error| EmitError::from_broadcast(event, error))
    }

    /// Sends to every socket of a namespace.
    pub async fn to_all<T: Serialize + ?Sized>(
        &self,
        namespace: &str,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.emit_to(namespace, None, event, data).await
    }

    /// Sends to every socket in a room of a namespace.
    pub async fn to_room<T: Serialize + ?Sized>(
        &self,
        namespace: &str,
        room: &str,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.emit_to(namespace, Some(room.to_owned()), event, data)
            .await
    }

    /// Sends to every authenticated socket of one user in a namespace. The user is their id:
    /// a typed user's `id` (`ctx.user.id`, an `i64` or a `String`) or a [`UserId`].
    pub async fn to_user<T: Serialize + ?Sized>(
        &self,
        namespace: &str,
        user_id: impl Into<UserId>,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.emit_to(namespace, Some(user_room(&user_id.into())), event, data)
            .await
    }

    /// Sends to every socket of a namespace, on every process, and collects the sockets'
    /// acknowledgements decoded as `Reply`, each within socketioxide's ack timeout (5 s). A
    /// socket that does not answer in time, or answers with something else, is left out. With
    /// Redis, the other processes' sockets answer through it.
    pub async fn to_all_with_acks<T: Serialize + ?Sized, Reply: DeserializeOwned>(
        &self,
        namespace: &str,
        event: &str,
        data: &T,
    ) -> Result<Vec<Reply>, EmitError> {
        use futures_util::StreamExt;
        effect_order::wait_for_emit_turn().await;
        let operators = self
            .io
            .of(namespace)
            .ok_or_else(|| EmitError::UnknownNamespace(namespace.to_owned()))?;
        let acknowledgements = operators
            .emit_with_ack::<T, Reply>(event.to_owned(), data)
            .await
            .map_err(|error| match error {
                socketioxide::EmitWithAckError::Encode(source) => EmitError::Encode {
                    event: event.to_owned(),
                    source,
                },
                socketioxide::EmitWithAckError::Adapter(error) => EmitError::Adapter {
                    event: event.to_owned(),
                    message: error.to_string(),
                },
            })?;
        Ok(acknowledgements
            .filter_map(async |(_socket, reply)| reply.ok())
            .collect()
            .await)
    }

    /// Disconnects every socket cleanly (used on shutdown).
    pub async fn close(&self) {
        self.io.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_errors_convert_into_the_hooks_error_type() {
        fn assert_thread_safe<T: Send + Sync + 'static>() {}
        assert_thread_safe::<EmitError>();
        let error: crate::BoxError = EmitError::UnknownNamespace("/chat".to_owned()).into();
        assert_eq!(
            error.to_string(),
            "no socket namespace `/chat` is registered; declare it in main.wasp"
        );
    }

    #[test]
    fn a_broadcast_that_some_sockets_missed_says_how_many() {
        let error = EmitError::from_broadcast(
            "chatMessage",
            socketioxide::BroadcastError::Socket(vec![
                socketioxide::SocketError::Closed,
                socketioxide::SocketError::InternalChannelFull,
            ]),
        );
        assert!(matches!(&error, EmitError::Sockets { failed, .. } if failed.len() == 2));
        assert!(
            error
                .to_string()
                .starts_with("could not send `chatMessage` to 2 of its sockets: "),
            "{error}"
        );
    }
}
