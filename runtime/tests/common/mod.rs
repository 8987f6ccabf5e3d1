//! Shared test support: the `User` and `Message` entities written the way the generator will
//! emit them, an in-process server on a free port with a real SQLite file, a small HTTP client
//! and a raw Engine.IO v4 / Socket.IO v5 client over WebSocket. Every wait is bounded.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;

use appc_runtime::codegen::{
    ColumnDefault, ColumnSchema, ConfigDefaults, Entity, IntoColumns, Server, SqlType, TableSchema,
    column, unique_key,
};
use appc_runtime::{
    AppState, Column, Config, Database, DbError, DbSystem, Mode, Row, UniqueKey, Value,
};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The bound on every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!";

// ---- Entities, as the generator emits them -------------------------------------------------

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
}

pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
}

#[derive(Default)]
pub struct UserUpdate {
    pub display_name: Option<Option<String>>,
}

impl User {
    pub const ID: Column<User, i64> = column("id");
    pub const USERNAME: Column<User, String> = column("username");
    pub const DISPLAY_NAME: Column<User, Option<String>> = column("displayName");

    pub fn by_username(username: impl Into<String>) -> UniqueKey<User> {
        let username: String = username.into();
        unique_key(User::USERNAME.eq(username))
    }
}

static USER_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("User")
        .column(autoincrement_id())
        .column(ColumnSchema::new("username", SqlType::Text).unique())
        .column(ColumnSchema::new("displayName", SqlType::Text).nullable())
});

impl Entity for User {
    type Id = i64;
    type New = NewUser;
    type Update = UserUpdate;

    fn schema() -> &'static TableSchema {
        &USER_SCHEMA
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(User {
            id: row.get("id")?,
            username: row.get("username")?,
            display_name: row.get("displayName")?,
        })
    }
}

impl IntoColumns for NewUser {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        vec![
            ("username", self.username.into()),
            ("displayName", self.display_name.into()),
        ]
    }
}

impl IntoColumns for UserUpdate {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        let mut columns = Vec::new();
        if let Some(display_name) = self.display_name {
            columns.push(("displayName", display_name.into()));
        }
        columns
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Message {
    pub id: String,
    pub text: String,
    pub room: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub author_id: Option<i64>,
    pub metadata: Option<serde_json::Value>,
}

pub struct NewMessage {
    pub text: String,
    pub room: Option<String>,
    pub author_id: Option<i64>,
    pub metadata: Option<serde_json::Value>,
}

#[derive(Default)]
pub struct MessageUpdate {
    pub text: Option<String>,
    pub room: Option<String>,
}

impl Message {
    pub const ID: Column<Message, String> = column("id");
    pub const TEXT: Column<Message, String> = column("text");
    pub const ROOM: Column<Message, String> = column("room");
    pub const CREATED_AT: Column<Message, chrono::DateTime<chrono::Utc>> = column("createdAt");
    pub const AUTHOR_ID: Column<Message, Option<i64>> = column("authorId");
    pub const METADATA: Column<Message, Option<serde_json::Value>> = column("metadata");
}

static MESSAGE_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("Message")
        .column(
            ColumnSchema::new("id", SqlType::Text)
                .primary_key()
                .default(ColumnDefault::Uuid),
        )
        .column(ColumnSchema::new("text", SqlType::Text))
        .column(
            ColumnSchema::new("room", SqlType::Text)
                .default(ColumnDefault::Value(Value::from("general"))),
        )
        .column(ColumnSchema::new("createdAt", SqlType::DateTime).default(ColumnDefault::Now))
        .column(
            ColumnSchema::new("authorId", SqlType::Integer)
                .nullable()
                .references("User", "id"),
        )
        .column(ColumnSchema::new("metadata", SqlType::Json).nullable())
});

impl Entity for Message {
    type Id = String;
    type New = NewMessage;
    type Update = MessageUpdate;

    fn schema() -> &'static TableSchema {
        &MESSAGE_SCHEMA
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Message {
            id: row.get("id")?,
            text: row.get("text")?,
            room: row.get("room")?,
            created_at: row.get("createdAt")?,
            author_id: row.get("authorId")?,
            metadata: row.get("metadata")?,
        })
    }
}

