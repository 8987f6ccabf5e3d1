{%- import "server/context_types.rs" as context_types -%}
//! The typed socket API of `{{ name }}` (Socket.IO namespace `{{ path }}`), generated from its
//! `events` in `main.wasp`; do not edit.
//!
//! For every connection the server calls the team's `crate::{{ function.module }}::{{ function.name }}` (in
//! `{{ function.file }}`) with a [`Socket`] and a [`SocketContext`]. The function registers its
//! event handlers on the socket (`socket.on_*`) and may emit right away (`socket.emit_*`); to
//! send to every socket, a room or a user it uses the namespace's [`Emitter`]
//! (`socket.emitter().emit_*_to_all(..)`).
//! Payloads that do not match their declared type never reach a handler: the sender gets an
//! `error` event (or an ack error) naming the event and the field.
//!
//! One socket's handlers run side by side, but their first write through `ctx.entities` and
//! their emits and acks (through this module) keep the order the events arrived in, so what a
//! client sends is stored and broadcast in the order it was sent; different sockets run in
//! parallel. Events beyond the socket's limits (`APPC_SOCKET_EVENTS_PER_SECOND`,
//! `APPC_SOCKET_QUEUED_EVENTS`) get an `error` event (or an ack error) `rate_limited` instead of
//! a handler, and a socket that keeps sending them is disconnected.
//!
{%- if let Some(user_entity) = user_entity %}
{%- if auth_required %}
//! This namespace requires a logged-in user (`auth: true`): a connection without a valid
//! `auth.token` is refused with a `connect_error`, so `ctx.user` is always a
//! `crate::app::entities::{{ user_entity }}` here (`ctx.user.id`).
{%- else %}
//! `ctx.user` is the socket's `crate::app::entities::{{ user_entity }}` when its handshake carried a
//! valid `auth.token`, and `None` for an anonymous socket.
{%- endif %}
//! The user is read once, when the socket connects; `ctx.auth_user()` gives the token's claims.
{%- else %}
//! The app has no `auth`, so no socket has a user: `ctx.user` is `appc_runtime::NoUser`.
{%- endif %}
{%- if let Some(handshake) = handshake %}
//!
//! Clients connect with a typed handshake: the fields of `{{ handshake }}` travel in the
//! Socket.IO `auth` payload beside `token`. A connection whose handshake does not decode is
//! refused with a `connect_error` naming the field.
{%- endif %}

/// The namespace path.
pub const PATH: &str = {{ path|rust_string }};

/// The packet encoding of this namespace (`encoding` in `main.wasp`).
pub const ENCODING: &str = "{{ encoding }}";

/// The entities this namespace's functions may use (`entities` in `main.wasp`).
{% call context_types::entity_set("", entities) %}{% endcall %}

/// The user of this namespace's sockets, as `ctx.user` holds it (see the module docs).
{%- if let Some(user_entity) = user_entity %}
{%- if auth_required %}
pub type SocketUser = crate::app::entities::{{ user_entity }};
{%- else %}
pub type SocketUser = ::std::option::Option<crate::app::entities::{{ user_entity }}>;
{%- endif %}
{%- else %}
pub type SocketUser = ::appc_runtime::NoUser;
{%- endif %}

/// What this namespace's functions receive besides their payload: the socket's user (from the
/// handshake token), typed access to the listed entities, the raw database and the emitter.
pub type SocketContext = ::appc_runtime::SocketContext<Entities, SocketUser>;
{%- if let Some(handshake) = handshake %}

/// The typed handshake of this namespace.
pub type Handshake = crate::app::types::{{ handshake }};
{%- endif %}

/// One connected socket of `{{ path }}`. Cheap to clone: handlers receive their own copy.
#[derive(::std::clone::Clone)]
pub struct Socket {
    socket: ::appc_runtime::SocketRef,
    connection: ConnectionState,
}

