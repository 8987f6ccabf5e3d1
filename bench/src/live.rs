//! The live-queries benchmark: many clients keep one live query mounted (the todo example's
//! `getTasks`, all as one user, so that every write concerns every client) while a writer
//! commits a steady rate of writes through the app's actions; it measures the time from a
//! write's commit to the moment each client holds data that includes it, how often each client
//! refetches, and the server's CPU.
//!
//! Each client is what the generated web client does, in Rust: a Socket.IO connection to the
//! built-in `/appc-live` namespace that sends `watch ["getTasks"]`, and on every `changed` a
//! refetch of `getTasks` over its own keep-alive HTTP connection, coalesced (a notification that
//! arrives during a refetch asks for one more refetch after it, never for several).
//!
//! The writer alternates `createTask` (a new task) and `deleteTask` (of the task before it), so
//! that the list stays one or two tasks long and a refetch costs the same all along. The state a
//! client reads tells which write it reflects: two tasks are the state after the create of the
//! newer one, one task the state after the delete that followed its create. A write's commit
//! time is when the writer received the action's answer (the answer follows the commit), so the
//! latencies measured are slightly shorter than from the commit itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio_tungstenite::tungstenite::Message;

use crate::operations::HttpConnection;
use crate::servers::{ServerKind, ServerProcess, free_loopback_port, remove_stale_database_files};

const JWT_SECRET: &str = "appc-bench-live-secret-of-at-least-32-bytes!";
const PASSWORD: &str = "correct horse battery staple";

/// What a run needs.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// The generated server of `examples/todo` (`appc build examples/todo`).
    pub appc_todo_binary: PathBuf,
    /// Where the SQLite file goes.
    pub database_directory: PathBuf,
    /// How many clients keep the query mounted.
    pub clients: usize,
    /// Writes per second.
    pub writes_per_second: u32,
    /// How long the writes go on.
    pub duration: Duration,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LiveResult {
    pub clients: usize,
    pub writes: u64,
    pub seconds: f64,
    /// From a write's commit to a client holding data that includes it, over every client and
    /// every write.
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Writes some client never saw reflected by the end of the run.
    pub missed: u64,
    pub refetches_per_client_per_second: f64,
    pub notifications_per_client_per_second: f64,
    /// The server's CPU time over the measured run, as a share of one core.
    pub server_cpu_share: f64,
}

/// The writes so far: for each created task id, the index of its create; for each write index,
/// when it committed.
#[derive(Default)]
struct WriteLog {
    create_index_of_task: HashMap<i64, usize>,
    committed_at: Vec<Option<Instant>>,
}

