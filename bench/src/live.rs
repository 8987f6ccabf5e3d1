//! The live-queries benchmark: many clients keep one live query mounted while a writer commits a
//! steady rate of writes through the app's actions; it measures the time from a write's commit to
//! the moment each client holds data that includes it, how many updates each client receives (and
//! how many HTTP refetches it had to make: none unless the server pushes an error), and the
//! server's CPU.
//!
//! Each client is what the generated web client does, in Rust: a Socket.IO connection to the
//! built-in `/appc-live` namespace with the user's token in the handshake, a `subscribe` with an
//! acknowledgement (`[{"query": "getTasks"}]`), whose answer carries the query's current result,
//! then on every `update` the result the server computed and pushed. An item that carries an
//! `error` instead of data makes the client refetch the query over HTTP, as the web client
//! surfaces the query's own answer; those refetches are counted (the server pushes none here).
//!
//! Two scenarios, chosen by `LiveQuery`:
//!
//! - `Tasks` (the default): every client is one user (1,000 tabs of one person) on the todo
//!   example's `getTasks`, so every write concerns every client and the server computes the
//!   result once per refresh for all of them. The writer alternates `createTask` (a new task) and
//!   `deleteTask` (of the task before it), so that the list stays one or two tasks long and an
//!   update costs the same all along. The state a client reads tells which write it reflects: two
//!   tasks are the state after the create of the newer one, one task the state after the delete
//!   that followed its create.
//! - `Notes`: the clients are spread over `users` users (client `i` is user `i % users`) on the
//!   shared board `getNotes`, unscoped, and the writer (the first user) adds a note with
//!   `createNote` at every tick. Every write concerns every client, and the server computes one
//!   result per user and refresh (it runs the query as each socket's own user), so this shows
//!   what distinct users cost. The example has no action that deletes a note, so the board grows
//!   by one note per write and the pushed result grows with it over the run: its figures are not
//!   comparable with the tasks scenario's, only with its own run at another number of users. The
//!   number of notes a client holds is the number of writes it reflects.
//!
//! A write's commit time is when the writer received the action's answer (the answer follows the
//! commit), so the latencies measured are slightly shorter than from the commit itself; a client
//! that sees a write before its answer reached the writer records it as immediate.
//!
//! The server runs with its per-address and per-user limits (connections, login attempts,
//! operations per second, including `subscribe`) raised out of reach: every client comes from one
//! address, the writer is one user writing 100 times a second and 1,000 tabs of one user subscribe
//! at once, and the benchmark measures capacity, not the limits meant for people.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;

use crate::operations::HttpConnection;
use crate::servers::{
    ServerKind, ServerProcess, cpu_seconds, free_loopback_port, remove_stale_database_files,
};

const JWT_SECRET: &str = "appc-bench-live-secret-of-at-least-32-bytes!";
const PASSWORD: &str = "correct horse battery staple";
/// The acknowledgement id of the client's one `subscribe`.
const SUBSCRIBE_ACK_ID: u32 = 1;

/// The live query the clients keep mounted, and so the writes the writer makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LiveQuery {
    /// `getTasks` (`scope: user`), written by `createTask` and `deleteTask`: one user only.
    Tasks,
    /// `getNotes`, the shared board, written by `createNote`: any number of users.
    Notes,
}

impl LiveQuery {
    pub fn name(self) -> &'static str {
        match self {
            LiveQuery::Tasks => "getTasks",
            LiveQuery::Notes => "getNotes",
        }
    }

    fn http_path(self) -> &'static str {
        match self {
            LiveQuery::Tasks => "/operations/get-tasks",
            LiveQuery::Notes => "/operations/get-notes",
        }
    }
}

