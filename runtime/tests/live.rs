//! Live queries through a real server: sockets on the built-in `/appc-live` namespace subscribe
//! to live queries and receive their results again, computed with their own user, when a write
//! to their entity commits: scoped to the owning user for `scope: user`, never for a
//! rolled-back transaction, and for raw SQL only after an explicit `invalidate`. Runs on
//! SQLite, and on PostgreSQL too when `APPC_TEST_POSTGRES_URL` is set.

mod common;

use std::sync::LazyLock;
use std::time::Duration;

use appc_runtime::codegen::{
    ColumnSchema, Entity, EntitySet, IntoColumns, LiveQuery, NoInput, OperationSpec,
    ReferentialAction, SqlType, TableSchema, column,
};
use appc_runtime::{
    Column, Database, DbError, HttpError, OperationContext, Query, Row, Table, Value,
};
use common::{Packet, SocketClient, TestServer, User, fresh_postgres_url, signup};
use serde_json::json;

/// A user's private task (`scope: user` through `userId`).
#[derive(Debug, Clone, PartialEq)]
struct Task {
    id: i64,
    title: String,
    user_id: i64,
}

struct NewTask {
    title: String,
    user_id: i64,
}

#[derive(Default)]
struct TaskUpdate {
    title: Option<String>,
}

impl Task {
    const TITLE: Column<Task, String> = column("title");
    const USER_ID: Column<Task, i64> = column("userId");
}

static TASK_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("Task")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("title", SqlType::Text))
        .column(
            ColumnSchema::new("userId", SqlType::Integer)
                .references("User", "id")
                .on_delete(ReferentialAction::Cascade),
        )
});

impl Entity for Task {
    type Id = i64;
    type New = NewTask;
    type Update = TaskUpdate;
    fn schema() -> &'static TableSchema {
        &TASK_SCHEMA
    }
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Task {
            id: row.get("id")?,
            title: row.get("title")?,
            user_id: row.get("userId")?,
        })
    }
}

impl IntoColumns for NewTask {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        vec![
            ("title", self.title.into()),
            ("userId", self.user_id.into()),
        ]
    }
}

impl IntoColumns for TaskUpdate {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        self.title
            .map(|title| vec![("title", title.into())])
            .unwrap_or_default()
    }
}

/// A shared board's card (an unscoped live query reads it).
struct Card {
    text: String,
}

struct NewCard {
    text: String,
}

static CARD_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("Card")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("text", SqlType::Text))
});

impl Entity for Card {
    type Id = i64;
    type New = NewCard;
    type Update = NewCard;
    fn schema() -> &'static TableSchema {
        &CARD_SCHEMA
    }
    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Card {
            text: row.get("text")?,
        })
    }
}

impl IntoColumns for NewCard {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        vec![("text", self.text.into())]
    }
}

/// The tables `getMyTasks` reads.
#[derive(Clone)]
struct TaskTables {
    task: Table<Task>,
}

impl EntitySet for TaskTables {
    fn from_database(database: &Database) -> Self {
        TaskTables {
            task: database.table(),
        }
    }
}

/// The tables `getBoard` reads.
#[derive(Clone)]
struct CardTables {
    card: Table<Card>,
}

impl EntitySet for CardTables {
    fn from_database(database: &Database) -> Self {
        CardTables {
            card: database.table(),
        }
    }
}

static GET_MY_TASKS: OperationSpec = OperationSpec {
    name: "getMyTasks",
    auth_required: true,
    input_max_length: None,
};

/// The titles of the caller's own tasks.
async fn get_my_tasks(
    _: NoInput,
    ctx: OperationContext<TaskTables, User>,
) -> Result<Vec<String>, HttpError> {
    let tasks = ctx
        .entities
        .task
        .find_many(Query::new().filter(Task::USER_ID.eq(ctx.user.id)))
        .await?;
    Ok(tasks.into_iter().map(|task| task.title).collect())
}

static GET_BOARD: OperationSpec = OperationSpec {
    name: "getBoard",
    auth_required: false,
    input_max_length: None,
};

/// The text of every card, for anyone.
async fn get_board(
    _: NoInput,
    ctx: OperationContext<CardTables, Option<User>>,
) -> Result<Vec<String>, HttpError> {
    let cards = ctx.entities.card.find_many(Query::new()).await?;
    Ok(cards.into_iter().map(|card| card.text).collect())
}

