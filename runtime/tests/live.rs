//! Live queries through a real server: sockets on the built-in `/appc-live` namespace watch
//! live queries and are told `changed` when a write to their entity commits, scoped to the
//! owning user for `scope: user`, never for a rolled-back transaction, and for raw SQL only
//! after an explicit `invalidate`. Runs on SQLite, and on PostgreSQL too when
//! `APPC_TEST_POSTGRES_URL` is set.

mod common;

use std::sync::LazyLock;
use std::time::Duration;

use appc_runtime::codegen::{
    ColumnSchema, Entity, IntoColumns, LiveQuery, ReferentialAction, SqlType, TableSchema, column,
};
use appc_runtime::{Column, DbError, Filter, Row, Value};
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
struct Card;

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
    fn from_row(_: &Row) -> Result<Self, DbError> {
        Ok(Card)
    }
}

impl IntoColumns for NewCard {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        vec![("text", self.text.into())]
    }
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
                    .entity::<Task>("Task"),
                LiveQuery::new("getBoard").entity::<Card>("Card"),
            ])
    })
    .await
}

/// A socket on `/appc-live` watching `queries`; returns it and the queries the server accepted.
async fn watcher(
    server: &TestServer,
    token: Option<&str>,
    queries: &[&str],
) -> (SocketClient, Vec<serde_json::Value>) {
    let auth = match token {
        Some(token) => json!({ "token": token }),
        None => json!({}),
    };
    let (mut client, answer) = SocketClient::connect(server.address, "/appc-live", auth).await;
    assert!(matches!(answer, Packet::Connect(_)), "{answer:?}");
    client.emit("watch", json!(queries), Some(1)).await;
    let ack = client.expect_ack(1).await;
    let accepted = ack[0].as_array().cloned().unwrap_or_default();
    (client, accepted)
}

async fn expect_changed(client: &mut SocketClient, entity: &str) {
    let data = client.expect_event("changed").await;
    assert_eq!(data, [json!(entity)]);
}

/// No `changed` arrives within a few windows.
async fn expect_quiet(client: &mut SocketClient) {
    let outcome =
        tokio::time::timeout(Duration::from_millis(300), client.expect_event("changed")).await;
    assert!(outcome.is_err(), "unexpected notification: {outcome:?}");
}

async fn user_id(user: &serde_json::Value) -> i64 {
    user["id"].as_i64().expect("user id")
}

async fn notifications_follow_commits_and_scopes(database_url: Option<String>) {
    let server = live_server(database_url).await;
    let (ana_token, ana) = signup(&server, "ana", "correct horse battery").await;
    let (bob_token, _) = signup(&server, "bob", "correct horse battery").await;
    let ana_id = user_id(&ana).await;
    let (mut ana_socket, accepted) =
        watcher(&server, Some(&ana_token), &["getMyTasks", "getBoard"]).await;
    assert_eq!(accepted, [json!("getMyTasks"), json!("getBoard")]);
    let (mut bob_socket, _) = watcher(&server, Some(&bob_token), &["getMyTasks", "getBoard"]).await;
    // Anonymous: the `auth: true` query is not watched; unknown names are ignored.
    let (mut anonymous_socket, accepted) =
        watcher(&server, None, &["getMyTasks", "getBoard", "getNothing"]).await;
    assert_eq!(accepted, [json!("getBoard")]);
    let database = &server.state.database;

    // An autocommit write to the shared board: everyone watching it.
    database
        .table::<Card>()
        .create(NewCard {
            text: "hello".into(),
        })
        .await
        .unwrap();
    for socket in [&mut ana_socket, &mut bob_socket, &mut anonymous_socket] {
        expect_changed(socket, "Card").await;
    }

    // A rolled-back transaction tells nobody; a committed one tells after the commit.
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
    expect_changed(&mut bob_socket, "Card").await;
    expect_changed(&mut ana_socket, "Card").await;
    expect_changed(&mut anonymous_socket, "Card").await;

    // Ana's own task: Ana's sockets only, on create, update and delete.
    let tasks = database.table::<Task>();
    let task = tasks
        .create(NewTask {
            title: "private".into(),
            user_id: ana_id,
        })
        .await
        .unwrap();
    expect_changed(&mut ana_socket, "Task").await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    tasks
        .update(
            task.id,
            TaskUpdate {
                title: Some("still private".into()),
            },
        )
        .await
        .unwrap();
    expect_changed(&mut ana_socket, "Task").await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        tasks
            .delete_many(Task::TITLE.eq("still private"))
            .await
            .unwrap(),
        1
    );
    expect_changed(&mut ana_socket, "Task").await;
    expect_quiet(&mut bob_socket).await;

    // Raw SQL is seen only when invalidated, and then by every watcher of the entity, since
    // whose rows changed is unknown.
    common::execute_sql(
        database,
        &format!("INSERT INTO \"Task\" (\"title\", \"userId\") VALUES ('raw', {ana_id})"),
    )
    .await
    .unwrap();
    expect_quiet(&mut ana_socket).await;
    database.invalidate::<Task>();
    expect_changed(&mut ana_socket, "Task").await;
    expect_changed(&mut bob_socket, "Task").await;
    expect_quiet(&mut anonymous_socket).await;

    // Watching nothing leaves the rooms.
    bob_socket.emit("watch", json!([]), Some(2)).await;
    assert_eq!(bob_socket.expect_ack(2).await, [json!([])]);
    tasks.delete_many(Filter::every_row()).await.unwrap();
    expect_changed(&mut ana_socket, "Task").await;
    expect_quiet(&mut bob_socket).await;
    server.stop().await;
}

#[tokio::test]
async fn notifications_follow_commits_and_scopes_on_sqlite() {
    notifications_follow_commits_and_scopes(None).await;
}

#[tokio::test]
async fn notifications_follow_commits_and_scopes_on_postgres() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    notifications_follow_commits_and_scopes(Some(url)).await;
}

#[tokio::test]
async fn a_burst_of_writes_reaches_a_watcher_as_a_few_notifications() {
    let server = live_server(None).await;
    let (mut socket, _) = watcher(&server, None, &["getBoard"]).await;
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
    // Count what arrives until the stream has been quiet for a few windows.
    let mut notifications = 0;
    while tokio::time::timeout(Duration::from_millis(300), socket.expect_event("changed"))
        .await
        .is_ok()
    {
        notifications += 1;
    }
    // One at once, then at most one per 50 ms window while the writes lasted, and the last.
    let windows = (elapsed.as_millis() / 50) as usize;
    assert!(
        notifications >= 1 && notifications <= windows + 2,
        "{notifications} notifications for 200 writes in {elapsed:?}"
    );
    server.stop().await;
}