/// What a run needs.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// The generated server of `examples/todo` (`appc build examples/todo`).
    pub appc_todo_binary: PathBuf,
    /// Where the SQLite file goes.
    pub database_directory: PathBuf,
    /// The query the clients keep mounted.
    pub query: LiveQuery,
    /// How many clients keep the query mounted.
    pub clients: usize,
    /// How many distinct users the clients are spread over (1 for `Tasks`).
    pub users: usize,
    /// Writes per second.
    pub writes_per_second: u32,
    /// How long the writes go on.
    pub duration: Duration,
    /// The server's coalescing window (`APPC_LIVE_WINDOW_MS`), when not its default.
    pub window: Option<Duration>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LiveResult {
    pub query: LiveQuery,
    pub clients: usize,
    pub users: usize,
    pub writes_per_second_asked: u32,
    pub writes: u64,
    pub seconds: f64,
    /// From a write's commit to a client holding data that includes it, over every client and
    /// every write.
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Writes some client never saw reflected by the end of the run.
    pub missed: u64,
    pub updates_per_client_per_second: f64,
    /// HTTP refetches forced by an `error` item, per client per second (zero when every update
    /// carries data).
    pub refetches_per_client_per_second: f64,
    /// The bytes of `update` frames each client received per second.
    pub update_bytes_per_client_per_second: f64,
    /// The server's CPU time over the measured run, as a share of one core.
    pub server_cpu_share: f64,
    /// The benchmark's own CPU time (clients and writer) over the same time.
    pub benchmark_cpu_share: f64,
}

/// Runs the scenario against a freshly started todo server.
pub async fn run(settings: &LiveSettings) -> anyhow::Result<LiveResult> {
    if !settings.appc_todo_binary.is_file() {
        bail!(
            "the todo server {} does not exist: build it with `appc build examples/todo`",
            settings.appc_todo_binary.display()
        );
    }
    if settings.users == 0 {
        bail!("--users must be at least 1");
    }
    if settings.query == LiveQuery::Tasks && settings.users > 1 {
        bail!(
            "getTasks is `scope: user`, so the writer's tasks concern only its own user's clients: \
             with --users above 1 use --query notes"
        );
    }
    let port = free_loopback_port()?;
    remove_stale_database_files(&settings.database_directory);
    let database_path = settings
        .database_directory
        .join(format!("appc-bench-live-{}-{port}.db", std::process::id()));
    let mut command = Command::new(&settings.appc_todo_binary);
    command
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("APPC_ENV", "production")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", database_path.display()),
        )
        .env("JWT_SECRET", JWT_SECRET)
        // Every client comes from one address, the writer is one user writing 100 times a second
        // and 1,000 tabs of one user subscribe at once: the per-address and per-user limits are
        // for people, the benchmark measures capacity.
        .env("APPC_MAX_CONNECTIONS_PER_IP", "1000000")
        .env("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "1000000")
        .env("APPC_OPERATIONS_PER_SECOND", "1000000")
        .env("APPC_OPERATION_BURST", "1000000")
        .env("RUST_LOG", "warn");
    if let Some(window) = settings.window {
        command.env("APPC_LIVE_WINDOW_MS", window.as_millis().to_string());
    }
    let server = ServerProcess::spawn(command, ServerKind::Appc, port, database_path)?;
    let address = server.address;

    let mut tokens = Vec::with_capacity(settings.users);
    for user in 0..settings.users {
        tokens.push(signup(address, &format!("live-bench-{user}")).await?);
    }
    let log = Arc::new(Mutex::new(WriteLog::default()));
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut clients = tokio::task::JoinSet::new();
    let (ready_sender, mut ready) = tokio::sync::mpsc::channel::<()>(settings.clients);
    for index in 0..settings.clients {
        let client = LiveClient {
            address,
            query: settings.query,
            token: tokens[index % tokens.len()].clone(),
            log: log.clone(),
            counters: counters.clone(),
            stop: stop.clone(),
        };
        let ready_sender = ready_sender.clone();
        clients.spawn(async move { client.run(ready_sender).await });
    }
    drop(ready_sender);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut ready_clients = 0;
    while ready_clients < settings.clients {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => bail!(
                "only {ready_clients} of the {} clients connected and had their subscription \
                 acknowledged within 60 s",
                settings.clients
            ),
            Some(outcome) = clients.join_next() => {
                // A client ended before the run: its own error says why.
                outcome.context("a client panicked")??;
                bail!("a client stopped before the run started");
            }
            Some(()) = ready.recv() => ready_clients += 1,
        }
    }

    let cpu_before = server.cpu_seconds().unwrap_or_default();
    let benchmark_cpu_before = cpu_seconds(std::process::id()).unwrap_or_default();
    let started = Instant::now();
    // The writer has a thread of its own, so that the clients' work never delays a write.
    let writer = {
        let (token, log, settings) = (tokens[0].clone(), log.clone(), settings.clone());
        std::thread::spawn(move || -> anyhow::Result<u64> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(write_steadily(address, &token, &log, &settings))
        })
    };
    let writes = tokio::task::spawn_blocking(move || writer.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the writer panicked"))??;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = server.cpu_seconds().unwrap_or_default();
    let benchmark_cpu_after = cpu_seconds(std::process::id()).unwrap_or_default();
    // The counts are per second of writes: take them now, before the last updates land.
    let update_count = counters.updates.load(Ordering::Relaxed);
    let update_bytes = counters.update_bytes.load(Ordering::Relaxed);
    let refetch_count = counters.refetches.load(Ordering::Relaxed);
    // Let the last updates land, then stop the clients.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.notify_waiters();
    let mut latencies = Histogram::<u64>::new(3).expect("three significant digits are valid");
    let mut missed = 0;
    while let Some(outcome) = clients.join_next().await {
        let outcome = outcome.context("a client panicked")??;
        latencies.add(&outcome.latencies)?;
        missed += writes.saturating_sub(outcome.seen as u64);
    }
    drop(server);
    let per_client_second = (settings.clients as f64 * seconds).max(f64::EPSILON);
    Ok(LiveResult {
        query: settings.query,
        clients: settings.clients,
        users: settings.users,
        writes_per_second_asked: settings.writes_per_second,
        writes,
        seconds,
        p50: Duration::from_micros(latencies.value_at_quantile(0.5)),
        p99: Duration::from_micros(latencies.value_at_quantile(0.99)),
        max: Duration::from_micros(latencies.max()),
        missed,
        updates_per_client_per_second: update_count as f64 / per_client_second,
        refetches_per_client_per_second: refetch_count as f64 / per_client_second,
        update_bytes_per_client_per_second: update_bytes as f64 / per_client_second,
        server_cpu_share: (cpu_after - cpu_before) / seconds,
        benchmark_cpu_share: (benchmark_cpu_after - benchmark_cpu_before) / seconds,
    })
}