/// What a socket keeps from its connection. Event handlers hold this rather than the socket
/// itself: a handler stored on a socket that also held that socket would never be freed.
#[derive(::std::clone::Clone)]
struct ConnectionState {
    state: ::appc_runtime::AppState,
    /// Decoded once on connect; every handler's context copies the typed user from it.
    user: ::std::sync::Arc<::appc_runtime::codegen::ConnectionUser<SocketUser>>,
{%- if let Some(handshake) = handshake %}
    handshake: ::std::sync::Arc<crate::app::types::{{ handshake }}>,
{%- endif %}
}

impl ::std::fmt::Debug for Socket {
    fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        formatter.debug_struct("Socket").field("id", &self.id()).field("namespace", &PATH).finish_non_exhaustive()
    }
}

impl Socket {
    /// The socket's id.
    pub fn id(&self) -> ::std::string::String {
        self.socket.id.to_string()
    }

    /// The user of this socket (the same as `ctx.user`).
    pub fn user(&self) -> &SocketUser {
        self.connection.user.user()
    }

    /// The user as the token check loaded it, with the token's claims; `None` for an anonymous
    /// socket.
    pub fn auth_user(&self) -> ::std::option::Option<&::appc_runtime::AuthUser> {
        self.connection.user.auth_user()
    }
{%- if let Some(handshake) = handshake %}

    /// The handshake the client connected with (validated on connect).
    pub fn handshake(&self) -> &crate::app::types::{{ handshake }} {
        &self.connection.handshake
    }
{%- endif %}

    /// A fresh context for a handler of this socket. While it (or its tables) lives, the
    /// handler counts as running: shutdown waits for it before closing the database.
    pub fn context(&self) -> SocketContext {
        SocketContext::new(&self.connection.state, &self.connection.user)
    }

    /// Adds this socket to a room (see the `emit_*_to_room` methods of [`Emitter`]).
    pub fn join(&self, room: impl ::std::convert::Into<::std::string::String>) {
        self.socket.join(room.into());
    }

    /// Removes this socket from a room.
    pub fn leave(&self, room: impl ::std::convert::Into<::std::string::String>) {
        self.socket.leave(room.into());
    }

    /// Closes the connection.
    pub fn disconnect(&self) {
        let _ = self.socket.clone().disconnect();
    }

    /// The emitter of this namespace: sends to every socket, a room or a user, from a handler or,
    /// cloned and kept, from anywhere.
    pub fn emitter(&self) -> Emitter {
        Emitter::new(self.connection.state.emitter.clone())
    }