impl IntoColumns for NewMessage {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        let mut columns = vec![
            ("text", self.text.into()),
            ("authorId", self.author_id.into()),
            ("metadata", self.metadata.into()),
        ];
        if let Some(room) = self.room {
            columns.push(("room", room.into()));
        }
        columns
    }
}

impl IntoColumns for MessageUpdate {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        let mut columns = Vec::new();
        if let Some(text) = self.text {
            columns.push(("text", text.into()));
        }
        if let Some(room) = self.room {
            columns.push(("room", room.into()));
        }
        columns
    }
}

// ---- The in-process server -----------------------------------------------------------------

pub fn test_config(data_dir: &std::path::Path, database_url: Option<String>) -> Config {
    test_config_with(data_dir, database_url, &[])
}

/// The test configuration with more variables set (`APPC_*` limits).
pub fn test_config_with(
    data_dir: &std::path::Path,
    database_url: Option<String>,
    extra_variables: &[(&str, &str)],
) -> Config {
    let database_url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("test.db").display()));
    let mut variables = vec![
        ("PORT", "0".to_owned()),
        ("HOST", "127.0.0.1".to_owned()),
        ("JWT_SECRET", TEST_SECRET.to_owned()),
        ("DATABASE_URL", database_url),
    ];
    variables.extend(
        extra_variables
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned())),
    );
    Config::from_variables(
        ConfigDefaults::new(data_dir).mode(Mode::Production),
        |name| {
            variables
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
        },
    )
    .expect("the test configuration is valid")
}

/// A running server; dropping it without `stop` leaves the task to the runtime's shutdown.
pub struct TestServer {
    pub address: SocketAddr,
    pub state: AppState,
    pub connection_stats: std::sync::Arc<appc_runtime::codegen::ConnectionStats>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), appc_runtime::codegen::ServeError>>,
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts `build(Server)` on a fresh SQLite file and a free port.
    pub async fn start(build: impl FnOnce(Server) -> Server) -> TestServer {
        TestServer::start_on(None, build).await
    }

    /// Starts `build(Server)` on the given database (a fresh SQLite file when `None`).
    pub async fn start_on(
        database_url: Option<String>,
        build: impl FnOnce(Server) -> Server,
    ) -> TestServer {
        TestServer::start_with(database_url, &[], build).await
    }

    /// Starts `build(Server)` with more configuration variables (`APPC_*` limits).
    pub async fn start_with(
        database_url: Option<String>,
        variables: &[(&str, &str)],
        build: impl FnOnce(Server) -> Server,
    ) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let server = build(Server::new(test_config_with(
            data_dir.path(),
            database_url,
            variables,
        )));
        let bound = server.bind().await.expect("server binds");
        let address = bound.local_address();
        let state = bound.state().clone();
        let connection_stats = bound.connection_stats();
        let (shutdown, shutdown_received) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.run_until(async move {
            let _ = shutdown_received.await;
        }));
        TestServer {
            address,
            state,
            connection_stats,
            shutdown: Some(shutdown),
            task,
            _data_dir: data_dir,
        }
    }

    /// Sends the shutdown signal and waits (bounded) for a clean stop.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let outcome = tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("server stops in time");
        outcome
            .expect("server task did not panic")
            .expect("server stopped cleanly");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

// ---- Databases -------------------------------------------------------------------------------

/// A fresh database of every available system: a SQLite file, and a PostgreSQL database when
/// `APPC_TEST_POSTGRES_URL` is set. The temporary directory keeps the SQLite file alive for the
/// test's duration.
pub async fn fresh_databases() -> (Vec<Database>, tempfile::TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", directory.path().join("test.db").display());
    let mut databases = vec![Database::connect(&sqlite_url).await.unwrap()];
    if let Some(url) = fresh_postgres_url().await {
        databases.push(Database::connect(&url).await.unwrap());
    }
    (databases, directory)
}

