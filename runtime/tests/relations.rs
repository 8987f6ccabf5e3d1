//! Relations loaded in batches (`Table::load`, `Table::find_many_with` and their transaction
//! twins) against a real SQLite file and, when `APPC_TEST_POSTGRES_URL` is set, a real
//! PostgreSQL server, with the same results on both: to-one with NULL and dangling keys,
//! to-many with zero, one and many children in primary key order, composite keys, keys beyond
//! one query's parameters, and the number of statements each load sends.
//!
//! The statements are counted from what sqlx itself logs for every statement it executes
//! (`sqlx::query` tracing events), so the count is what reached the database. The tests of this
//! file run one at a time (`serial`), so that each counts only its own statements.

mod common;

use std::sync::{LazyLock, Mutex, OnceLock};

use appc_runtime::codegen::{
    ColumnSchema, Entity, IntoColumns, SqlType, TableSchema, column, key_value, migrate, relation,
};
use appc_runtime::{
    Column, Database, DbError, MAX_RELATION_KEYS_PER_QUERY, Query, Relation, Row, ToMany, ToOne,
    Value,
};
use common::{Message, NewMessage, NewUser, User};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

// ---- Relations, as the generator emits them --------------------------------------------------

impl Message {
    const AUTHOR: Relation<Message, User, ToOne> =
        relation("Message.author", &["authorId"], &["id"], |message| {
            vec![key_value(&message.author_id)]
        });
}

impl User {
    const MESSAGES: Relation<User, Message, ToMany> =
        relation("User.messages", &["id"], &["authorId"], |user| {
            vec![key_value(&user.id)]
        });
}

/// A room is known by its owner and name together (`@@unique([owner, name])`), and posts point at
/// it with both: a composite key.
#[derive(Debug, Clone, PartialEq)]
struct Room {
    id: i64,
    owner: i64,
    name: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Post {
    id: i64,
    title: String,
    room_owner: Option<i64>,
    room_name: Option<String>,
}

struct NewRoom {
    owner: i64,
    name: String,
}

struct NewPost {
    title: String,
    room_owner: Option<i64>,
    room_name: Option<String>,
}

/// Neither test entity is ever updated.
struct NoChanges;

static ROOM_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("Room")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("owner", SqlType::Integer))
        .column(ColumnSchema::new("name", SqlType::Text))
        .unique_index(&["owner", "name"])
});

static POST_SCHEMA: LazyLock<TableSchema> = LazyLock::new(|| {
    TableSchema::new("Post")
        .column(common::autoincrement_id())
        .column(ColumnSchema::new("title", SqlType::Text))
        .column(ColumnSchema::new("roomOwner", SqlType::Integer).nullable())
        .column(ColumnSchema::new("roomName", SqlType::Text).nullable())
        .index(&["roomOwner", "roomName"])
});

impl Entity for Room {
    type Id = i64;
    type New = NewRoom;
    type Update = NoChanges;

    fn schema() -> &'static TableSchema {
        &ROOM_SCHEMA
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Room {
            id: row.get("id")?,
            owner: row.get("owner")?,
            name: row.get("name")?,
        })
    }
}

impl Entity for Post {
    type Id = i64;
    type New = NewPost;
    type Update = NoChanges;

    fn schema() -> &'static TableSchema {
        &POST_SCHEMA
    }

    fn from_row(row: &Row) -> Result<Self, DbError> {
        Ok(Post {
            id: row.get("id")?,
            title: row.get("title")?,
            room_owner: row.get("roomOwner")?,
            room_name: row.get("roomName")?,
        })
    }
}

impl IntoColumns for NewRoom {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        vec![("owner", self.owner.into()), ("name", self.name.into())]
    }
}

impl IntoColumns for NewPost {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        vec![
            ("title", self.title.into()),
            ("roomOwner", self.room_owner.into()),
            ("roomName", self.room_name.into()),
        ]
    }
}

