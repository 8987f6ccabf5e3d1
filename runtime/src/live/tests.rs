//! The hub without a server: which rooms a change concerns, which rooms a socket may join, and
//! the coalescing bound, on tokio's paused clock.

use super::*;
use crate::db::{ColumnSchema, SqlType};

/// Records every send with the (paused) time it happened at.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String, tokio::time::Instant)>>);

impl RoomSender for Recorder {
    fn send(&self, room: String, entity: String) {
        self.0
            .lock()
            .unwrap()
            .push((room, entity, tokio::time::Instant::now()));
    }
}

impl Recorder {
    fn rooms(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(room, _, _)| room.clone())
            .collect()
    }
}

fn user_table() -> TableSchema {
    TableSchema::new("User")
        .column(ColumnSchema::new("id", SqlType::Integer).primary_key())
        .column(ColumnSchema::new("username", SqlType::Text))
}

fn task_table() -> TableSchema {
    TableSchema::new("Task")
        .column(ColumnSchema::new("id", SqlType::Integer).primary_key())
        .column(
            ColumnSchema::new("userId", SqlType::Integer)
                .references("User", "id")
                .on_delete(ReferentialAction::Cascade),
        )
}

fn note_table() -> TableSchema {
    TableSchema::new("Note").column(ColumnSchema::new("id", SqlType::Integer).primary_key())
}

fn query(name: &str, entity: &str) -> LiveQuery {
    LiveQuery {
        name: name.to_owned(),
        auth_required: false,
        scoped_to_user: false,
        entities: vec![(entity.to_owned(), entity.to_owned())],
    }
}

fn hub(window: Duration) -> (LiveHub, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let queries = vec![
        query("getTasks", "Task").auth_required().scoped_to_user(),
        query("getNotes", "Note"),
        query("getAllTasks", "Task"),
    ];
    let tables = [user_table(), task_table(), note_table()];
    let tables: Vec<&TableSchema> = tables.iter().collect();
    let hub = LiveHub::with_sender(queries, &tables, Some("User"), recorder.clone(), window);
    (hub, recorder)
}

fn rooms_of(hub: &LiveHub, change: TableChange) -> Vec<String> {
    let mut rooms = Vec::new();
    hub.rooms_of(&change, &mut rooms);
    rooms.into_iter().map(|(room, _)| room).collect()
}

#[tokio::test]
async fn a_change_concerns_the_entity_room_and_its_owners_rooms_only() {
    let (hub, _) = hub(DEFAULT_WINDOW);
    let change = TableChange {
        table: "Task".to_owned(),
        deleted: false,
        owners: Some(vec!["7".to_owned()]),
    };
    assert_eq!(rooms_of(&hub, change), ["live:Task", "live:Task:user:7"]);
    // Owners unknown (raw SQL): every scoped watcher of the entity.
    assert_eq!(
        rooms_of(&hub, TableChange::unknown_owners("Task", false)),
        ["live:Task", "live:Task:users"]
    );
    // A table no live query reads concerns nobody.
    assert!(!hub.watches("Other"));
    assert!(rooms_of(&hub, TableChange::unknown_owners("Other", true)).is_empty());
}

#[tokio::test]
async fn deleting_a_user_changes_their_tasks_through_the_cascade() {
    let (hub, _) = hub(DEFAULT_WINDOW);
    assert!(hub.watches("User"), "a user deletion cascades into Task");
    let owner_schema = hub
        .owner_schema("User")
        .expect("the user table owns its rows");
    assert_eq!(owner_schema.columns[0].name, "id");
    let change = TableChange {
        table: "User".to_owned(),
        deleted: true,
        owners: Some(vec!["7".to_owned()]),
    };
    assert_eq!(rooms_of(&hub, change), ["live:Task", "live:Task:user:7"]);
    // An update of a user changes no task.
    let change = TableChange {
        table: "User".to_owned(),
        deleted: false,
        owners: Some(vec!["7".to_owned()]),
    };
    assert!(rooms_of(&hub, change).is_empty());
}

#[tokio::test]
async fn a_socket_joins_only_rooms_its_own_user_and_the_queries_allow() {
    let (hub, _) = hub(DEFAULT_WINDOW);
    let names = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
    // Anonymous: the `auth: true` query is refused, the unknown name ignored.
    let (accepted, rooms) = hub.rooms_for(None, names(&["getTasks", "getNotes", "nope"]));
    assert_eq!(accepted, ["getNotes"]);
    assert_eq!(rooms.into_iter().collect::<Vec<_>>(), ["live:Note"]);
    // A user's scoped query: their own room and the all-owners room, never another's.
    let user = UserId::Int(7);
    let (accepted, rooms) =
        hub.rooms_for(Some(&user), names(&["getTasks", "getTasks", "getAllTasks"]));
    assert_eq!(accepted, ["getTasks", "getAllTasks"]);
    assert_eq!(
        rooms.into_iter().collect::<Vec<_>>(),
        ["live:Task", "live:Task:user:7", "live:Task:users"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_a_thousand_changes_in_100_ms_sends_each_room_at_most_three_times() {
    let window = Duration::from_millis(50);
    let (hub, recorder) = hub(window);
    let started = tokio::time::Instant::now();
    // Ten changes per millisecond (tokio's timers count whole milliseconds).
    for change in 0..1000 {
        hub.committed(vec![TableChange {
            table: "Note".to_owned(),
            deleted: false,
            owners: Some(Vec::new()),
        }]);
        if change % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let last_change = tokio::time::Instant::now();
    assert!(last_change - started >= Duration::from_millis(100));
    tokio::time::sleep(window * 3).await;
    let sends = recorder.0.lock().unwrap().clone();
    assert!(
        (2..=3).contains(&sends.len()),
        "expected 2 or 3 sends, got {}",
        sends.len()
    );
    // The first at once, none closer than the window, and one after the last change.
    assert_eq!(sends[0].2, started);
    for pair in sends.windows(2) {
        assert!(pair[1].2 - pair[0].2 >= window);
    }
    assert!(sends.last().unwrap().2 >= last_change);
    assert!(
        sends
            .iter()
            .all(|(room, entity, _)| room == "live:Note" && entity == "Note")
    );
}

#[tokio::test(start_paused = true)]
async fn a_quiet_room_is_told_at_once_and_rooms_do_not_hold_each_other_back() {
    let (hub, recorder) = hub(DEFAULT_WINDOW);
    hub.committed(vec![TableChange::unknown_owners("Note", false)]);
    hub.committed(vec![TableChange {
        table: "Task".to_owned(),
        deleted: false,
        owners: Some(vec!["1".to_owned(), "2".to_owned()]),
    }]);
    assert_eq!(
        recorder.rooms(),
        [
            "live:Note",
            "live:Task",
            "live:Task:user:1",
            "live:Task:user:2"
        ]
    );
    // After a quiet window the room is forgotten and told at once again.
    tokio::time::sleep(DEFAULT_WINDOW * 2).await;
    hub.committed(vec![TableChange::unknown_owners("Note", false)]);
    assert_eq!(recorder.rooms().len(), 5);
    assert!(hub.shared.throttle.rooms.lock().unwrap().len() <= 4);
}
