//! Socket.IO against an in-process server, with a raw Engine.IO client over WebSocket:
//! connections with and without a token, refusal on an `auth: true` namespace, the typed user
//! and the token's claims in the context, refusal of a user that does not decode, handshake
//! validation, malformed payloads that produce an error and no crash, emitting to a user from
//! an HTTP handler, emitting to a room from outside any handler, and a clean close on shutdown.

mod common;

use appc_runtime::axum::extract::State;
use appc_runtime::axum::routing::post;
use std::sync::LazyLock;

use appc_runtime::SocketRef;
use appc_runtime::codegen::{
    AckSender, ColumnSchema, Connection, Encoding, Entity, EntitySet, FieldShape, NamespaceConfig,
    Payload, RecordShape, Shape, SocketSettings, SpecType, SqlType, TableSchema,
};
use appc_runtime::socketioxide::extract::MaybeExtension;
use appc_runtime::{AppState, AuthUser, Database, DbError, Emitter, Row, SocketContext, Table};
use common::{
    Message, NewMessage, NewUser, Packet, SocketClient, TestServer, User, UserUpdate, WAIT, signup,
};
use serde_json::json;

/// What the generator emits for `webSocket: { entities: [Message] }`.
#[derive(Clone)]
struct ChatEntities {
    message: Table<Message>,
}

impl EntitySet for ChatEntities {
    fn from_database(database: &Database) -> Self {
        ChatEntities {
            message: database.table(),
        }
    }
}

/// The team's socket function, written as a user of the runtime would: it stores each chat
/// message through the context's entities and broadcasts the stored row.
fn chat_socket(connection: Connection, ctx: SocketContext<ChatEntities, Option<User>>) {
    greet(&connection);
    connection.socket.on(
        "chatMessage",
        async move |socket: SocketRef, Payload(message): Payload<ChatMessage>, ack: AckSender| {
            // The socket's typed user, decoded once when it connected.
            let author_id = ctx.user.as_ref().map(|user| user.id);
            let new_message = NewMessage {
                text: message.text.clone(),
                room: None,
                author_id,
                metadata: None,
            };
            match ctx.entities.message.create(new_message).await {
                Ok(stored) => {
                    ack.send(&json!({ "ok": true, "length": message.text.len() }))
                        .ok();
                    socket.emit("chatMessage", &stored).ok();
                }
                Err(error) => {
                    ack.send(&json!({ "error": error.to_string() })).ok();
                }
            }
        },
    );
    connection.socket.on(
        "whoami",
        async |MaybeExtension(user): MaybeExtension<AuthUser>, ack: AckSender| {
            ack.send(&json!({ "user": user.map(|user| user.username().to_owned()) }))
                .ok();
        },
    );
}

fn root_namespace(state: AppState) -> NamespaceConfig {
    NamespaceConfig::new("/")
        .user::<Option<User>>()
        .on_connect(move |connection: Connection| {
            let user = connection
                .context_user::<Option<User>>()
                .expect("decoded on connect");
            let ctx = SocketContext::for_connection(&state, &user);
            async move { chat_socket(connection, ctx) }
        })
}

/// An `auth: true` namespace as the generator emits it: its context's user is the entity itself.
fn private_namespace(state: AppState) -> NamespaceConfig {
    NamespaceConfig::new("/private")
        .require_auth()
        .user::<User>()
        .on_connect(move |connection: Connection| {
            let state = state.clone();
            async move {
                let user = connection
                    .context_user::<User>()
                    .expect("decoded on connect");
                let ctx = SocketContext::<(), User>::for_connection(&state, &user);
                greet(&connection);
                let claims = ctx
                    .auth_user()
                    .and_then(AuthUser::claims)
                    .expect("a socket's user comes from its token");
                let session = json!({
                    "id": ctx.user.id,
                    "username": ctx.user.username,
                    "subject": claims.sub,
                    "lifetime": claims.exp - claims.iat,
                });
                connection.socket.emit("session", &session).ok();
            }
        })
}

/// A user entity that declares a column the user table does not have, as when the database
/// was not migrated to the spec.
#[derive(Debug, Clone)]
struct NicknamedUser {
    #[expect(dead_code, reason = "never decoded: the column is missing")]
    nickname: String,
}

static NICKNAMED_USER_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("NicknamedUser")
        .column(ColumnSchema::new("id", SqlType::Integer).primary_key())
        .column(ColumnSchema::new("nickname", SqlType::Text))
});