/// The table of one result, for BENCHMARKS.md.
pub fn render(result: &LiveResult) -> String {
    format!(
        "| query | clients | users | writes/s asked | writes/s made | commit to data p50 | p99 | max | updates per client per s | update KB per client per s | HTTP refetches per client per s | writes missed | server CPU (cores) | benchmark CPU (cores) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n\
         | {} | {} | {} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} | {:.1} | {:.2} | {} | {:.2} | {:.2} |\n",
        result.query.name(),
        result.clients,
        result.users,
        result.writes_per_second_asked,
        result.writes as f64 / result.seconds,
        result.p50.as_secs_f64() * 1000.0,
        result.p99.as_secs_f64() * 1000.0,
        result.max.as_secs_f64() * 1000.0,
        result.updates_per_client_per_second,
        result.update_bytes_per_client_per_second / 1000.0,
        result.refetches_per_client_per_second,
        result.missed,
        result.server_cpu_share,
        result.benchmark_cpu_share,
    )
}

/// What the clients count together.
#[derive(Default)]
struct Counters {
    updates: AtomicU64,
    update_bytes: AtomicU64,
    refetches: AtomicU64,
}

/// The writes so far: for each row the writer created, the index of its create; for each write
/// index, when it committed (`None` until the writer has the action's answer).
#[derive(Default)]
struct WriteLog {
    create_index_of_row: HashMap<i64, usize>,
    committed_at: Vec<Option<Instant>>,
}

impl WriteLog {
    /// How many writes (from the first) a client holding `rows` reflects.
    fn reflected_writes(&self, query: LiveQuery, rows: &[Row]) -> usize {
        match query {
            // Notes are only ever added, one per write.
            LiveQuery::Notes => rows.len().min(self.committed_at.len()),
            LiveQuery::Tasks => {
                let Some(newest) = rows.iter().map(|row| row.id).max() else {
                    return 0;
                };
                let Some(&create_index) = self.create_index_of_row.get(&newest) else {
                    // Created, but its answer has not reached the writer yet: that create is
                    // the last write logged.
                    return self.committed_at.len();
                };
                // Two tasks: the state right after the newest one's create; one: after the
                // delete that followed it (the very first task is alone after its own create).
                if rows.len() >= 2
                    || create_index == 0 && rows.len() == 1 && self.committed_at.len() == 1
                {
                    create_index + 1
                } else {
                    create_index + 2
                }
            }
        }
    }
}