/// Runs `sql` (one or more statements, without parameters) on `database` as written, past the
/// typed access, for the tests that set up or break a schema by hand.
pub async fn execute_sql(database: &Database, sql: &str) -> Result<(), sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match database.system() {
        DbSystem::Sqlite => sqlx::raw_sql(sql)
            .execute(database.sqlite_pool().unwrap())
            .await
            .map(drop),
        DbSystem::Postgres => sqlx::raw_sql(sql)
            .execute(database.postgres_pool().unwrap())
            .await
            .map(drop),
    }
}

/// Runs one statement with `text` bound as its one parameter: `sqlite_sql` on SQLite (with a `?`
/// placeholder), `postgres_sql` on PostgreSQL (with `$1`).
pub async fn execute_with_text(
    database: &Database,
    sqlite_sql: &'static str,
    postgres_sql: &'static str,
    text: &str,
) {
    match database.system() {
        DbSystem::Sqlite => sqlx::query(sqlite_sql)
            .bind(text)
            .execute(database.sqlite_pool().unwrap())
            .await
            .map(drop),
        DbSystem::Postgres => sqlx::query(postgres_sql)
            .bind(text)
            .execute(database.postgres_pool().unwrap())
            .await
            .map(drop),
    }
    .unwrap();
}

/// The `id Int @id @default(autoincrement())` column most test tables start with.
pub fn autoincrement_id() -> ColumnSchema {
    ColumnSchema::new("id", SqlType::Integer)
        .primary_key()
        .default(ColumnDefault::Autoincrement)
}

/// A fresh, empty PostgreSQL database on the `APPC_TEST_POSTGRES_URL` server, or `None` (with a
/// loud notice) when the variable is unset.
pub async fn fresh_postgres_url() -> Option<String> {
    let Some(admin_url) = std::env::var("APPC_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!(
            "\n*** skipped: PostgreSQL half of this test; set APPC_TEST_POSTGRES_URL (tests/support/start-postgres.sh prints one) ***\n"
        );
        return None;
    };
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("APPC_TEST_POSTGRES_URL connects");
    let name = format!("appc_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("the test role may create databases");
    admin.close().await;
    let without_query = admin_url.split('?').next().unwrap_or_default();
    let (base, _) = without_query
        .rsplit_once('/')
        .expect("the url names a database");
    Some(format!("{base}/{name}"))
}

// ---- HTTP ----------------------------------------------------------------------------------

pub struct HttpResponse {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: serde_json::Value,
    pub text: String,
}

pub async fn http(
    method: &str,
    url: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> HttpResponse {
    http_with_headers(method, url, body, token, &[]).await
}

pub async fn http_with_headers(
    method: &str,
    url: &str,
    body: Option<&str>,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> HttpResponse {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = hyper::Request::builder().method(method).uri(url);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
        .expect("valid request");
    let response = tokio::time::timeout(WAIT, client.request(request))
        .await
        .expect("response in time")
        .expect("request succeeds");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = tokio::time::timeout(WAIT, response.into_body().collect())
        .await
        .expect("body in time")
        .expect("body reads")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    HttpResponse {
        status,
        headers,
        body,
        text,
    }
}

/// Signs up and returns the token and the user JSON.
pub async fn signup(
    server: &TestServer,
    username: &str,
    password: &str,
) -> (String, serde_json::Value) {
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let response = http("POST", &server.url("/auth/signup"), Some(&body), None).await;
    assert_eq!(response.status, 200, "signup failed: {}", response.text);
    let token = response.body["token"].as_str().expect("token").to_owned();
    (token, response.body["user"].clone())
}

// ---- A raw Socket.IO client ----------------------------------------------------------------

/// One decoded Socket.IO packet from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    Connect(serde_json::Value),
    ConnectError(serde_json::Value),
    Event {
        name: String,
        data: Vec<serde_json::Value>,
    },
    Ack {
        id: u64,
        data: Vec<serde_json::Value>,
    },
    Disconnect,
}

pub struct SocketClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    namespace: String,
}