    /// The underlying socketioxide socket, for anything the typed API does not cover.
    pub fn raw(&self) -> &::appc_runtime::SocketRef {
        &self.socket
    }
{%- for event in client_events %}
{% if let Some(payload) = event.payload %}
    /// Handles `{{ event.name }}` ({{ payload|wasp_type }}) from this client.
{%- else %}
    /// Handles `{{ event.name }}` from this client; it carries no payload (one sent with it is refused).
{%- endif %}
{%- if let Some(ack) = event.ack %}
    /// The client waits for an acknowledgement: the handler's return value is sent back.
    pub fn on_{{ event.method }}<Handler, Reply>(&self, handler: Handler)
    where
        Handler: ::std::ops::Fn(Socket, SocketContext{% if let Some(payload) = event.payload %}, {{ payload|rust_type }}{% endif %}) -> Reply + ::std::marker::Send + ::std::marker::Sync + 'static,
        Reply: ::std::future::Future<Output = {{ ack|rust_type }}> + ::std::marker::Send + 'static,
{%- else %}
    pub fn on_{{ event.method }}<Handler, Done>(&self, handler: Handler)
    where
        Handler: ::std::ops::Fn(Socket, SocketContext{% if let Some(payload) = event.payload %}, {{ payload|rust_type }}{% endif %}) -> Done + ::std::marker::Send + ::std::marker::Sync + 'static,
        Done: ::std::future::Future<Output = ()> + ::std::marker::Send + 'static,
{%- endif %}
    {
        let handler = ::std::sync::Arc::new(handler);
        let connection = self.connection.clone();
{%- if let Some(max_length) = event.payload_max_length %}
        ::appc_runtime::codegen::on_in_order_with_max_length(
            &self.socket,
            {{ event.name|rust_string }},
            {{ max_length }},
{%- else %}
        ::appc_runtime::codegen::on_in_order(
            &self.socket,
            {{ event.name|rust_string }},
{%- endif %}
            move |socket: ::appc_runtime::SocketRef,
{%- if let Some(payload) = event.payload %}
                  payload: {{ payload|rust_type }},
{%- else %}
                  _payload: ::appc_runtime::codegen::NoPayload,
{%- endif %}
{%- if event.ack.is_some() %}
                  ack: ::appc_runtime::codegen::AckSender| {
{%- else %}
                  _ack: ::appc_runtime::codegen::AckSender| {
{%- endif %}
                let handler = handler.clone();
                let socket = Socket { socket, connection: connection.clone() };
                async move {
                    let context = socket.context();
{%- if event.ack.is_some() %}
                    let reply = handler(socket, context{% if event.payload.is_some() %}, payload{% endif %}).await;
                    let _ = ack.send(&reply);
{%- else %}
                    handler(socket, context{% if event.payload.is_some() %}, payload{% endif %}).await;
{%- endif %}
                }
            },
        );
    }
{%- endfor %}
{%- for event in server_events %}

{% if let Some(ack) = event.ack %}
{%- if let Some(payload) = event.payload %}
    /// Sends `{{ event.name }}` ({{ payload|wasp_type }}) to this socket and waits for its acknowledgement.
    pub async fn emit_{{ event.method }}(&self, payload: &{{ payload|rust_type }}) -> ::std::result::Result<{{ ack|rust_type }}, ::appc_runtime::EmitError> {
        ::appc_runtime::codegen::emit_to_socket_with_ack(&self.socket, {{ event.name|rust_string }}, payload).await
    }
{%- else %}
    /// Sends `{{ event.name }}` (no payload) to this socket and waits for its acknowledgement.
    pub async fn emit_{{ event.method }}(&self) -> ::std::result::Result<{{ ack|rust_type }}, ::appc_runtime::EmitError> {
        ::appc_runtime::codegen::emit_to_socket_with_ack(&self.socket, {{ event.name|rust_string }}, &::appc_runtime::codegen::NoPayload).await
    }
{%- endif %}
{%- else %}
{%- if let Some(payload) = event.payload %}
    /// Sends `{{ event.name }}` ({{ payload|wasp_type }}) to this socket.
    pub fn emit_{{ event.method }}(&self, payload: &{{ payload|rust_type }}) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        ::appc_runtime::codegen::emit_to_socket(&self.socket, {{ event.name|rust_string }}, payload)
    }
{%- else %}
    /// Sends `{{ event.name }}` (no payload) to this socket.
    pub fn emit_{{ event.method }}(&self) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        ::appc_runtime::codegen::emit_to_socket_without_payload(&self.socket, {{ event.name|rust_string }})
    }
{%- endif %}
{%- endif %}
{%- endfor %}
}

/// Sends this namespace's server-to-client events to every socket, a room or a user, from
/// anywhere in the server: get it from a socket (`socket.emitter()`) or build it from a context
/// (`Emitter::new(ctx.emitter.clone())`).
#[derive(::std::fmt::Debug, ::std::clone::Clone)]
pub struct Emitter {
    emitter: ::appc_runtime::Emitter,
}

impl Emitter {
    /// Wraps the app's emitter.
    pub fn new(emitter: ::appc_runtime::Emitter) -> Self {
        Emitter { emitter }
    }
{%- for event in server_events %}
{%- if let Some(payload) = event.payload %}

