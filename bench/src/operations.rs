//! The operations benchmark: the todo example's `getTasks` query (20 rows) and `createTask`
//! action over HTTP, at 1 and 64 concurrent clients, against the generated appc server and the
//! Node anchor in `bench/node-todo/` (Express and better-sqlite3 doing what Wasp's generated
//! server does), on the same SQLite schema: the example's own migration.
//!
//! Each client is one simulated user with one keep-alive HTTP/1.1 connection and its own token,
//! in a closed loop (send, read the whole answer, send again). The client here speaks just
//! enough HTTP/1.1 for that (a request with `Content-Length`, an answer with `Content-Length`)
//! so that the load generator costs little per request and measures the servers alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::jwt::{self, Claims};
use crate::servers::{ServerKind, ServerProcess, free_loopback_port, remove_stale_database_files};

/// How many users exist, each with [`TASKS_PER_USER`] tasks: one per client of the largest run.
pub const USERS: usize = 64;
/// The rows `getTasks` answers with.
pub const TASKS_PER_USER: usize = 20;

/// The two operations measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /operations/get-tasks`: the caller's 20 tasks.
    GetTasks,
    /// `POST /operations/create-task`: one insert, the new row as the answer.
    CreateTask,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::GetTasks => "getTasks",
            Operation::CreateTask => "createTask",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Operation::GetTasks => "/operations/get-tasks",
            Operation::CreateTask => "/operations/create-task",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Operation::GetTasks => "{}",
            Operation::CreateTask => r#"{"description":"Water the plants on the balcony"}"#,
        }
    }
}

/// What a run needs to start the two servers.
#[derive(Debug, Clone)]
pub struct OperationsSettings {
    /// The generated server of `examples/todo` (`appc build examples/todo`).
    pub appc_todo_binary: PathBuf,
    /// `bench/node-todo`, with `server.mjs` and its `node_modules`.
    pub node_directory: PathBuf,
    /// The todo example's SQLite migration, which the Node anchor runs at start.
    pub schema_sql: PathBuf,
    /// The core the servers are pinned to, or none.
    pub server_core: Option<usize>,
    /// Where the SQLite files go.
    pub database_directory: PathBuf,
    /// The client counts to measure.
    pub client_counts: Vec<usize>,
    /// How long each measured run lasts (after a warm-up of a fifth of it).
    pub duration: Duration,
}

/// One measured run: an operation at a number of clients on one server.
#[derive(Debug, Clone)]
pub struct OperationResult {
    pub server: ServerKind,
    pub operation: Operation,
    pub clients: usize,
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

const JWT_SECRET: &str = "appc-bench-operations-secret-of-at-least-32-bytes";

/// Runs every operation at every client count on both servers, appc first, and returns the
/// results in that order.
pub async fn run(settings: &OperationsSettings) -> anyhow::Result<Vec<OperationResult>> {
    let tokens = user_tokens();
    let mut results = Vec::new();
    for kind in [ServerKind::Appc, ServerKind::Node] {
        let server = start_server(settings, kind)?;
        check_each_user_has_their_tasks(&server, &tokens).await?;
        for operation in [Operation::GetTasks, Operation::CreateTask] {
            for &clients in &settings.client_counts {
                // The warm-up fills caches and pools and lets the JIT of Node compile the hot path.
                measure(&server, &tokens, operation, clients, settings.duration / 5).await?;
                let result =
                    measure(&server, &tokens, operation, clients, settings.duration).await?;
                results.push(result);
            }
        }
        drop(server);
    }
    Ok(results)
}

/// One token per user (ids 1 to [`USERS`]), valid for a day.
fn user_tokens() -> Vec<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    (1..=USERS)
        .map(|id| {
            jwt::mint(
                JWT_SECRET.as_bytes(),
                &Claims {
                    sub: id.to_string(),
                    username: format!("user-{id}"),
                    iat: now,
                    exp: now + 86_400,
                },
            )
        })
        .collect()
}

