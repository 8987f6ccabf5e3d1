//! The hub without a server: which entities a change concerns, who may join which group, and
//! when groups are computed and pushed, on tokio's paused clock with a query runner that
//! counts its calls.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use socketioxide::socket::Sid;

use super::affected::{Affected, WatchedTables};
use super::groups::Refusal;
use super::*;
use crate::db::{ColumnSchema, ReferentialAction, SqlType};

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
    let mut query = LiveQuery::new(name);
    query.entities.push((entity.to_owned(), entity.to_owned()));
    query
}

/// Answers every call with how many calls it has answered so far (a result that changes on
/// every computation), or with the fixed answer it was given.
#[derive(Default)]
struct CountingRunner {
    calls: AtomicUsize,
    fixed: Mutex<Option<serde_json::Value>>,
}

impl QueryRunner for CountingRunner {
    fn run(
        &self,
        query: &LiveQuery,
        user: Option<Arc<AuthUser>>,
        input: Arc<str>,
    ) -> BoxFuture<'static, Result<serde_json::Value, HttpError>> {
        let input: serde_json::Value = serde_json::from_str(&input).unwrap();
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer = self.fixed.lock().unwrap().clone().unwrap_or_else(|| {
            serde_json::json!({
                "query": query.name,
                "user": user.map(|user| user.id().to_string()),
                "input": input,
                "call": call,
            })
        });
        Box::pin(async move { Ok(answer) })
    }
}

impl CountingRunner {
    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Records every update with the (paused) time it was sent at.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Update, tokio::time::Instant)>>);

impl UpdateSender for Recorder {
    fn send(&self, update: Update) {
        self.0
            .lock()
            .unwrap()
            .push((update, tokio::time::Instant::now()));
    }
}

impl Recorder {
    fn ids(&self) -> Vec<GroupId> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(update, _)| update.id)
            .collect()
    }
}

struct Fixture {
    tables: WatchedTables,
    groups: Arc<Groups>,
    runner: Arc<CountingRunner>,
    recorder: Arc<Recorder>,
}

impl Fixture {
    fn new(window: Duration, per_socket: usize) -> Self {
        let queries = vec![
            query("getTasks", "Task").auth_required().scoped_to_user(),
            query("getNotes", "Note"),
            query("getAllTasks", "Task"),
        ];
        let tables = [user_table(), task_table(), note_table()];
        let tables: Vec<&TableSchema> = tables.iter().collect();
        let read: Vec<(String, String)> = queries
            .iter()
            .flat_map(|query| query.entities.clone())
            .collect();
        let watched = WatchedTables::new(
            read.iter()
                .map(|(entity, table)| (entity.as_str(), table.as_str())),
            &tables,
            Some("User"),
        );
        let runner = Arc::new(CountingRunner::default());
        let recorder = Arc::new(Recorder::default());
        Fixture {
            tables: watched,
            groups: Groups::new(
                queries,
                runner.clone(),
                recorder.clone(),
                window,
                per_socket,
            ),
            runner,
            recorder,
        }
    }

    fn commit(&self, change: TableChange) {
        self.groups.changed(&self.tables.affected(&[change]));
    }

    /// Joins and takes the first result, as a `subscribe` does.
    async fn subscribe(
        &self,
        socket: Sid,
        query: &str,
        input: serde_json::Value,
        user: Option<&Arc<AuthUser>>,
    ) -> Result<Update, Refusal> {
        let joined = self.groups.join(socket, query, input, user)?;
        Ok(self.groups.first_result(&joined).await)
    }
}

fn user(id: i64) -> Arc<AuthUser> {
    Arc::new(AuthUser::with_id_for_tests(id))
}

fn change(table: &str, owners: &[&str]) -> TableChange {
    TableChange {
        table: table.to_owned(),
        deleted: false,
        owners: Some(owners.iter().map(|owner| (*owner).to_owned()).collect()),
    }
}