    /// Sends `{{ event.name }}` ({{ payload|wasp_type }}) to every socket of the namespace.
    pub async fn emit_{{ event.method }}_to_all(&self, payload: &{{ payload|rust_type }}) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        self.emitter.to_all(PATH, {{ event.name|rust_string }}, payload).await
    }

    /// Sends `{{ event.name }}` to every socket in `room`.
    pub async fn emit_{{ event.method }}_to_room(&self, room: &str, payload: &{{ payload|rust_type }}) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        self.emitter.to_room(PATH, room, {{ event.name|rust_string }}, payload).await
    }

    /// Sends `{{ event.name }}` to every socket of one logged-in user (all their tabs), given
    /// their id (`ctx.user.id`, or an `appc_runtime::UserId`).
    pub async fn emit_{{ event.method }}_to_user(&self, user: impl ::std::convert::Into<::appc_runtime::UserId>, payload: &{{ payload|rust_type }}) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        self.emitter.to_user(PATH, user, {{ event.name|rust_string }}, payload).await
    }
{%- else %}

    /// Sends `{{ event.name }}` (no payload) to every socket of the namespace.
    pub async fn emit_{{ event.method }}_to_all(&self) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        self.emitter.to_all(PATH, {{ event.name|rust_string }}, &::appc_runtime::codegen::NoPayload).await
    }

    /// Sends `{{ event.name }}` (no payload) to every socket in `room`.
    pub async fn emit_{{ event.method }}_to_room(&self, room: &str) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        self.emitter.to_room(PATH, room, {{ event.name|rust_string }}, &::appc_runtime::codegen::NoPayload).await
    }

    /// Sends `{{ event.name }}` (no payload) to every socket of one logged-in user (all their
    /// tabs), given their id (`ctx.user.id`, or an `appc_runtime::UserId`).
    pub async fn emit_{{ event.method }}_to_user(&self, user: impl ::std::convert::Into<::appc_runtime::UserId>) -> ::std::result::Result<(), ::appc_runtime::EmitError> {
        self.emitter.to_user(PATH, user, {{ event.name|rust_string }}, &::appc_runtime::codegen::NoPayload).await
    }
{%- endif %}
{%- endfor %}
}

/// The namespace as the runtime serves it: the token check{% if auth_required %} (a token is required){% endif %}{% if handshake.is_some() %}, the handshake validation{% endif %},
/// the user's decoding, then the team's `crate::{{ function.module }}::{{ function.name }}` for each connection.
pub fn namespace(state: ::appc_runtime::AppState) -> ::appc_runtime::codegen::NamespaceConfig {
    ::appc_runtime::codegen::NamespaceConfig::new(PATH)
{%- if auth_required %}
        .require_auth()
{%- endif %}
        .user::<SocketUser>()
{%- if let Some(handshake) = handshake %}
        .handshake::<crate::app::types::{{ handshake }}>()
{%- endif %}
        .on_connect(move |connection: ::appc_runtime::codegen::Connection| {
            let state = state.clone();
            async move {
                // The connect middleware has already refused sockets whose user does not decode.
                let ::std::result::Result::Ok(user) = connection.context_user::<SocketUser>() else {
                    let _ = connection.socket.disconnect();
                    return;
                };
{%- if let Some(handshake) = handshake %}
                // The connect middleware has already refused handshakes that do not decode.
                let ::std::result::Result::Ok(handshake) = connection.handshake::<crate::app::types::{{ handshake }}>() else {
                    let _ = connection.socket.disconnect();
                    return;
                };
{%- endif %}
                let socket = Socket {
                    socket: connection.socket,
                    connection: ConnectionState {
                        state,
                        user: ::std::sync::Arc::new(user),
{%- if handshake.is_some() %}
                        handshake: ::std::sync::Arc::new(handshake),
{%- endif %}
                    },
                };
                // Not counted as a running handler: the function may keep it for the connection.
                let context = SocketContext::for_connection(&socket.connection.state, &socket.connection.user);
                crate::{{ function.module }}::{{ function.name }}(socket, context).await;
            }
        })
}