/// Starts one server on a fresh database and gives it the users and their tasks.
fn start_server(settings: &OperationsSettings, kind: ServerKind) -> anyhow::Result<ServerProcess> {
    let port = free_loopback_port()?;
    remove_stale_database_files(&settings.database_directory);
    let database_path = settings
        .database_directory
        .join(format!("appc-bench-{}-{port}.db", std::process::id()));
    let (program, arguments) = match kind {
        ServerKind::Appc => {
            if !settings.appc_todo_binary.is_file() {
                bail!(
                    "the todo server {} does not exist: build it with `appc build examples/todo`",
                    settings.appc_todo_binary.display()
                );
            }
            (settings.appc_todo_binary.clone(), Vec::new())
        }
        ServerKind::Node => {
            install_node_packages(&settings.node_directory, &["better-sqlite3", "express"])?;
            (
                PathBuf::from("node"),
                vec![settings.node_directory.join("server.mjs")],
            )
        }
        ServerKind::Limit => bail!("the operations benchmark has no raw limit server"),
    };
    let mut command = match settings.server_core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command
                .arg("--cpu-list")
                .arg(core.to_string())
                .arg(&program);
            command
        }
        None => Command::new(&program),
    };
    command
        .args(&arguments)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("APPC_ENV", "production")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", database_path.display()),
        )
        .env("JWT_SECRET", JWT_SECRET)
        .env("SCHEMA_SQL", &settings.schema_sql)
        // The load generator's 64 clients come from one address: the per-address connection cap
        // is for people, the benchmark measures capacity.
        .env("APPC_MAX_CONNECTIONS_PER_IP", "1000000")
        // Likewise the per-client rate of operations: the benchmark's clients share their users.
        .env("APPC_OPERATIONS_PER_SECOND", "1000000")
        .env("APPC_OPERATION_BURST", "1000000")
        .env("RUST_LOG", "warn");
    let server = ServerProcess::spawn(command, kind, port, database_path.clone())?;
    seed_users_and_tasks(&database_path)?;
    Ok(server)
}