impl SocketClient {
    /// Opens the Engine.IO WebSocket transport and sends the Socket.IO CONNECT for `namespace`
    /// with `auth` as handshake data. Returns the client and the server's answer (Connect or
    /// ConnectError).
    pub async fn connect(
        address: SocketAddr,
        namespace: &str,
        auth: serde_json::Value,
    ) -> (SocketClient, Packet) {
        let url = format!("ws://{address}/socket.io/?EIO=4&transport=websocket");
        let (stream, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("websocket connects in time")
            .expect("websocket connects");
        let mut client = SocketClient {
            stream,
            namespace: namespace.to_owned(),
        };
        let open = client.next_text().await;
        assert!(
            open.starts_with('0'),
            "expected the Engine.IO open packet, got {open}"
        );
        let connect = format!("40{}{}", client.namespace_prefix(), auth);
        client.send_text(connect).await;
        let answer = client.next_packet().await;
        (client, answer)
    }

    fn namespace_prefix(&self) -> String {
        if self.namespace == "/" {
            String::new()
        } else {
            format!("{},", self.namespace)
        }
    }

    async fn send_text(&mut self, text: String) {
        tokio::time::timeout(WAIT, self.stream.send(Frame::text(text)))
            .await
            .expect("send in time")
            .expect("send succeeds");
    }

    /// The next Engine.IO text frame, answering pings on the way.
    async fn next_text(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a frame arrives in time")
                .expect("the connection is open")
                .expect("the frame is valid");
            match frame {
                Frame::Text(text) if text.as_str() == "2" => self.send_text("3".to_owned()).await,
                Frame::Text(text) => return text.as_str().to_owned(),
                Frame::Close(_) => panic!("the server closed the connection"),
                _ => {}
            }
        }
    }

    /// Emits an event, optionally asking for an ack with `ack_id`.
    pub async fn emit(&mut self, event: &str, data: serde_json::Value, ack_id: Option<u64>) {
        let ack = ack_id.map(|id| id.to_string()).unwrap_or_default();
        let payload = serde_json::json!([event, data]);
        let text = format!("42{}{ack}{payload}", self.namespace_prefix());
        self.send_text(text).await;
    }

    /// Emits an event the server may refuse by closing the connection: whether the whole frame
    /// was sent.
    pub async fn try_emit(&mut self, event: &str, data: serde_json::Value) -> bool {
        let payload = serde_json::json!([event, data]);
        let text = format!("42{}{payload}", self.namespace_prefix());
        matches!(
            tokio::time::timeout(WAIT, self.stream.send(Frame::text(text))).await,
            Ok(Ok(()))
        )
    }

    /// Emits raw Socket.IO packet text after the `4` Engine.IO message type.
    pub async fn send_raw(&mut self, socket_io_packet: &str) {
        self.send_text(format!("4{socket_io_packet}")).await;
    }

    /// The next Socket.IO packet.
    pub async fn next_packet(&mut self) -> Packet {
        loop {
            let text = self.next_text().await;
            let Some(rest) = text.strip_prefix('4') else {
                continue;
            };
            let (kind, rest) = rest.split_at(1);
            let rest = rest.strip_prefix(&self.namespace_prefix()).unwrap_or(rest);
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let json = &rest[digits.len()..];
            let value: serde_json::Value = if json.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_str(json).expect("packet data is JSON")
            };
            return match kind {
                "0" => Packet::Connect(value),
                "1" => Packet::Disconnect,
                "2" => {
                    let mut items = value.as_array().cloned().unwrap_or_default();
                    let name = items.remove(0).as_str().unwrap_or_default().to_owned();
                    Packet::Event { name, data: items }
                }
                "3" => Packet::Ack {
                    id: digits.parse().expect("ack id"),
                    data: value.as_array().cloned().unwrap_or_default(),
                },
                "4" => Packet::ConnectError(value),
                other => panic!("unexpected packet type {other} in {text}"),
            };
        }
    }

    /// Waits for the next event with this name, skipping others.
    pub async fn expect_event(&mut self, name: &str) -> Vec<serde_json::Value> {
        loop {
            if let Packet::Event {
                name: received,
                data,
            } = self.next_packet().await
                && received == name
            {
                return data;
            }
        }
    }

    /// Waits for the ack with this id, skipping other packets.
    pub async fn expect_ack(&mut self, id: u64) -> Vec<serde_json::Value> {
        loop {
            if let Packet::Ack { id: received, data } = self.next_packet().await
                && received == id
            {
                return data;
            }
        }
    }
}