impl IntoColumns for NoChanges {
    fn into_columns(self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
}

impl Post {
    const ID: Column<Post, i64> = column("id");
    const ROOM: Relation<Post, Room, ToOne> = relation(
        "Post.room",
        &["roomOwner", "roomName"],
        &["owner", "name"],
        |post| vec![key_value(&post.room_owner), key_value(&post.room_name)],
    );
}

impl Room {
    const POSTS: Relation<Room, Post, ToMany> = relation(
        "Room.posts",
        &["owner", "name"],
        &["roomOwner", "roomName"],
        |room| vec![key_value(&room.owner), key_value(&room.name)],
    );
}

// ---- Counting the statements sqlx sends ------------------------------------------------------

/// Every statement sqlx has executed since the last [`take_statements`], as it logs them.
static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records the SQL of each `sqlx::query` event: the whole statement when sqlx logs it apart
/// from its summary, else the summary (then the statement is that short).
struct StatementRecorder;

impl<S: tracing::Subscriber> Layer<S> for StatementRecorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields {
            summary: String,
            statement: String,
        }
        impl tracing::field::Visit for Fields {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                match field.name() {
                    "summary" => self.summary = value.to_owned(),
                    "db.statement" => self.statement = value.trim().to_owned(),
                    _ => {}
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "summary" {
                    self.summary = format!("{value:?}").trim_matches('"').to_owned();
                }
            }
        }
        let mut fields = Fields {
            summary: String::new(),
            statement: String::new(),
        };
        event.record(&mut fields);
        let sql = if fields.statement.is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        STATEMENTS.lock().unwrap().push(sql);
    }
}

/// Installs the recorder once for the whole test binary (the SQLite driver runs statements on
/// its own threads, so a thread-local subscriber would miss them).
fn record_statements() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(
            StatementRecorder
                .with_filter(Targets::new().with_target("sqlx::query", tracing::Level::TRACE)),
        );
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
    });
}

/// The statements executed since the last call.
fn take_statements() -> Vec<String> {
    std::mem::take(&mut *STATEMENTS.lock().unwrap())
}

/// The queries `operation` sends: the statements it executes, without the set-up statements
/// (SQLite's `PRAGMA`s) of a connection the pool happens to open on the way.
async fn statements_of<T>(operation: impl Future<Output = T>) -> (T, Vec<String>) {
    take_statements();
    let outcome = operation.await;
    let queries = take_statements()
        .into_iter()
        .filter(|statement| !statement.starts_with("PRAGMA"))
        .collect();
    (outcome, queries)
}

/// One test at a time, so that the statements recorded are the running test's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- Set-up ----------------------------------------------------------------------------------

/// A fresh, migrated database of every available system. The temporary directory keeps the
/// SQLite file alive for the test's duration.
async fn migrated_databases() -> (Vec<Database>, tempfile::TempDir) {
    record_statements();
    let (databases, directory) = common::fresh_databases().await;
    for database in &databases {
        migrate(
            database,
            &[
                User::schema(),
                Message::schema(),
                Room::schema(),
                Post::schema(),
            ],
        )
        .await
        .unwrap();
    }
    (databases, directory)
}

async fn create_user(database: &Database, name: &str) -> User {
    database
        .table::<User>()
        .create(NewUser {
            username: name.to_owned(),
            display_name: None,
        })
        .await
        .unwrap()
}

async fn create_message(database: &Database, text: &str, author: Option<&User>) -> Message {
    database
        .table::<Message>()
        .create(NewMessage {
            text: text.to_owned(),
            room: None,
            author_id: author.map(|user| user.id),
            metadata: None,
        })
        .await
        .unwrap()
}

fn names(users: &[Option<User>]) -> Vec<Option<&str>> {
    users
        .iter()
        .map(|user| user.as_ref().map(|user| user.username.as_str()))
        .collect()
}

fn texts(messages: &[Message]) -> Vec<&str> {
    messages
        .iter()
        .map(|message| message.text.as_str())
        .collect()
}

// ---- Tests -----------------------------------------------------------------------------------