/// Runs `npm ci` in a Node anchor's directory unless each of `packages` is installed there
/// already (better-sqlite3 compiles from source where no prebuilt binary can be downloaded:
/// minutes); `appc-bench processes` uses it for its anchor too.
pub(crate) fn install_node_packages(directory: &Path, packages: &[&str]) -> anyhow::Result<()> {
    let node_modules = directory.join("node_modules");
    if packages
        .iter()
        .all(|package| node_modules.join(package).is_dir())
    {
        return Ok(());
    }
    eprintln!(
        "installing the Node anchor's packages in {} (npm ci)",
        directory.display()
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(directory)
        .status()
        .context("could not run npm: install Node.js 20 or later with npm")?;
    if !status.success() {
        bail!("npm ci failed in {} with {status}", directory.display());
    }
    Ok(())
}

/// Inserts users 1 to [`USERS`] and [`TASKS_PER_USER`] tasks each with the `sqlite3` tool, after
/// the server created the tables (appc by its migration, Node by running the same file).
fn seed_users_and_tasks(database_path: &Path) -> anyhow::Result<()> {
    let statement = format!(
        "WITH RECURSIVE ids(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM ids WHERE id < {USERS}) \
         INSERT INTO \"User\" (id, username) SELECT id, 'user-' || id FROM ids; \
         WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < {TASKS_PER_USER}) \
         INSERT INTO \"Task\" (description, isDone, userId) \
         SELECT 'Task ' || n || ' of user ' || \"User\".id, n % 3 = 0, \"User\".id FROM \"User\", numbers;"
    );
    let output = Command::new("sqlite3")
        .arg(database_path)
        .arg(statement)
        .output()
        .context("could not run `sqlite3` to create the benchmark's users and tasks: install the sqlite3 command-line tool")?;
    if !output.status.success() {
        bail!(
            "sqlite3 could not create the users and tasks in {}: {}",
            database_path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Both servers must do the same work: each user's `getTasks` answers their 20 tasks.
async fn check_each_user_has_their_tasks(
    server: &ServerProcess,
    tokens: &[String],
) -> anyhow::Result<()> {
    for (index, token) in tokens.iter().enumerate() {
        let mut connection = HttpConnection::open(server.address, server.kind.name()).await?;
        let (status, body) = connection.post(Operation::GetTasks, token).await?;
        if status != 200 {
            bail!(
                "the {} server answered getTasks of user {} with {status}: {}",
                server.kind.name(),
                index + 1,
                String::from_utf8_lossy(&body)
            );
        }
        let tasks: Vec<serde_json::Value> =
            serde_json::from_slice(&body).context("getTasks did not answer a JSON list")?;
        let own = tasks.iter().all(|task| {
            task["userId"].as_u64() == Some(index as u64 + 1) && task["isDone"].is_boolean()
        });
        if tasks.len() != TASKS_PER_USER || !own {
            bail!(
                "the {} server's getTasks of user {} is not the user's {TASKS_PER_USER} tasks: {}",
                server.kind.name(),
                index + 1,
                String::from_utf8_lossy(&body)
            );
        }
    }
    Ok(())
}

/// `clients` closed loops of `operation` for `duration`; any answer but 200 fails the run.
async fn measure(
    server: &ServerProcess,
    tokens: &[String],
    operation: Operation,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<OperationResult> {
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(HttpConnection::open(server.address, server.kind.name()).await?);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut loops = tokio::task::JoinSet::new();
    for (index, mut connection) in connections.into_iter().enumerate() {
        let token = tokens[index % tokens.len()].clone();
        loops.spawn(async move {
            let mut latencies =
                Histogram::<u64>::new(3).expect("three significant digits are valid");
            while Instant::now() < deadline {
                let sent = Instant::now();
                let (status, body) = connection.post(operation, &token).await?;
                if status != 200 {
                    bail!(
                        "{} answered {status}: {}",
                        operation.name(),
                        String::from_utf8_lossy(&body)
                    );
                }
                latencies.record(sent.elapsed().as_micros() as u64).ok();
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Histogram::<u64>::new(3).expect("three significant digits are valid");
    while let Some(joined) = loops.join_next().await {
        let histogram = joined.context("a client loop panicked")??;
        latencies.add(&histogram).ok();
    }
    let elapsed = started.elapsed();
    let micros = |value: u64| Duration::from_micros(value);
    Ok(OperationResult {
        server: server.kind,
        operation,
        clients,
        requests: latencies.len(),
        requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: micros(latencies.value_at_quantile(0.5)),
        p99: micros(latencies.value_at_quantile(0.99)),
        max: micros(latencies.max()),
    })
}

/// One keep-alive HTTP/1.1 connection to a server, posting JSON and reading answers with a
/// `Content-Length` (all the generated server and the anchors send); `appc-bench live` uses it too.
pub(crate) struct HttpConnection {
    stream: TcpStream,
    /// Bytes read past the end of the previous answer (none in a closed loop, kept for safety).
    buffer: Vec<u8>,
}

impl HttpConnection {
    pub(crate) async fn open(
        address: SocketAddr,
        server_name: &str,
    ) -> anyhow::Result<HttpConnection> {
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("could not connect to the {server_name} server"))?;
        stream.set_nodelay(true)?;
        Ok(HttpConnection {
            stream,
            buffer: Vec::with_capacity(8192),
        })
    }

    /// Sends `operation` with `token` and returns the answer's status and body.
    async fn post(&mut self, operation: Operation, token: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        self.post_json(operation.path(), operation.body(), token)
            .await
    }

    /// Posts `body` as JSON to `path`, with `token` as its bearer unless it is empty, and returns
    /// the answer's status and body.
    pub(crate) async fn post_json(
        &mut self,
        path: &str,
        body: &str,
        token: &str,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let authorization = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await?;
        self.read_answer().await
    }

    async fn read_answer(&mut self) -> anyhow::Result<(u16, Vec<u8>)> {
        let header_end = loop {
            if let Some(position) = memchr::memmem::find(&self.buffer, b"\r\n\r\n") {
                break position + 4;
            }
            self.read_more().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..header_end])
            .context("the answer's head is not UTF-8")?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|status| status.parse().ok())
            .with_context(|| format!("the answer has no status line: {head:?}"))?;
        let mut content_length = 0;
        for line in head.lines().skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value
                    .trim()
                    .parse()
                    .context("a Content-Length is not a number")?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!(
                    "the server answered with Transfer-Encoding `{}`; the benchmark client reads only Content-Length",
                    value.trim()
                );
            }
        }
        while self.buffer.len() < header_end + content_length {
            self.read_more().await?;
        }
        let body = self.buffer[header_end..header_end + content_length].to_vec();
        self.buffer.drain(..header_end + content_length);
        Ok((status, body))
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("the server closed the connection in the middle of an answer");
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

/// The Markdown table of the results: per operation and client count, each server's requests/s
/// and latencies, and appc's ratios to Node (requests/s: higher is better; p99: lower).
pub fn render(results: &[OperationResult]) -> String {
    let mut table = String::from(
        "| operation | clients | appc req/s | node req/s | appc/node req/s | appc p50 / p99 | node p50 / p99 | node p99 / appc p99 |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for appc in results
        .iter()
        .filter(|result| result.server == ServerKind::Appc)
    {
        let Some(node) = results.iter().find(|result| {
            result.server == ServerKind::Node
                && result.operation == appc.operation
                && result.clients == appc.clients
        }) else {
            continue;
        };
        let millis = |duration: Duration| duration.as_secs_f64() * 1000.0;
        table.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {:.1}x | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.1}x |\n",
            appc.operation.name(),
            appc.clients,
            appc.requests_per_second,
            node.requests_per_second,
            appc.requests_per_second / node.requests_per_second,
            millis(appc.p50),
            millis(appc.p99),
            millis(node.p50),
            millis(node.p99),
            millis(node.p99) / millis(appc.p99),
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers every request it reads with the next of `answers`, written in
    /// pieces of `piece` bytes so that answers straddle reads.
    async fn canned_server(answers: Vec<&'static str>, piece: usize) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            for answer in answers {
                let _ = stream.read(&mut request).await.unwrap();
                for chunk in answer.as_bytes().chunks(piece) {
                    stream.write_all(chunk).await.unwrap();
                    stream.flush().await.unwrap();
                }
            }
        });
        address
    }

    #[tokio::test]
    async fn answers_are_read_by_content_length_across_reads_and_keep_alive() {
        let address = canned_server(
            vec![
                "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n[1,2,3]",
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}",
                "HTTP/1.1 204 No Content\r\n\r\n",
            ],
            5,
        )
        .await;
        let mut connection = HttpConnection::open(address, "canned").await.unwrap();
        let first = connection.post(Operation::GetTasks, "token").await.unwrap();
        assert_eq!(first, (200, b"[1,2,3]".to_vec()));
        let second = connection
            .post(Operation::CreateTask, "token")
            .await
            .unwrap();
        assert_eq!(second, (401, b"{}".to_vec()));
        let third = connection.post(Operation::GetTasks, "token").await.unwrap();
        assert_eq!(third, (204, Vec::new()));
    }

    #[tokio::test]
    async fn a_chunked_answer_is_refused_with_what_the_client_reads() {
        let address = canned_server(
            vec!["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n"],
            64,
        )
        .await;
        let mut connection = HttpConnection::open(address, "canned").await.unwrap();
        let error = connection
            .post(Operation::GetTasks, "token")
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("reads only Content-Length"),
            "{error}"
        );
    }

    #[test]
    fn the_table_gives_appc_s_ratios_to_node() {
        let result = |server, requests_per_second, p99_millis| OperationResult {
            server,
            operation: Operation::GetTasks,
            clients: 64,
            requests: 1000,
            requests_per_second,
            p50: Duration::from_millis(1),
            p99: Duration::from_millis(p99_millis),
            max: Duration::from_millis(p99_millis),
        };
        let table = render(&[
            result(ServerKind::Appc, 5000.0, 2),
            result(ServerKind::Node, 1000.0, 10),
        ]);
        assert!(
            table.contains(
                "| getTasks | 64 | 5000 | 1000 | 5.0x | 1.00 / 2.00 ms | 1.00 / 10.00 ms | 5.0x |"
            ),
            "{table}"
        );
    }
}