/// Runs the scenario against a freshly started todo server.
pub async fn run(settings: &LiveSettings) -> anyhow::Result<LiveResult> {
    if !settings.appc_todo_binary.is_file() {
        bail!(
            "the todo server {} does not exist: build it with `appc build examples/todo`",
            settings.appc_todo_binary.display()
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
        // Every client comes from one address: the per-address caps are for people.
        .env("APPC_MAX_CONNECTIONS_PER_IP", "1000000")
        .env("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "1000000")
        .env("RUST_LOG", "warn");
    let server = ServerProcess::spawn(command, ServerKind::Appc, port, database_path)?;
    let address = server.address;

    let token = signup(address, "live-bench").await?;
    let log = Arc::new(Mutex::new(WriteLog::default()));
    let refetches = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let notifications = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut clients = tokio::task::JoinSet::new();
    let (ready_sender, mut ready) = tokio::sync::mpsc::channel::<()>(settings.clients);
    for _ in 0..settings.clients {
        let client = LiveClient {
            address,
            token: token.clone(),
            log: log.clone(),
            refetches: refetches.clone(),
            notifications: notifications.clone(),
            stop: stop.clone(),
        };
        let ready_sender = ready_sender.clone();
        clients.spawn(async move { client.run(ready_sender).await });
    }
    drop(ready_sender);
    for _ in 0..settings.clients {
        tokio::time::timeout(Duration::from_secs(60), ready.recv())
            .await
            .context("the clients did not all connect and watch within 60 s")?
            .context("a client failed before it was ready")?;
    }

    let cpu_before = server.cpu_seconds().unwrap_or_default();
    let started = Instant::now();
    // The writer has a thread of its own, so that the clients' work never delays a write.
    let writer = {
        let (token, log, settings) = (token.clone(), log.clone(), settings.clone());
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
    // Let the last notifications and refetches land, then stop the clients.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let refetch_count = refetches.load(std::sync::atomic::Ordering::Relaxed);
    let notification_count = notifications.load(std::sync::atomic::Ordering::Relaxed);
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
        clients: settings.clients,
        writes,
        seconds,
        p50: Duration::from_micros(latencies.value_at_quantile(0.5)),
        p99: Duration::from_micros(latencies.value_at_quantile(0.99)),
        max: Duration::from_micros(latencies.max()),
        missed,
        refetches_per_client_per_second: refetch_count as f64 / per_client_second,
        notifications_per_client_per_second: notification_count as f64 / per_client_second,
        server_cpu_share: (cpu_after - cpu_before) / seconds,
    })
}

/// The table of one result, for BENCHMARKS.md.
pub fn render(result: &LiveResult) -> String {
    format!(
        "| clients | writes/s | commit to refreshed p50 | p99 | max | refetches per client per s | notifications per client per s | writes missed | server CPU (cores) |\n\
         |---|---|---|---|---|---|---|---|---|\n\
         | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} | {:.2} | {} | {:.2} |\n",
        result.clients,
        result.writes as f64 / result.seconds,
        result.p50.as_secs_f64() * 1000.0,
        result.p99.as_secs_f64() * 1000.0,
        result.max.as_secs_f64() * 1000.0,
        result.refetches_per_client_per_second,
        result.notifications_per_client_per_second,
        result.missed,
        result.server_cpu_share,
    )
}

/// Alternates `createTask` and `deleteTask` at the settings' rate for their duration; returns
/// how many writes committed.
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
        let creating = index.is_multiple_of(2);
        if creating {
            log.lock()
                .expect("the log is never poisoned")
                .committed_at
                .push(None);
            let (status, body) = connection
                .post_json(
                    "/operations/create-task",
                    r#"{"description":"Live benchmark task"}"#,
                    token,
                )
                .await?;
            let committed = Instant::now();
            if status != 200 {
                bail!(
                    "createTask answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            let task: serde_json::Value = serde_json::from_slice(&body)?;
            let id = task["id"].as_i64().context("createTask answered no id")?;
            let mut log = log.lock().expect("the log is never poisoned");
            log.create_index_of_task.insert(id, index);
            log.committed_at[index] = Some(committed);
            previous_task = Some(id);
        } else if let Some(id) = previous_task {
            // The delete's effect becomes visible only once the next create shows the newer
            // task alone; its index is recorded before the answer so that a client cannot see
            // it before it exists in the log.
            log.lock()
                .expect("the log is never poisoned")
                .committed_at
                .push(None);
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

/// What one client measured.
struct ClientOutcome {
    latencies: Histogram<u64>,
    /// How many writes (from the first) its data reflected by the end.
    seen: usize,
}

struct LiveClient {
    address: SocketAddr,
    token: String,
    log: Arc<Mutex<WriteLog>>,
    refetches: Arc<std::sync::atomic::AtomicU64>,
    notifications: Arc<std::sync::atomic::AtomicU64>,
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
        let mut idle_http = Some(HttpConnection::open(self.address, "todo").await?);
        let mut latencies = Histogram::<u64>::new(3).expect("three significant digits are valid");
        let mut seen = 0usize;
        let mut ready = Some(ready);
        let stopped = self.stop.notified();
        tokio::pin!(stopped);
        let mut refetch: Option<Refetch> = None;
        let mut again = false;
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                frame = socket.next() => {
                    let Some(frame) = frame else { bail!("the server closed a live socket") };
                    let Message::Text(text) = frame? else { continue };
                    let text = text.as_str();
                    if text == "2" {
                        socket.send(Message::text("3")).await?;
                    } else if text.starts_with("40/appc-live,") {
                        // Connected: watch now (an event sent before the namespace's answer
                        // would be dropped, as socket.io-client's buffering avoids).
                        socket
                            .send(Message::text(r#"42/appc-live,1["watch",["getTasks"]]"#))
                            .await?;
                    } else if text.starts_with("43/appc-live,1") {
                        if let Some(ready) = ready.take() {
                            ready.send(()).await.ok();
                        }
                    } else if text.starts_with("42/appc-live,[\"changed\"") {
                        self.notifications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        match idle_http.take() {
                            Some(connection) => {
                                refetch = Some(Box::pin(fetch_tasks(connection, self.token.clone())));
                                self.refetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            None => again = true,
                        }
                    } else if text.starts_with("44/appc-live") {
                        bail!("the live namespace refused the socket: {text}");
                    }
                }
                fetched = async { refetch.as_mut().expect("guarded").await }, if refetch.is_some() => {
                    refetch = None;
                    let (connection, body) = fetched?;
                    let now = Instant::now();
                    let reflected = self.reflected_writes(&body)?;
                    let log = self.log.lock().expect("the log is never poisoned");
                    for write in seen..reflected {
                        let committed = log.committed_at.get(write).copied().flatten().unwrap_or(now);
                        let micros = now.saturating_duration_since(committed).as_micros() as u64;
                        latencies.record(micros.max(1))?;
                    }
                    drop(log);
                    seen = seen.max(reflected);
                    if again {
                        again = false;
                        refetch = Some(Box::pin(fetch_tasks(connection, self.token.clone())));
                        self.refetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    } else {
                        idle_http = Some(connection);
                    }
                }
            }
        }
        Ok(ClientOutcome { latencies, seen })
    }

    /// How many writes (from the first) the tasks in `body` reflect.
    fn reflected_writes(&self, body: &[u8]) -> anyhow::Result<usize> {
        let tasks: Vec<serde_json::Value> =
            serde_json::from_slice(body).context("getTasks did not answer a JSON list")?;
        let newest = tasks.iter().filter_map(|task| task["id"].as_i64()).max();
        let Some(newest) = newest else { return Ok(0) };
        let log = self.log.lock().expect("the log is never poisoned");
        let Some(&create_index) = log.create_index_of_task.get(&newest) else {
            // Created, but its answer has not reached the writer yet: that create is the last
            // write logged.
            return Ok(log.committed_at.len());
        };
        // Two tasks: the state right after the newest one's create; one: after the delete that
        // followed it (the very first task is alone after its own create).
        Ok(
            if tasks.len() >= 2
                || create_index == 0 && tasks.len() == 1 && log.committed_at.len() == 1
            {
                create_index + 1
            } else {
                create_index + 2
            },
        )
    }
}

/// A refetch in flight, which gives its connection back with the answer.
type Refetch = std::pin::Pin<
    Box<dyn std::future::Future<Output = anyhow::Result<(HttpConnection, Vec<u8>)>> + Send>,
>;

async fn fetch_tasks(
    mut connection: HttpConnection,
    token: String,
) -> anyhow::Result<(HttpConnection, Vec<u8>)> {
    let (status, body) = connection
        .post_json("/operations/get-tasks", "{}", &token)
        .await?;
    if status != 200 {
        bail!(
            "getTasks answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok((connection, body))
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