/// Lets the spawned refreshers run (the clock is paused, so no window passes).
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[test]
fn a_change_concerns_its_entity_with_its_owners_and_a_users_deletion_their_tasks() {
    let fixture = Fixture::new(DEFAULT_WINDOW, 100);
    let tables = &fixture.tables;
    assert_eq!(
        tables.affected(&[change("Task", &["7"])]),
        [Affected {
            entity: "Task".to_owned(),
            owners: Some(vec!["7".to_owned()])
        }]
    );
    assert!(!tables.watches("Other"));
    assert!(tables.affected(&[change("Other", &[])]).is_empty());
    // A user's deletion cascades into their tasks, with them as the owner; an update does not.
    assert!(tables.watches("User"));
    assert_eq!(tables.owner_schema("User").unwrap().columns[0].name, "id");
    let deletion = TableChange {
        deleted: true,
        ..change("User", &["7"])
    };
    assert_eq!(
        tables.affected(&[deletion]),
        [Affected {
            entity: "Task".to_owned(),
            owners: Some(vec!["7".to_owned()])
        }]
    );
    assert!(tables.affected(&[change("User", &["7"])]).is_empty());
}

#[tokio::test(start_paused = true)]
async fn sockets_of_one_user_share_a_group_and_other_users_or_inputs_do_not() {
    let fixture = Fixture::new(DEFAULT_WINDOW, 100);
    let (alice, bob) = (user(1), user(2));
    let (tab1, tab2, tab3) = (Sid::new(), Sid::new(), Sid::new());
    let first = fixture
        .subscribe(tab1, "getTasks", serde_json::Value::Null, Some(&alice))
        .await
        .unwrap();
    let second = fixture
        .subscribe(tab2, "getTasks", serde_json::Value::Null, Some(&alice))
        .await
        .unwrap();
    assert_eq!(first.id, second.id);
    // Nothing changed in between: the second tab got the first one's result, not a new call.
    assert_eq!(fixture.runner.calls(), 1);
    assert_eq!(first.data, second.data);
    assert_eq!(first.data.as_ref().unwrap()["user"], "1");
    let bobs = fixture
        .subscribe(tab3, "getTasks", serde_json::Value::Null, Some(&bob))
        .await
        .unwrap();
    assert_ne!(bobs.id, first.id);
    assert_eq!(bobs.data.as_ref().unwrap()["user"], "2");
    // Inputs meet as canonical JSON: key order does not split a group.
    let one = fixture
        .subscribe(
            tab1,
            "getNotes",
            serde_json::json!({ "a": 1, "b": 2 }),
            Some(&alice),
        )
        .await
        .unwrap();
    let other_order: serde_json::Value = serde_json::from_str(r#"{ "b": 2, "a": 1 }"#).unwrap();
    let same = fixture
        .subscribe(tab2, "getNotes", other_order, Some(&alice))
        .await
        .unwrap();
    assert_eq!(one.id, same.id);
    let different = fixture
        .subscribe(
            tab2,
            "getNotes",
            serde_json::json!({ "a": 2 }),
            Some(&alice),
        )
        .await
        .unwrap();
    assert_ne!(different.id, one.id);
}

#[tokio::test(start_paused = true)]
async fn unknown_queries_anonymous_sockets_on_auth_queries_and_too_many_groups_are_refused() {
    let fixture = Fixture::new(DEFAULT_WINDOW, 2);
    let socket = Sid::new();
    let refused = |query: &str, user: Option<&Arc<AuthUser>>| {
        fixture
            .groups
            .join(socket, query, serde_json::Value::Null, user)
            .err()
    };
    assert_eq!(
        refused("nope", None),
        Some(Refusal::UnknownQuery("nope".to_owned()))
    );
    assert_eq!(
        refused("getTasks", None),
        Some(Refusal::Unauthorized("getTasks".to_owned()))
    );
    let alice = user(1);
    for page in 0..2 {
        fixture
            .subscribe(socket, "getNotes", serde_json::json!(page), Some(&alice))
            .await
            .unwrap();
    }
    // At the limit: a new group is refused, one already followed is not counted twice.
    let refusal = fixture
        .subscribe(socket, "getNotes", serde_json::json!(2), Some(&alice))
        .await
        .unwrap_err();
    assert_eq!(refusal, Refusal::TooMany { limit: 2 });
    assert_eq!(refusal.to_error_body().code, "too_many_subscriptions");
    assert!(
        fixture
            .subscribe(socket, "getNotes", serde_json::json!(1), Some(&alice))
            .await
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn a_scoped_group_is_refreshed_by_its_users_rows_only() {
    let fixture = Fixture::new(DEFAULT_WINDOW, 100);
    let (alice, bob) = (user(1), user(2));
    let alices = fixture
        .subscribe(
            Sid::new(),
            "getTasks",
            serde_json::Value::Null,
            Some(&alice),
        )
        .await
        .unwrap();
    let bobs = fixture
        .subscribe(Sid::new(), "getTasks", serde_json::Value::Null, Some(&bob))
        .await
        .unwrap();
    let everyones = fixture
        .subscribe(
            Sid::new(),
            "getAllTasks",
            serde_json::Value::Null,
            Some(&bob),
        )
        .await
        .unwrap();
    fixture.commit(change("Task", &["1"]));
    settle().await;
    let mut ids = fixture.recorder.ids();
    ids.sort_unstable();
    assert_eq!(ids, [alices.id, everyones.id]);
    // Owners unknown (raw SQL): every scoped group of the entity.
    tokio::time::sleep(DEFAULT_WINDOW).await;
    fixture.recorder.0.lock().unwrap().clear();
    fixture.commit(TableChange::unknown_owners("Task", false));
    settle().await;
    let mut ids = fixture.recorder.ids();
    ids.sort_unstable();
    assert_eq!(ids, [alices.id, bobs.id, everyones.id]);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_a_thousand_changes_in_100_ms_gives_a_group_at_most_eight_updates() {
    let window = DEFAULT_WINDOW;
    let fixture = Fixture::new(window, 100);
    fixture
        .subscribe(Sid::new(), "getNotes", serde_json::Value::Null, None)
        .await
        .unwrap();
    let calls_before = fixture.runner.calls();
    let started = tokio::time::Instant::now();
    // Ten changes per millisecond (tokio's timers count whole milliseconds).
    for index in 0..1000 {
        fixture.commit(change("Note", &[]));
        if index % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let last_change = tokio::time::Instant::now();
    assert!(last_change - started >= Duration::from_millis(100));
    tokio::time::sleep(window * 3).await;
    let sends = fixture.recorder.0.lock().unwrap().clone();
    assert!(
        (7..=9).contains(&sends.len()),
        "expected about 100 ms / 15 ms updates, got {}",
        sends.len()
    );
    assert_eq!(fixture.runner.calls() - calls_before, sends.len());
    // The first at once, none closer than the window, one after the last change, and newer
    // versions each time.
    assert_eq!(sends[0].1, started);
    for pair in sends.windows(2) {
        assert!(pair[1].1 - pair[0].1 >= window);
        assert!(pair[1].0.version > pair[0].0.version);
    }
    assert!(sends.last().unwrap().1 >= last_change);
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_result_is_not_pushed_again_and_an_empty_group_is_not_computed() {
    let fixture = Fixture::new(DEFAULT_WINDOW, 100);
    *fixture.runner.fixed.lock().unwrap() = Some(serde_json::json!(["same"]));
    let socket = Sid::new();
    let first = fixture
        .subscribe(socket, "getNotes", serde_json::Value::Null, None)
        .await
        .unwrap();
    // The first computation after an acknowledgement is pushed even when equal (another
    // socket may hold an older result); the next equal one is not.
    fixture.commit(change("Note", &[]));
    settle().await;
    tokio::time::sleep(DEFAULT_WINDOW).await;
    fixture.commit(change("Note", &[]));
    settle().await;
    tokio::time::sleep(DEFAULT_WINDOW).await;
    assert_eq!(fixture.recorder.ids(), [first.id]);
    assert_eq!(fixture.runner.calls(), 3);
    // Once its last socket leaves, the group is gone and no change computes it.
    assert_eq!(fixture.groups.leave(socket, &[first.id]), [first.id]);
    assert_eq!(fixture.groups.counts(), (0, 0));
    fixture.commit(change("Note", &[]));
    settle().await;
    assert_eq!(fixture.runner.calls(), 3);
    // A disconnected socket leaves every group it was in.
    let socket = Sid::new();
    for page in 0..3 {
        fixture
            .subscribe(socket, "getNotes", serde_json::json!(page), None)
            .await
            .unwrap();
    }
    assert_eq!(fixture.groups.counts(), (3, 1));
    fixture.groups.forget(socket);
    assert_eq!(fixture.groups.counts(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_socket_joining_while_changes_are_pending_gets_a_fresh_result() {
    let fixture = Fixture::new(DEFAULT_WINDOW, 100);
    let first = fixture
        .subscribe(Sid::new(), "getNotes", serde_json::Value::Null, None)
        .await
        .unwrap();
    fixture.commit(change("Note", &[]));
    // The group is dirty or refreshing: the cached result may be stale, so it is computed.
    let second = fixture
        .subscribe(Sid::new(), "getNotes", serde_json::Value::Null, None)
        .await
        .unwrap();
    assert_eq!(second.id, first.id);
    assert!(second.version > first.version);
    assert_ne!(second.data, first.data);
}

#[tokio::test(start_paused = true)]
async fn after_missed_changes_every_group_is_computed_and_pushed_where_it_changed() {
    let fixture = Fixture::new(DEFAULT_WINDOW, 100);
    let notes = fixture
        .subscribe(Sid::new(), "getNotes", serde_json::Value::Null, None)
        .await
        .unwrap();
    let tasks = fixture
        .subscribe(
            Sid::new(),
            "getTasks",
            serde_json::Value::Null,
            Some(&user(1)),
        )
        .await
        .unwrap();
    let calls = fixture.runner.calls();
    fixture.groups.refresh_all();
    settle().await;
    assert_eq!(fixture.runner.calls(), calls + 2);
    let mut ids = fixture.recorder.ids();
    ids.sort_unstable();
    assert_eq!(ids, [notes.id, tasks.id]);
}

/// Takes 10 ms per call and records how many calls ran at once at most.
#[derive(Default)]
struct SlowRunner {
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl QueryRunner for SlowRunner {
    fn run(
        &self,
        _: &LiveQuery,
        _: Option<Arc<AuthUser>>,
        input: Arc<str>,
    ) -> BoxFuture<'static, Result<serde_json::Value, HttpError>> {
        let input: serde_json::Value = serde_json::from_str(&input).unwrap();
        let (running, most) = (self.running.clone(), self.most.clone());
        Box::pin(async move {
            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            Ok(input)
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_change_to_many_groups_computes_a_few_at_a_time() {
    let runner = Arc::new(SlowRunner::default());
    let recorder = Arc::new(Recorder::default());
    let groups = Groups::new(
        [query("getNotes", "Note")],
        runner.clone(),
        recorder.clone(),
        DEFAULT_WINDOW,
        100,
    );
    let socket = Sid::new();
    for page in 0..50 {
        let joined = groups
            .join(socket, "getNotes", serde_json::json!(page), None)
            .unwrap();
        groups.first_result(&joined).await;
    }
    runner.most.store(0, std::sync::atomic::Ordering::SeqCst);
    groups.changed(&[Affected {
        entity: "Note".to_owned(),
        owners: None,
    }]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let slots = groups::COMPUTATIONS_PER_CORE
        * std::thread::available_parallelism().map_or(1, |cores| cores.get());
    assert_eq!(recorder.ids().len(), 50, "every group was computed");
    let most = runner.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        most > 1 && most <= slots,
        "{most} computations at once, {slots} allowed"
    );
}