impl Entity for NicknamedUser {
    type Id = i64;
    type New = NewUser;
    type Update = UserUpdate;

    fn schema() -> &'static TableSchema {
        &NICKNAMED_USER_SCHEMA
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(NicknamedUser {
            nickname: row.get("nickname")?,
        })
    }
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct ChatMessage {
    text: String,
}

/// What the generator emits beside `type ChatMessage { text: String }`.
impl SpecType for ChatMessage {
    const SHAPE: Shape = Shape::Record(|| &CHAT_MESSAGE);
}

static CHAT_MESSAGE: RecordShape = RecordShape {
    name: "ChatMessage",
    fields: &[FieldShape {
        name: "text",
        shape: Shape::String,
        max_length: None,
    }],
};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomHandshake {
    room: String,
}

impl SpecType for RoomHandshake {
    const SHAPE: Shape = Shape::Record(|| &ROOM_HANDSHAKE);
}

static ROOM_HANDSHAKE: RecordShape = RecordShape {
    name: "RoomHandshake",
    fields: &[FieldShape {
        name: "room",
        shape: Shape::String,
        max_length: None,
    }],
};

fn greet(connection: &Connection) {
    let username = connection
        .user
        .as_ref()
        .map(|user| user.username().to_owned());
    connection
        .socket
        .emit("hello", &json!({ "user": username }))
        .ok();
}

async fn socket_server() -> TestServer {
    TestServer::start(|server| {
        server
            .user_table(User::schema().clone())
            .tables([Message::schema().clone()])
            .namespace_with_state(root_namespace)
            .namespace_with_state(private_namespace)
            .namespace(
                NamespaceConfig::new("/nicknames")
                    .user::<Option<NicknamedUser>>()
                    .on_connect(|connection: Connection| async move { greet(&connection) }),
            )
            .namespace(
                NamespaceConfig::new("/rooms")
                    .handshake::<RoomHandshake>()
                    .on_connect(|connection: Connection| async move {
                        let handshake: RoomHandshake =
                            connection.handshake().expect("validated on connect");
                        connection.socket.join(handshake.room);
                        greet(&connection);
                    }),
            )
            .routes(|router| {
                router.route(
                    "/notify",
                    post(async |State(emitter): State<Emitter>, user: AuthUser| {
                        emitter
                            .to_user(
                                "/",
                                user.id(),
                                "notification",
                                &json!({ "for": user.username() }),
                            )
                            .await
                            .map(|()| "sent")
                            .map_err(|error| error.to_string())
                    }),
                )
            })
    })
    .await
}