async fn live_server(database_url: Option<String>) -> TestServer {
    TestServer::start_on(database_url, |server| {
        server
            .user_table(User::schema().clone())
            .tables([Task::schema().clone(), Card::schema().clone()])
            .live_queries([
                LiveQuery::new("getMyTasks")
                    .auth_required()
                    .scoped_to_user()
                    .entity::<Task>("Task")
                    .runs(&GET_MY_TASKS, get_my_tasks),
                LiveQuery::new("getBoard")
                    .entity::<Card>("Card")
                    .runs(&GET_BOARD, get_board),
            ])
    })
    .await
}

/// A socket on `/appc-live` of `token`'s user (anonymous without one).
async fn live_socket(server: &TestServer, token: Option<&str>) -> SocketClient {
    let auth = match token {
        Some(token) => json!({ "token": token }),
        None => json!({}),
    };
    let (client, answer) = SocketClient::connect(server.address, "/appc-live", auth).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client
}

/// Sends one `subscribe` with `payload` and returns the acknowledgement's list.
async fn subscribe(
    client: &mut SocketClient,
    payload: serde_json::Value,
    ack_id: u64,
) -> Vec<serde_json::Value> {
    client.emit("subscribe", payload, Some(ack_id)).await;
    let ack = client.expect_ack(ack_id).await;
    ack[0].as_array().cloned().expect("the ack is one list")
}

/// A socket of `token`'s user subscribed to `getMyTasks` and `getBoard`; returns it and their
/// acknowledged answers.
async fn subscriber(
    server: &TestServer,
    token: Option<&str>,
) -> (SocketClient, serde_json::Value, serde_json::Value) {
    let mut client = live_socket(server, token).await;
    let answers = subscribe(
        &mut client,
        json!([{ "query": "getMyTasks" }, { "query": "getBoard" }]),
        1,
    )
    .await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    (client, answers[0].clone(), answers[1].clone())
}

/// The next `update`: its subscription's id and its data.
async fn next_update(client: &mut SocketClient) -> (serde_json::Value, serde_json::Value) {
    let update = client.expect_event("update").await;
    let update = update[0].clone();
    assert!(update["version"].is_u64(), "{update}");
    (update["id"].clone(), update["data"].clone())
}

/// No `update` arrives within a dozen windows.
async fn expect_quiet(client: &mut SocketClient) {
    let outcome =
        tokio::time::timeout(Duration::from_millis(300), client.expect_event("update")).await;
    assert!(outcome.is_err(), "unexpected update: {outcome:?}");
}

async fn user_id(user: &serde_json::Value) -> i64 {
    user["id"].as_i64().expect("user id")
}