impl SocketClient {
    /// Every ack (id and data) that arrives until the server ends the connection, which it must
    /// do within the wait bound.
    pub async fn acks_until_closed(&mut self) -> Vec<(u64, Vec<serde_json::Value>)> {
        let mut acks = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await;
            match next {
                Err(_) => panic!("the server did not close the connection in time"),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Frame::Close(_)))) => return acks,
                Ok(Some(Ok(Frame::Text(text)))) => {
                    let text = text.as_str();
                    if text == "1" || text.starts_with("41") {
                        return acks;
                    }
                    if let Some(rest) = text.strip_prefix("43") {
                        let digits: String =
                            rest.chars().take_while(char::is_ascii_digit).collect();
                        let data: serde_json::Value =
                            serde_json::from_str(&rest[digits.len()..]).expect("ack data is JSON");
                        acks.push((
                            digits.parse().expect("ack id"),
                            data.as_array().cloned().unwrap_or_default(),
                        ));
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Whether the server ends the connection (a Socket.IO disconnect, an Engine.IO close or
    /// a WebSocket close) within the wait bound.
    pub async fn is_closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await;
            match next {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Frame::Close(_)))) => return true,
                Ok(Some(Ok(Frame::Text(text))))
                    if text.as_str() == "1" || text.as_str().starts_with("41") =>
                {
                    return true;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

/// A Socket.IO client speaking the msgpack parser's format (binary frames holding
/// `{ type, nsp, data, id }` maps) on the root namespace.
pub struct MsgPackClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl MsgPackClient {
    pub async fn connect(address: SocketAddr, auth: serde_json::Value) -> MsgPackClient {
        let url = format!("ws://{address}/socket.io/?EIO=4&transport=websocket");
        let (stream, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("websocket connects in time")
            .expect("websocket connects");
        let mut client = MsgPackClient { stream };
        client
            .send(serde_json::json!({ "type": 0, "nsp": "/", "data": auth }))
            .await;
        let answer = client.next_packet().await;
        assert_eq!(answer["type"], 0, "connected: {answer}");
        client
    }

    pub async fn send(&mut self, packet: serde_json::Value) {
        let bytes = rmp_serde::to_vec_named(&packet).expect("packet encodes");
        tokio::time::timeout(WAIT, self.stream.send(Frame::binary(bytes)))
            .await
            .expect("send in time")
            .expect("send succeeds");
    }

    /// The next decoded Socket.IO packet, answering Engine.IO pings on the way.
    pub async fn next_packet(&mut self) -> serde_json::Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a frame arrives in time")
                .expect("the connection is open")
                .expect("the frame is valid");
            match frame {
                Frame::Binary(bytes) => {
                    return rmp_serde::from_slice(&bytes).expect("packet is msgpack");
                }
                Frame::Text(text) if text.as_str() == "2" => {
                    self.stream.send(Frame::text("3")).await.expect("pong");
                }
                Frame::Close(_) => panic!("the server closed the connection"),
                _ => {}
            }
        }
    }

    /// The `data` array (`[name, ...args]`) of the next event with this name.
    pub async fn expect_event(&mut self, name: &str) -> serde_json::Value {
        loop {
            let packet = self.next_packet().await;
            if packet["type"] == 2 && packet["data"][0] == name {
                return packet["data"].clone();
            }
        }
    }

    /// The next ack packet with this id.
    pub async fn expect_ack(&mut self, id: u64) -> serde_json::Value {
        loop {
            let packet = self.next_packet().await;
            if packet["type"] == 3 && packet["id"] == id {
                return packet;
            }
        }
    }
}