#[tokio::test]
async fn a_socket_without_a_token_connects_anonymously() {
    let server = socket_server().await;
    let (mut client, answer) = SocketClient::connect(server.address, "/", json!({})).await;
    assert!(
        matches!(answer, Packet::Connect(ref data) if data["sid"].is_string()),
        "{answer:?}"
    );
    assert_eq!(
        client.expect_event("hello").await,
        vec![json!({ "user": null })]
    );

    // A bad token on a namespace without `auth: true` also connects, without a user.
    let (mut client, answer) =
        SocketClient::connect(server.address, "/", json!({ "token": "nonsense" })).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    assert_eq!(
        client.expect_event("hello").await,
        vec![json!({ "user": null })]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_socket_with_a_token_knows_its_user() {
    let server = socket_server().await;
    let (token, _) = signup(&server, "gina", "long enough password").await;
    let (mut client, answer) =
        SocketClient::connect(server.address, "/", json!({ "token": token })).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    assert_eq!(
        client.expect_event("hello").await,
        vec![json!({ "user": "gina" })]
    );
    client.emit("whoami", json!(null), Some(1)).await;
    assert_eq!(client.expect_ack(1).await, vec![json!({ "user": "gina" })]);

    // The handler stores the message through `ctx.entities.message` with the socket's user.
    client
        .emit("chatMessage", json!({ "text": "stored" }), Some(2))
        .await;
    assert_eq!(
        client.expect_ack(2).await,
        vec![json!({ "ok": true, "length": 6 })]
    );
    let broadcast = client.expect_event("chatMessage").await;
    assert_eq!(broadcast[0]["text"], "stored");
    assert_eq!(broadcast[0]["room"], "general");
    let rows = server
        .state
        .database
        .table::<Message>()
        .find_many(Default::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].text, "stored");
    assert!(
        rows[0].author_id.is_some(),
        "the author is the socket's user"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_auth_namespace_refuses_missing_and_invalid_tokens() {
    let server = socket_server().await;
    let (token, _) = signup(&server, "hank", "long enough password").await;

    let (_, answer) = SocketClient::connect(server.address, "/private", json!({})).await;
    let Packet::ConnectError(error) = answer else {
        panic!("expected connect_error, got {answer:?}")
    };
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("unauthorized: no token was sent"),
        "{message}"
    );

    let forged = tamper_signature(&token);
    let (_, answer) =
        SocketClient::connect(server.address, "/private", json!({ "token": forged })).await;
    let Packet::ConnectError(error) = answer else {
        panic!("expected connect_error, got {answer:?}")
    };
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("unauthorized: the token signature is invalid"),
        "{error}"
    );

    let (mut client, answer) =
        SocketClient::connect(server.address, "/private", json!({ "token": token })).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    assert_eq!(
        client.expect_event("hello").await,
        vec![json!({ "user": "hank" })]
    );
    server.stop().await;
}

#[tokio::test]
async fn an_auth_namespace_context_holds_the_typed_user_and_the_tokens_claims() {
    let server = socket_server().await;
    let (token, user) = signup(&server, "iris", "long enough password").await;
    let (mut client, answer) =
        SocketClient::connect(server.address, "/private", json!({ "token": token })).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    let session = client.expect_event("session").await;
    assert_eq!(
        session,
        vec![json!({
            "id": user["id"],
            "username": "iris",
            "subject": user["id"].to_string(),
            "lifetime": 7 * 24 * 60 * 60,
        })]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_user_that_does_not_decode_as_the_entity_is_refused_and_anonymous_sockets_are_not() {
    let server = socket_server().await;
    let (token, _) = signup(&server, "jude", "long enough password").await;
    let (_, answer) =
        SocketClient::connect(server.address, "/nicknames", json!({ "token": token })).await;
    let Packet::ConnectError(error) = answer else {
        panic!("expected connect_error, got {answer:?}")
    };
    assert_eq!(
        error["message"],
        "server error while loading the user; try again later"
    );

    let (mut client, answer) = SocketClient::connect(server.address, "/nicknames", json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    assert_eq!(
        client.expect_event("hello").await,
        vec![json!({ "user": null })]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_typed_handshake_is_validated_on_connect() {
    let server = socket_server().await;
    let (_, answer) = SocketClient::connect(server.address, "/rooms", json!({ "room": 42 })).await;
    let Packet::ConnectError(error) = answer else {
        panic!("expected connect_error, got {answer:?}")
    };
    assert_eq!(
        error["message"],
        "invalid handshake: room: expected String, found Int 42"
    );

    // The token belongs to the runtime, not to the typed handshake (which denies unknown fields).
    let (mut client, answer) = SocketClient::connect(
        server.address,
        "/rooms",
        json!({ "room": "lobby", "token": "x" }),
    )
    .await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client.expect_event("hello").await;
    // Emitting to the room from outside any handler reaches the member.
    server
        .state
        .emitter
        .to_room("/rooms", "lobby", "roomEvent", &json!({ "n": 1 }))
        .await
        .unwrap();
    assert_eq!(
        client.expect_event("roomEvent").await,
        vec![json!({ "n": 1 })]
    );
    server
        .state
        .emitter
        .to_all("/rooms", "everyone", &json!("all"))
        .await
        .unwrap();
    assert_eq!(client.expect_event("everyone").await, vec![json!("all")]);
    let unknown = server
        .state
        .emitter
        .to_all("/nowhere", "everyone", &json!("all"))
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "no socket namespace `/nowhere` is registered; declare it in main.wasp"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_malformed_payload_yields_an_error_and_the_server_keeps_running() {
    let server = socket_server().await;
    let (mut client, _) = SocketClient::connect(server.address, "/", json!({})).await;
    client.expect_event("hello").await;

    // Without an ack: an `error` event naming the event and the field.
    client.emit("chatMessage", json!({ "text": 5 }), None).await;
    let error = client.expect_event("error").await;
    assert_eq!(error[0]["error"]["code"], "invalid_payload");
    assert_eq!(error[0]["error"]["event"], "chatMessage");
    assert_eq!(error[0]["error"]["field"], "text");
    assert_eq!(
        error[0]["error"]["message"],
        "text: expected String, found Int 5"
    );

    // With an ack: the ack carries the error instead.
    client.emit("chatMessage", json!({}), Some(7)).await;
    let ack = client.expect_ack(7).await;
    assert_eq!(ack[0]["error"]["field"], "text");
    assert_eq!(
        ack[0]["error"]["message"],
        "missing field text, expected String"
    );

    // The handler was never called for the bad payloads, and valid ones still work.
    client
        .emit("chatMessage", json!({ "text": "hi" }), Some(8))
        .await;
    assert_eq!(
        client.expect_ack(8).await,
        vec![json!({ "ok": true, "length": 2 })]
    );

    // A packet that is not Socket.IO at all breaks the protocol: that one connection is
    // closed (as the reference server does), and everyone else carries on.
    let (mut vandal, _) = SocketClient::connect(server.address, "/", json!({})).await;
    vandal.expect_event("hello").await;
    vandal.send_raw("2not json at all").await;
    assert!(vandal.is_closed().await);
    client
        .emit("chatMessage", json!({ "text": "still here" }), Some(9))
        .await;
    assert_eq!(
        client.expect_ack(9).await,
        vec![json!({ "ok": true, "length": 10 })]
    );
    let (mut newcomer, answer) = SocketClient::connect(server.address, "/", json!({})).await;
    assert!(matches!(answer, Packet::Connect(_)));
    newcomer.expect_event("hello").await;
    // Only the two valid messages reached the handler, which stores every message it sees.
    let stored = server
        .state
        .database
        .table::<Message>()
        .find_many(Default::default())
        .await
        .unwrap();
    let texts: Vec<&str> = stored.iter().map(|message| message.text.as_str()).collect();
    assert_eq!(texts, ["hi", "still here"]);
    server.stop().await;
}

#[tokio::test]
async fn an_http_handler_can_emit_to_all_sockets_of_a_user() {
    let server = socket_server().await;
    let (token, _) = signup(&server, "ivy", "long enough password").await;
    let (mut first_tab, _) =
        SocketClient::connect(server.address, "/", json!({ "token": token })).await;
    let (mut second_tab, _) =
        SocketClient::connect(server.address, "/", json!({ "token": token })).await;
    first_tab.expect_event("hello").await;
    second_tab.expect_event("hello").await;
    let response = common::http("POST", &server.url("/notify"), Some(""), Some(&token)).await;
    assert_eq!(response.text, "sent");
    assert_eq!(
        first_tab.expect_event("notification").await,
        vec![json!({ "for": "ivy" })]
    );
    assert_eq!(
        second_tab.expect_event("notification").await,
        vec![json!({ "for": "ivy" })]
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_cleanly() {
    let server = socket_server().await;
    let (mut client, _) = SocketClient::connect(server.address, "/", json!({})).await;
    client.expect_event("hello").await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < WAIT,
        "shutdown does not wait for the socket to leave"
    );
    assert!(
        client.is_closed().await,
        "the socket was closed by the server"
    );
}

#[tokio::test]
async fn the_msgpack_encoding_carries_events_and_acks() {
    let server = TestServer::start(|server| {
        server
            .user_table(User::schema().clone())
            .tables([Message::schema().clone()])
            .socket_settings(SocketSettings::default().encoding(Encoding::MsgPack))
            .namespace_with_state(root_namespace)
    })
    .await;
    let (token, _) = signup(&server, "moe", "long enough password").await;
    let mut client =
        common::MsgPackClient::connect(server.address, json!({ "token": token })).await;
    assert_eq!(
        client.expect_event("hello").await,
        json!(["hello", { "user": "moe" }])
    );
    client
        .send(json!({ "type": 2, "nsp": "/", "data": ["chatMessage", { "text": 5 }], "id": 3 }))
        .await;
    let ack = client.expect_ack(3).await;
    assert_eq!(ack["data"][0]["error"]["field"], "text", "{ack}");
    client.send(json!({ "type": 2, "nsp": "/", "data": ["chatMessage", { "text": "packed" }], "id": 4 })).await;
    assert_eq!(client.expect_ack(4).await["data"][0]["ok"], true);
    let stored = client.expect_event("chatMessage").await;
    assert_eq!(stored[1]["text"], "packed");
    server.stop().await;
}

/// Changes the first character of the signature, which (unlike the last one) carries no padding
/// bits, so the token stays well-formed but its signature no longer matches.
fn tamper_signature(token: &str) -> String {
    let (message, signature) = token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    format!("{message}.{first}{}", &signature[1..])
}