async fn results_follow_commits_and_scopes(database_url: Option<String>) {
    let server = live_server(database_url).await;
    let (ana_token, ana) = signup(&server, "ana", "correct horse battery").await;
    let (bob_token, bob) = signup(&server, "bob", "correct horse battery").await;
    let ana_id = user_id(&ana).await;
    let (mut ana_socket, ana_tasks, ana_board) = subscriber(&server, Some(&ana_token)).await;
    assert_eq!(ana_tasks["data"], json!([]));
    assert_eq!(ana_board["data"], json!([]));
    let (mut bob_socket, bob_tasks, bob_board) = subscriber(&server, Some(&bob_token)).await;
    // One group per user: each is computed with its own user.
    assert_ne!(bob_tasks["id"], ana_tasks["id"]);
    assert_ne!(bob_board["id"], ana_board["id"]);
    // Anonymous: the `auth: true` query is refused, an unknown one too, the public one is not.
    let mut anonymous_socket = live_socket(&server, None).await;
    let answers = subscribe(
        &mut anonymous_socket,
        json!([{ "query": "getMyTasks" }, { "query": "getBoard" }, { "query": "getNothing" }]),
        1,
    )
    .await;
    assert_eq!(answers[0]["error"]["code"], "unauthorized");
    assert!(answers[0].get("id").is_none());
    assert_eq!(answers[1]["data"], json!([]));
    assert_eq!(answers[2]["error"]["code"], "unknown_query");
    assert_eq!(answers[2]["error"]["status"], 404);
    let database = &server.state.database;

    // An autocommit write to the shared board: everyone following it gets the new board.
    database
        .table::<Card>()
        .create(NewCard {
            text: "hello".into(),
        })
        .await
        .unwrap();
    for socket in [&mut ana_socket, &mut bob_socket, &mut anonymous_socket] {
        assert_eq!(next_update(socket).await.1, json!(["hello"]));
    }

    // A rolled-back transaction refreshes nobody; a committed one after the commit.
    let mut transaction = database.begin().await.unwrap();
    transaction
        .table::<Card>()
        .create(NewCard {
            text: "never".into(),
        })
        .await
        .unwrap();
    transaction.rollback().await.unwrap();
    let mut dropped = database.begin().await.unwrap();
    dropped
        .table::<Card>()
        .create(NewCard {
            text: "dropped".into(),
        })
        .await
        .unwrap();
    drop(dropped);
    expect_quiet(&mut ana_socket).await;
    let mut transaction = database.begin().await.unwrap();
    transaction
        .table::<Card>()
        .create(NewCard {
            text: "kept".into(),
        })
        .await
        .unwrap();
    expect_quiet(&mut bob_socket).await;
    transaction.commit().await.unwrap();
    for socket in [&mut bob_socket, &mut ana_socket, &mut anonymous_socket] {
        assert_eq!(next_update(socket).await.1, json!(["hello", "kept"]));
    }

    // Ana's own task: Ana's socket only, on create, update and delete; Bob's socket never
    // receives its title.
    let tasks = database.table::<Task>();
    let task = tasks
        .create(NewTask {
            title: "private".into(),
            user_id: ana_id,
        })
        .await
        .unwrap();
    assert_eq!(
        next_update(&mut ana_socket).await,
        (ana_tasks["id"].clone(), json!(["private"]))
    );
    tasks
        .update(
            task.id,
            TaskUpdate {
                title: Some("still private".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        next_update(&mut ana_socket).await.1,
        json!(["still private"])
    );
    assert_eq!(
        tasks
            .delete_many(Task::TITLE.eq("still private"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(next_update(&mut ana_socket).await.1, json!([]));
    expect_quiet(&mut bob_socket).await;

    // Raw SQL is seen only when invalidated, and then by every follower of the entity, since
    // whose rows changed is unknown: each gets what its own query answers it.
    common::execute_sql(
        database,
        &format!("INSERT INTO \"Task\" (\"title\", \"userId\") VALUES ('raw', {ana_id})"),
    )
    .await
    .unwrap();
    expect_quiet(&mut ana_socket).await;
    database.invalidate::<Task>();
    assert_eq!(next_update(&mut ana_socket).await.1, json!(["raw"]));
    assert_eq!(
        next_update(&mut bob_socket).await,
        (bob_tasks["id"].clone(), json!([]))
    );
    expect_quiet(&mut anonymous_socket).await;

    // A result equal to the last one pushed is not pushed again.
    database.invalidate::<Task>();
    expect_quiet(&mut ana_socket).await;

    // After `unsubscribe`, no more updates, even of a change to Bob's own tasks.
    bob_socket
        .emit("unsubscribe", json!([bob_tasks["id"]]), None)
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let bob_id = user_id(&bob).await;
    common::execute_sql(
        database,
        &format!(
            "INSERT INTO \"Task\" (\"title\", \"userId\") VALUES ('raw 2', {ana_id}), ('bob raw', {bob_id})"
        ),
    )
    .await
    .unwrap();
    database.invalidate::<Task>();
    assert_eq!(
        next_update(&mut ana_socket).await.1,
        json!(["raw", "raw 2"])
    );
    expect_quiet(&mut bob_socket).await;
    server.stop().await;
}

#[tokio::test]
async fn results_follow_commits_and_scopes_on_sqlite() {
    results_follow_commits_and_scopes(None).await;
}

#[tokio::test]
async fn results_follow_commits_and_scopes_on_postgres() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    results_follow_commits_and_scopes(Some(url)).await;
}

#[tokio::test]
async fn malformed_subscriptions_are_refused_and_the_socket_stays() {
    let server = live_server(None).await;
    let mut socket = live_socket(&server, None).await;
    // Not a list: an empty answer.
    assert!(
        subscribe(&mut socket, json!("getBoard"), 1)
            .await
            .is_empty()
    );
    let answers = subscribe(
        &mut socket,
        json!([
            "getBoard",
            { "query": "getBoard", "extra": true },
            { "query": "getBoard", "input": 5 },
        ]),
        2,
    )
    .await;
    assert_eq!(answers.len(), 3);
    for answer in &answers {
        assert_eq!(answer["error"]["code"], "invalid_input", "{answer}");
        assert_eq!(answer["error"]["status"], 400);
        assert!(answer.get("id").is_none());
    }
    // The socket still works, and an unknown id to unsubscribe is ignored.
    socket.emit("unsubscribe", json!([12345, "x"]), None).await;
    let answers = subscribe(&mut socket, json!([{ "query": "getBoard" }]), 3).await;
    assert_eq!(answers[0]["data"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn a_burst_of_writes_reaches_a_follower_as_a_few_updates() {
    let server = live_server(None).await;
    let mut socket = live_socket(&server, None).await;
    let answers = subscribe(&mut socket, json!([{ "query": "getBoard" }]), 1).await;
    assert_eq!(answers[0]["data"], json!([]));
    let cards = server.state.database.table::<Card>();
    let started = std::time::Instant::now();
    let mut writes = Vec::new();
    for index in 0..200 {
        let cards = cards.clone();
        writes.push(tokio::spawn(async move {
            cards
                .create(NewCard {
                    text: format!("card {index}"),
                })
                .await
                .unwrap();
        }));
    }
    for write in writes {
        write.await.unwrap();
    }
    let elapsed = started.elapsed();
    // Count what arrives until the stream has been quiet for a dozen windows; the last update
    // holds every card.
    let mut updates = 0;
    let mut last = serde_json::Value::Null;
    while let Ok(update) =
        tokio::time::timeout(Duration::from_millis(300), socket.expect_event("update")).await
    {
        updates += 1;
        last = update[0]["data"].clone();
    }
    assert_eq!(last.as_array().map(Vec::len), Some(200));
    // One at once, then at most one per 15 ms window while the writes lasted, and the last.
    let windows = (elapsed.as_millis() / 15) as usize;
    assert!(
        updates >= 1 && updates <= windows + 2,
        "{updates} updates for 200 writes in {elapsed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_sockets_events_take_effect_in_the_order_they_arrive() {
    let server = TestServer::start_with(
        None,
        &[("APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET", "1")],
        |server| {
            server
                .user_table(User::schema().clone())
                .tables([Task::schema().clone(), Card::schema().clone()])
                .live_queries([LiveQuery::new("getBoard")
                    .entity::<Card>("Card")
                    .runs(&GET_BOARD, get_board)])
        },
    )
    .await;
    for round in 0..20 {
        // A subscribe sent the moment the namespace answers is held until its handler is in
        // place, never dropped.
        let mut socket = live_socket(&server, None).await;
        socket
            .emit("subscribe", json!([{ "query": "getBoard" }]), Some(1))
            .await;
        let first = socket.expect_ack(1).await[0][0].clone();
        assert!(first["id"].is_u64(), "round {round}: {first}");
        // At the limit of one: the unsubscribe sent first frees the place the next subscribe
        // takes, however the handlers' tasks are scheduled.
        socket.emit("unsubscribe", json!([first["id"]]), None).await;
        socket
            .emit(
                "subscribe",
                json!([{ "query": "getBoard", "input": null }]),
                Some(2),
            )
            .await;
        let second = socket.expect_ack(2).await[0][0].clone();
        assert!(second["id"].is_u64(), "round {round}: {second}");
        // Another group (another input) is over the limit.
        socket
            .emit(
                "subscribe",
                json!([{ "query": "getBoard", "input": 1 }]),
                Some(3),
            )
            .await;
        assert_eq!(
            socket.expect_ack(3).await[0][0]["error"]["code"],
            "too_many_subscriptions"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn subscriptions_count_against_the_operations_rate_limit() {
    let server = TestServer::start_with(
        None,
        &[
            ("APPC_OPERATIONS_PER_SECOND", "1"),
            ("APPC_OPERATION_BURST", "2"),
        ],
        |server| {
            server
                .user_table(User::schema().clone())
                .tables([Task::schema().clone(), Card::schema().clone()])
                .live_queries([LiveQuery::new("getBoard")
                    .entity::<Card>("Card")
                    .runs(&GET_BOARD, get_board)])
        },
    )
    .await;
    let mut socket = live_socket(&server, None).await;
    // Each item counts, whatever becomes of it (the second one's input is refused later): a
    // burst of two, then `rate_limited` until the allowance refills, and not subscribed.
    let answers = subscribe(
        &mut socket,
        json!([
            { "query": "getBoard" },
            { "query": "getBoard", "input": 1 },
            { "query": "getBoard", "input": 2 },
        ]),
        1,
    )
    .await;
    assert!(answers[0]["id"].is_u64(), "{answers:?}");
    assert_eq!(answers[2]["error"]["code"], "rate_limited", "{answers:?}");
    assert_eq!(answers[2]["error"]["status"], 429);
    assert!(answers[2].get("id").is_none());
    server.stop().await;
}