#[tokio::test]
async fn to_one_gives_each_row_its_author_or_none_for_null_and_dangling_keys() {
    let _serial = SERIAL.lock().await;
    let (databases, _directory) = migrated_databases().await;
    for database in databases {
        let system = database.system();
        let ann = create_user(&database, "ann").await;
        let bob = create_user(&database, "bob").await;
        let first = create_message(&database, "first", Some(&ann)).await;
        create_message(&database, "anonymous", None).await;
        create_message(&database, "from bob", Some(&bob)).await;
        create_message(&database, "ann again", Some(&ann)).await;
        let messages = database.table::<Message>();

        let (loaded, statements) = statements_of(
            messages.find_many_with(Query::new().order_by(Message::TEXT.asc()), Message::AUTHOR),
        )
        .await;
        let loaded = loaded.unwrap();
        let by_text: Vec<(&str, Option<&str>)> = loaded
            .iter()
            .map(|(message, author)| {
                (
                    message.text.as_str(),
                    author.as_ref().map(|user| user.username.as_str()),
                )
            })
            .collect();
        assert_eq!(
            by_text,
            [
                ("ann again", Some("ann")),
                ("anonymous", None),
                ("first", Some("ann")),
                ("from bob", Some("bob")),
            ],
            "{system:?}"
        );
        assert_eq!(
            statements.len(),
            2,
            "{system:?}: one for the messages, one for their authors: {statements:#?}"
        );
        // The authors' query asks for each distinct author once.
        assert!(
            statements[1].contains(r#"FROM "User" WHERE "id" IN ("#),
            "{statements:#?}"
        );

        // A key pointing at no row (the row was deleted, or the caller made the message up)
        // gives `None`, like a NULL key; a row with a live key still gets its author.
        let dangling = Message {
            author_id: Some(ann.id + bob.id + 1000),
            ..first.clone()
        };
        let authors = messages.load(&[dangling, first], Message::AUTHOR).await;
        assert_eq!(names(&authors.unwrap()), [None, Some("ann")], "{system:?}");
    }
}

#[tokio::test]
async fn to_many_gives_zero_one_or_many_children_in_primary_key_order() {
    let _serial = SERIAL.lock().await;
    let (databases, _directory) = migrated_databases().await;
    for database in databases {
        let system = database.system();
        let ann = create_user(&database, "ann").await;
        let bob = create_user(&database, "bob").await;
        let cid = create_user(&database, "cid").await;
        for text in ["a1", "a2", "a3", "a4"] {
            create_message(&database, text, Some(&ann)).await;
        }
        create_message(&database, "b1", Some(&bob)).await;
        create_message(&database, "nobody's", None).await;
        let users = database.table::<User>();

        // Ann twice: a key shared by two rows gives both the same children.
        let rows = [ann.clone(), bob, cid, ann];
        let (children, statements) = statements_of(users.load(&rows, User::MESSAGES)).await;
        let children = children.unwrap();
        assert_eq!(statements.len(), 1, "{system:?}: {statements:#?}");
        assert_eq!(children.len(), 4);
        // Message ids are UUIDs: the primary key order is their text order, not insertion.
        let mut ann_sorted = children[0].clone();
        ann_sorted.sort_by(|left, right| left.id.cmp(&right.id));
        assert_eq!(
            children[0], ann_sorted,
            "{system:?}: ordered by primary key"
        );
        let mut ann_texts = texts(&children[0]);
        ann_texts.sort_unstable();
        assert_eq!(ann_texts, ["a1", "a2", "a3", "a4"], "{system:?}");
        assert_eq!(texts(&children[1]), ["b1"], "{system:?}");
        assert!(
            children[2].is_empty(),
            "{system:?}: a user without messages"
        );
        assert_eq!(children[3], children[0], "{system:?}: the same user again");

        let with_messages = users
            .find_many_with(Query::new().order_by(User::USERNAME.asc()), User::MESSAGES)
            .await
            .unwrap();
        let counts: Vec<(&str, usize)> = with_messages
            .iter()
            .map(|(user, messages)| (user.username.as_str(), messages.len()))
            .collect();
        assert_eq!(counts, [("ann", 4), ("bob", 1), ("cid", 0)], "{system:?}");
    }
}

#[tokio::test]
async fn fifty_rows_take_one_query_per_relation_and_no_rows_take_none() {
    let _serial = SERIAL.lock().await;
    let (databases, _directory) = migrated_databases().await;
    for database in databases {
        let system = database.system();
        let mut users = Vec::new();
        for index in 0..10 {
            users.push(create_user(&database, &format!("user {index}")).await);
        }
        for index in 0..50 {
            // Every fifth message is anonymous; the others cycle through the users.
            let author = (index % 5 != 0).then(|| &users[index % users.len()]);
            create_message(&database, &format!("message {index:02}"), author).await;
        }
        let messages = database.table::<Message>();
        let latest_fifty = Query::new().order_by(Message::CREATED_AT.desc()).limit(50);

        let (history, statements) =
            statements_of(messages.find_many_with(latest_fifty.clone(), Message::AUTHOR)).await;
        let history = history.unwrap();
        assert_eq!(history.len(), 50);
        assert_eq!(
            statements.len(),
            2,
            "{system:?}: 50 messages and their authors: {statements:#?}"
        );
        for (message, author) in &history {
            assert_eq!(author.as_ref().map(|user| user.id), message.author_id);
        }

        let rows: Vec<Message> = history.into_iter().map(|(message, _)| message).collect();
        let (_, statements) = statements_of(messages.load(&rows, Message::AUTHOR)).await;
        assert_eq!(statements.len(), 1, "{system:?}: {statements:#?}");
        let (_, statements) =
            statements_of(database.table::<User>().load(&users, User::MESSAGES)).await;
        assert_eq!(statements.len(), 1, "{system:?}: {statements:#?}");

        // Nothing to look up, nothing sent: no rows, or only NULL keys.
        let (outputs, statements) = statements_of(messages.load(&[], Message::AUTHOR)).await;
        assert!(outputs.unwrap().is_empty());
        assert_eq!(statements, Vec::<String>::new(), "{system:?}: no rows");
        let anonymous: Vec<Message> = rows
            .into_iter()
            .filter(|message| message.author_id.is_none())
            .collect();
        assert_eq!(anonymous.len(), 10);
        let (outputs, statements) = statements_of(messages.load(&anonymous, Message::AUTHOR)).await;
        assert_eq!(names(&outputs.unwrap()), [None; 10]);
        assert_eq!(
            statements,
            Vec::<String>::new(),
            "{system:?}: only NULL keys"
        );
    }
}

#[tokio::test]
async fn more_distinct_keys_than_one_query_carries_are_loaded_in_chunks() {
    let _serial = SERIAL.lock().await;
    let (databases, _directory) = migrated_databases().await;
    for database in databases {
        let system = database.system();
        let ann = create_user(&database, "ann").await;
        let template = create_message(&database, "template", Some(&ann)).await;
        // One more distinct author id than one query may carry; only the first exists. The
        // messages are built here, not stored: `load` takes any rows.
        let rows: Vec<Message> = (0..=MAX_RELATION_KEYS_PER_QUERY as i64)
            .map(|offset| Message {
                author_id: Some(ann.id + offset),
                ..template.clone()
            })
            .collect();
        let (authors, statements) =
            statements_of(database.table::<Message>().load(&rows, Message::AUTHOR)).await;
        let authors = authors.unwrap();
        assert_eq!(statements.len(), 2, "{system:?}: two chunks");
        assert_eq!(authors.len(), MAX_RELATION_KEYS_PER_QUERY + 1);
        assert_eq!(authors[0].as_ref().map(|user| user.id), Some(ann.id));
        assert!(authors[1..].iter().all(Option::is_none), "{system:?}");
    }
}

#[tokio::test]
async fn composite_keys_match_on_every_column() {
    let _serial = SERIAL.lock().await;
    let (databases, _directory) = migrated_databases().await;
    for database in databases {
        let system = database.system();
        let rooms = database.table::<Room>();
        let posts = database.table::<Post>();
        let lobby_of_1 = rooms
            .create(NewRoom {
                owner: 1,
                name: "lobby".into(),
            })
            .await
            .unwrap();
        let lobby_of_2 = rooms
            .create(NewRoom {
                owner: 2,
                name: "lobby".into(),
            })
            .await
            .unwrap();
        for (title, owner, name) in [
            ("hello", Some(1), Some("lobby")),
            ("hi", Some(2), Some("lobby")),
            ("again", Some(1), Some("lobby")),
            // Half a key is no key.
            ("half", Some(1), None),
            ("nowhere", Some(3), Some("lobby")),
        ] {
            posts
                .create(NewPost {
                    title: title.into(),
                    room_owner: owner,
                    room_name: name.map(str::to_owned),
                })
                .await
                .unwrap();
        }

        let (with_rooms, statements) =
            statements_of(posts.find_many_with(Query::new().order_by(Post::ID.asc()), Post::ROOM))
                .await;
        let room_ids: Vec<(&str, Option<i64>)> = with_rooms
            .as_ref()
            .unwrap()
            .iter()
            .map(|(post, room)| (post.title.as_str(), room.as_ref().map(|room| room.id)))
            .collect();
        assert_eq!(
            room_ids,
            [
                ("hello", Some(lobby_of_1.id)),
                ("hi", Some(lobby_of_2.id)),
                ("again", Some(lobby_of_1.id)),
                ("half", None),
                ("nowhere", None),
            ],
            "{system:?}"
        );
        assert_eq!(statements.len(), 2, "{system:?}: {statements:#?}");

        let room_posts = rooms
            .load(&[lobby_of_2, lobby_of_1], Room::POSTS)
            .await
            .unwrap();
        let titles: Vec<Vec<&str>> = room_posts
            .iter()
            .map(|posts| posts.iter().map(|post| post.title.as_str()).collect())
            .collect();
        assert_eq!(titles, [vec!["hi"], vec!["hello", "again"]], "{system:?}");
    }
}

#[tokio::test]
async fn relations_load_inside_a_transaction_and_see_its_writes() {
    let _serial = SERIAL.lock().await;
    let (databases, _directory) = migrated_databases().await;
    for database in databases {
        let system = database.system();
        let ann = create_user(&database, "ann").await;
        let mut transaction = database.begin().await.unwrap();
        let dan = transaction
            .table::<User>()
            .create(NewUser {
                username: "dan".into(),
                display_name: None,
            })
            .await
            .unwrap();
        for (text, author) in [("by dan", &dan), ("by ann", &ann)] {
            transaction
                .table::<Message>()
                .create(NewMessage {
                    text: text.into(),
                    room: None,
                    author_id: Some(author.id),
                    metadata: None,
                })
                .await
                .unwrap();
        }
        let with_authors = transaction
            .table::<Message>()
            .find_many_with(Query::new().order_by(Message::TEXT.asc()), Message::AUTHOR)
            .await
            .unwrap();
        let pairs: Vec<(&str, Option<&str>)> = with_authors
            .iter()
            .map(|(message, author)| {
                (
                    message.text.as_str(),
                    author.as_ref().map(|user| user.username.as_str()),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [("by ann", Some("ann")), ("by dan", Some("dan"))],
            "{system:?}"
        );
        let dans_messages = transaction
            .table::<User>()
            .load(std::slice::from_ref(&dan), User::MESSAGES)
            .await
            .unwrap();
        assert_eq!(texts(&dans_messages[0]), ["by dan"], "{system:?}");
        transaction.rollback().await.unwrap();

        // Outside, after the rollback, neither dan nor the messages exist.
        let after = database
            .table::<User>()
            .load(&[ann, dan], User::MESSAGES)
            .await
            .unwrap();
        assert_eq!(after, [Vec::<Message>::new(), Vec::new()], "{system:?}");
    }
}