/// Makes the settings' writes at their rate for their duration; returns how many committed.
async fn write_steadily(
    address: SocketAddr,
    token: &str,
    log: &Mutex<WriteLog>,
    settings: &LiveSettings,
) -> anyhow::Result<u64> {
    let mut connection = HttpConnection::open(address, "todo").await?;
    let interval = Duration::from_secs_f64(1.0 / f64::from(settings.writes_per_second.max(1)));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = Instant::now() + settings.duration;
    let mut previous_task: Option<i64> = None;
    let mut index = 0usize;
    while Instant::now() < deadline {
        ticker.tick().await;
        // The write's index is logged before it is sent, so that a client cannot see it before
        // it exists in the log.
        log.lock()
            .expect("the log is never poisoned")
            .committed_at
            .push(None);
        let creating = match settings.query {
            LiveQuery::Notes => Some((
                "/operations/create-note",
                r#"{"text":"Live benchmark note"}"#,
            )),
            LiveQuery::Tasks if index.is_multiple_of(2) => Some((
                "/operations/create-task",
                r#"{"description":"Live benchmark task"}"#,
            )),
            LiveQuery::Tasks => None,
        };
        if let Some((path, body)) = creating {
            let (status, answer) = connection.post_json(path, body, token).await?;
            let committed = Instant::now();
            if status != 200 {
                bail!(
                    "{path} answered {status}: {}",
                    String::from_utf8_lossy(&answer)
                );
            }
            let row: Row = serde_json::from_slice(&answer)
                .with_context(|| format!("{path} answered no row with an id"))?;
            let mut log = log.lock().expect("the log is never poisoned");
            log.create_index_of_row.insert(row.id, index);
            log.committed_at[index] = Some(committed);
            previous_task = Some(row.id);
        } else if let Some(id) = previous_task {
            // The delete's effect becomes visible only once the next create shows the newer
            // task alone.
            let body = format!(r#"{{"id":{}}}"#, id - 1);
            if id > 1 {
                let (status, answer) = connection
                    .post_json("/operations/delete-task", &body, token)
                    .await?;
                if status != 204 {
                    bail!(
                        "deleteTask answered {status}: {}",
                        String::from_utf8_lossy(&answer)
                    );
                }
            }
            log.lock().expect("the log is never poisoned").committed_at[index] =
                Some(Instant::now());
        }
        index += 1;
    }
    Ok(index as u64)
}

/// The one field of a task or a note the benchmark reads (serde skips the others).
#[derive(Debug, Deserialize)]
struct Row {
    id: i64,
}

/// One item of a `subscribe` acknowledgement, or the payload of an `update`.
#[derive(Debug, Deserialize)]
struct LiveItem {
    /// The group's id; absent when the subscription was refused.
    id: Option<u64>,
    data: Option<Vec<Row>>,
    error: Option<serde_json::Value>,
}

/// The item of the client's one subscription in the acknowledgement `args` (the text after
/// `43/appc-live,<ack id>`): a list of one argument, the list of items.
fn parse_subscribe_ack(args: &str) -> anyhow::Result<LiveItem> {
    let (mut items,): (Vec<LiveItem>,) = serde_json::from_str(args).with_context(|| {
        format!("the subscribe acknowledgement is not one list of subscription items: {args}")
    })?;
    if items.len() != 1 {
        bail!(
            "the subscribe acknowledgement holds {} items for one subscription: {args}",
            items.len()
        );
    }
    let item = items.remove(0);
    if item.id.is_none() {
        bail!("the server refused the subscription: {args}");
    }
    Ok(item)
}

/// The payload of an `update` event (the text after `42/appc-live,`), or `None` for any other
/// event.
fn parse_update(event: &str) -> anyhow::Result<Option<LiveItem>> {
    if !event.starts_with(r#"["update","#) {
        return Ok(None);
    }
    let (_, item): (String, LiveItem) = serde_json::from_str(event).with_context(|| {
        format!("an update is not [\"update\", {{id, data or error}}]: {event}")
    })?;
    if item.id.is_none() {
        bail!("an update carries no id: {event}");
    }
    Ok(Some(item))
}

/// What one client measured.
struct ClientOutcome {
    latencies: Histogram<u64>,
    /// How many writes (from the first) its data reflected by the end.
    seen: usize,
}

struct LiveClient {
    address: SocketAddr,
    query: LiveQuery,
    token: String,
    log: Arc<Mutex<WriteLog>>,
    counters: Arc<Counters>,
    stop: Arc<tokio::sync::Notify>,
}

impl LiveClient {
    async fn run(self, ready: tokio::sync::mpsc::Sender<()>) -> anyhow::Result<ClientOutcome> {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.address);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        let auth = serde_json::json!({ "token": self.token });
        socket
            .send(Message::text(format!("40/appc-live,{auth}")))
            .await?;
        let mut latencies = Histogram::<u64>::new(3).expect("three significant digits are valid");
        let mut seen = 0usize;
        let mut subscription_id = None;
        let mut ready = Some(ready);
        let ack_prefix = format!("43/appc-live,{SUBSCRIBE_ACK_ID}");
        let stopped = self.stop.notified();
        tokio::pin!(stopped);
        loop {
            let frame = tokio::select! {
                _ = &mut stopped => break,
                frame = socket.next() => frame,
            };
            let Some(frame) = frame else {
                bail!("the server closed a live socket")
            };
            let Message::Text(text) = frame? else {
                continue;
            };
            let text = text.as_str();
            let item = if text == "2" {
                socket.send(Message::text("3")).await?;
                continue;
            } else if text.starts_with("40/appc-live,") {
                // Connected: subscribe now (an event sent before the namespace's answer would be
                // dropped, as socket.io-client's buffering avoids).
                let subscriptions = serde_json::json!([{ "query": self.query.name() }]);
                socket
                    .send(Message::text(format!(
                        r#"42/appc-live,{SUBSCRIBE_ACK_ID}["subscribe",{subscriptions}]"#
                    )))
                    .await?;
                continue;
            } else if let Some(args) = text.strip_prefix(&ack_prefix) {
                let item = parse_subscribe_ack(args)?;
                subscription_id = item.id;
                if let Some(ready) = ready.take() {
                    ready.send(()).await.ok();
                }
                item
            } else if let Some(event) = text.strip_prefix("42/appc-live,") {
                let Some(item) = parse_update(event)? else {
                    continue;
                };
                if subscription_id.is_none() || item.id != subscription_id {
                    bail!(
                        "an update for group {:?} reached a socket subscribed to {subscription_id:?} only",
                        item.id
                    );
                }
                self.counters.updates.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .update_bytes
                    .fetch_add(text.len() as u64, Ordering::Relaxed);
                item
            } else if text.starts_with("44/appc-live") || text.starts_with("41/appc-live") {
                bail!("the live namespace refused or dropped the socket: {text}");
            } else {
                continue;
            };
            let rows = match (item.data, item.error) {
                (Some(rows), None) => rows,
                (None, Some(_)) => {
                    // The query answers an error now: the client shows the query's own answer.
                    self.counters.refetches.fetch_add(1, Ordering::Relaxed);
                    self.refetch_over_http().await?
                }
                _ => bail!("a live item carries neither data nor an error, or both: {text}"),
            };
            let now = Instant::now();
            let log = self.log.lock().expect("the log is never poisoned");
            let reflected = log.reflected_writes(self.query, &rows);
            for write in seen..reflected {
                let committed = log
                    .committed_at
                    .get(write)
                    .copied()
                    .flatten()
                    .unwrap_or(now);
                let micros = now.saturating_duration_since(committed).as_micros() as u64;
                latencies.record(micros.max(1))?;
            }
            drop(log);
            seen = seen.max(reflected);
        }
        Ok(ClientOutcome { latencies, seen })
    }

    /// The query's answer over HTTP, for an item that carried an error instead of data.
    async fn refetch_over_http(&self) -> anyhow::Result<Vec<Row>> {
        let mut connection = HttpConnection::open(self.address, "todo").await?;
        let (status, body) = connection
            .post_json(self.query.http_path(), "{}", &self.token)
            .await?;
        if status != 200 {
            bail!(
                "{} answered {status}: {}",
                self.query.name(),
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body)
            .with_context(|| format!("{} did not answer a JSON list", self.query.name()))
    }
}

/// Signs a user up and returns their token.
async fn signup(address: SocketAddr, username: &str) -> anyhow::Result<String> {
    let mut connection = HttpConnection::open(address, "todo").await?;
    let body = serde_json::json!({ "username": username, "password": PASSWORD }).to_string();
    let (status, answer) = connection.post_json("/auth/signup", &body, "").await?;
    if status != 200 {
        bail!(
            "signup answered {status}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    let answer: serde_json::Value = serde_json::from_slice(&answer)?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("signup answered no token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ids: &[i64]) -> Vec<Row> {
        ids.iter().map(|&id| Row { id }).collect()
    }

    /// A log of `writes` writes whose creates made the rows `created` (row id, write index).
    fn write_log(writes: usize, created: &[(i64, usize)]) -> WriteLog {
        WriteLog {
            create_index_of_row: created.iter().copied().collect(),
            committed_at: vec![Some(Instant::now()); writes],
        }
    }

    #[test]
    fn the_tasks_a_client_holds_tell_which_write_they_reflect() {
        // Writes: 0 creates task 1, 1 (no delete: nothing before task 1), 2 creates task 2,
        // 3 deletes task 1, 4 creates task 3.
        let log = write_log(5, &[(1, 0), (2, 2), (3, 4)]);
        assert_eq!(log.reflected_writes(LiveQuery::Tasks, &rows(&[])), 0);
        assert_eq!(log.reflected_writes(LiveQuery::Tasks, &rows(&[1, 2])), 3);
        assert_eq!(log.reflected_writes(LiveQuery::Tasks, &rows(&[2])), 4);
        assert_eq!(log.reflected_writes(LiveQuery::Tasks, &rows(&[2, 3])), 5);
        // A task whose create the writer has not heard back from is the last write logged.
        assert_eq!(log.reflected_writes(LiveQuery::Tasks, &rows(&[2, 3, 4])), 5);
        // The very first task, alone right after its own create.
        assert_eq!(
            write_log(1, &[(1, 0)]).reflected_writes(LiveQuery::Tasks, &rows(&[1])),
            1
        );
    }

    #[test]
    fn the_notes_a_client_holds_are_the_writes_it_reflects() {
        let log = write_log(3, &[(1, 0), (2, 1), (3, 2)]);
        assert_eq!(log.reflected_writes(LiveQuery::Notes, &rows(&[])), 0);
        assert_eq!(log.reflected_writes(LiveQuery::Notes, &rows(&[1, 2])), 2);
        assert_eq!(log.reflected_writes(LiveQuery::Notes, &rows(&[1, 2, 3])), 3);
    }

    #[test]
    fn a_subscribe_acknowledgement_gives_the_group_and_its_data() {
        let item = parse_subscribe_ack(
            r#"[[{"id":3,"data":[{"id":7,"description":"a","isDone":false,"userId":1}]}]]"#,
        )
        .unwrap();
        assert_eq!(item.id, Some(3));
        assert_eq!(item.data.unwrap()[0].id, 7);
        let item = parse_subscribe_ack(
            r#"[[{"id":4,"error":{"status":404,"code":"not_found","message":"gone"}}]]"#,
        )
        .unwrap();
        assert_eq!(
            (item.id, item.data.is_none(), item.error.is_some()),
            (Some(4), true, true)
        );
    }

    #[test]
    fn a_refused_or_malformed_subscription_stops_the_client_with_the_servers_answer() {
        let refused = parse_subscribe_ack(
            r#"[[{"error":{"status":429,"code":"rate_limited","message":"slow down"}}]]"#,
        )
        .unwrap_err();
        assert!(refused.to_string().contains("rate_limited"), "{refused}");
        let empty = parse_subscribe_ack("[[]]").unwrap_err();
        assert!(empty.to_string().contains("0 items"), "{empty}");
        let spread = parse_subscribe_ack(r#"[{"id":3,"data":[]}]"#).unwrap_err();
        assert!(spread.to_string().contains("not one list"), "{spread}");
    }

    #[test]
    fn an_update_event_is_read_and_other_events_are_skipped() {
        let item = parse_update(r#"["update",{"id":3,"data":[{"id":1},{"id":2}]}]"#)
            .unwrap()
            .unwrap();
        assert_eq!((item.id, item.data.unwrap().len()), (Some(3), 2));
        assert!(parse_update(r#"["somethingElse",{}]"#).unwrap().is_none());
        assert!(parse_update(r#"["update",{"data":[]}]"#).is_err());
    }
}
