//! `appc-bench`: runs the server benchmarks of issue #8. `quick` and `full` start the appc
//! server, the Node anchor and the raw-WebSocket limit in turn and compare them; `run` loads one
//! server that is already running, given its URL.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use appc_bench::client::{ServerProtocol, SourceAddresses, Target};
use appc_bench::compare::{self, Plan, RunSettings, ScenarioKind};
use appc_bench::dev_loop;
use appc_bench::live;
use appc_bench::operations;
use appc_bench::processes::{self, ProcessesSettings, Setup};
use appc_bench::protocol::Encoding;
use appc_bench::scenarios::{self, BroadcastConfig, ConnectOptions, EchoConfig, IdleConfig};
use appc_bench::servers::{ServerCommands, ServerKind, sibling_binary};
use appc_bench::system::{self, Machine};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "appc-bench",
    about = "Server benchmarks for appc: appc vs Node socket.io vs a raw-WebSocket limit"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seconds, small numbers, all three servers: asserts only that messages are delivered and
    /// none is lost, and that the socket.io-client validation matches (for CI)
    Quick(ComparisonArguments),
    /// The real figures: idle, broadcast at 1,000 clients, echo, on all three servers
    Full(ComparisonArguments),
    /// One scenario against a server that is already running
    Run(RunArguments),
    /// `appc dev`'s edit-to-serving latency: from a one-line save (a server `.rs` file, then
    /// the spec) to the new behaviour answering on a socket, on a copy of the chat example
    DevLoop(DevLoopArguments),
    /// The todo example's `getTasks` (20 rows) and `createTask` over HTTP at 1 and 64
    /// concurrent clients: the generated server against the Express + better-sqlite3 anchor
    Operations(OperationsArguments),
    /// The broadcast at 1,000 clients over several processes on one Redis: the generated chat
    /// alone, with Redis, and as two processes, against two Node socket.io processes with
    /// @socket.io/redis-adapter, both storing every message (needs PostgreSQL and redis-server)
    Processes(ProcessesArguments),
    /// Live queries: many clients subscribe to the todo example's `getTasks` (or, over several
    /// users, `getNotes`) while a writer commits a steady rate of writes; commit-to-data latency,
    /// pushed updates, server CPU
    Live(LiveArguments),
}

#[derive(Args)]
struct ProcessesArguments {
    #[command(flatten)]
    common: CommonArguments,
    /// The generated chat server (`appc build examples/chat`)
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/chat/.appc/build/server"))]
    appc_chat_bin: PathBuf,
    /// The Node anchor's directory (server.mjs; its packages are installed on first use)
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/node-redis"))]
    node_dir: PathBuf,
    /// A PostgreSQL server whose user may create databases (each setup gets a fresh one;
    /// default: $APPC_TEST_POSTGRES_URL, which tests/support/start-postgres.sh prints)
    #[arg(long)]
    postgres_url: Option<String>,
    /// The redis-server program (each setup with Redis gets a fresh one)
    #[arg(long, default_value = "redis-server")]
    redis_server: PathBuf,
    /// The core the app processes and Redis are pinned to (with taskset)
    #[arg(long, default_value_t = 1)]
    server_core: usize,
    /// Clients, spread evenly over a setup's processes
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Senders among the clients (spread like the others)
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages per second per sender
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Messages per sender
    #[arg(long, default_value_t = 300)]
    messages: u64,
    /// Write the results as JSON to this file
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Fail (exit 1) if any client did not connect or was dropped, or any message did not reach
    /// every client, on any setup (the smoke test; speed is not judged)
    #[arg(long)]
    assert_delivery: bool,
}

#[derive(Args)]
struct LiveArguments {
    #[command(flatten)]
    common: CommonArguments,
    /// The generated todo server (`appc build examples/todo`)
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/todo/.appc/build/server"))]
    appc_todo_bin: PathBuf,
    /// Where the server's SQLite database file goes (default: the temporary directory)
    #[arg(long)]
    database_dir: Option<PathBuf>,
    /// How many clients keep the live query mounted
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// The live query: `tasks` (getTasks, one user: every write concerns every client) or
    /// `notes` (the shared board getNotes, written with createNote, for several users)
    #[arg(long, value_enum, default_value = "tasks")]
    query: live::LiveQuery,
    /// How many distinct users the clients are spread over (above 1 needs `--query notes`): the
    /// server computes each result once per user
    #[arg(long, default_value_t = 1)]
    users: usize,
    /// Writes per second
    #[arg(long, default_value_t = 100)]
    writes_per_second: u32,
    /// Seconds of writes
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// The server's coalescing window in milliseconds (`APPC_LIVE_WINDOW_MS`; default: the
    /// server's own, 15)
    #[arg(long)]
    window_ms: Option<u64>,
}

#[derive(Args)]
struct OperationsArguments {
    #[command(flatten)]
    common: CommonArguments,
    /// The generated todo server (`appc build examples/todo`)
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/todo/.appc/build/server"))]
    appc_todo_bin: PathBuf,
    /// The Node anchor's directory (server.mjs; its packages are installed on first use)
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/node-todo"))]
    node_dir: PathBuf,
    /// The todo example, whose SQLite migration gives the Node anchor the same schema
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/todo"))]
    example: PathBuf,
    /// The core the servers are pinned to (with taskset)
    #[arg(long, default_value_t = 1)]
    server_core: usize,
    /// Where the servers' SQLite database files go (default: the temporary directory)
    #[arg(long)]
    database_dir: Option<PathBuf>,
    /// The client counts to measure
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    clients: Vec<usize>,
    /// Seconds of each measured run (each follows a warm-up of a fifth of it)
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

#[derive(Args)]
struct DevLoopArguments {
    /// The `appc` binary (default: `appc` beside this binary, e.g. target/release/appc)
    #[arg(long)]
    appc: Option<PathBuf>,
    /// The chat example to copy
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/chat"))]
    example: PathBuf,
    /// Measured saves of each kind
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// The port `appc dev` serves on (default: one the OS says is free)
    #[arg(long)]
    port: Option<u16>,
    /// Print everything `appc dev` prints
    #[arg(long)]
    verbose: bool,
}

#[derive(Args, Clone)]
struct CommonArguments {
    /// The Socket.IO parser the client and servers use
    #[arg(long, value_enum, default_value = "json")]
    encoding: Encoding,
    /// How many 127.0.0.x source addresses connections are spread over
    #[arg(long, default_value_t = 8)]
    source_addresses: u8,
    /// How many connections may be opening at once
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// The core the load generator is pinned to
    #[arg(long, default_value_t = 0)]
    client_core: usize,
    /// Do not pin the load generator or the servers to cores
    #[arg(long)]
    no_pin: bool,
    /// Run the load generator and the servers in the real-time round-robin scheduling class
    /// (needs root), so that other work on the machine (builds, tests) does not delay them
    #[arg(long)]
    realtime: bool,
}

#[derive(Args, Clone)]
struct ComparisonArguments {
    #[command(flatten)]
    common: CommonArguments,
    /// The appc server binary for both apps (the hand-written stand-in by default)
    #[arg(long)]
    appc_bin: Option<PathBuf>,
    /// The appc server for the idle and broadcast scenarios, for example the generated
    /// `examples/chat/.appc/build/server` (overrides --appc-bin)
    #[arg(long)]
    appc_chat_bin: Option<PathBuf>,
    /// The appc server for the echo scenario, for example the generated
    /// `examples/uppercase/.appc/build/server`, which speaks msgpack: run echo with
    /// `--echo-encoding msgpack` (overrides --appc-bin)
    #[arg(long)]
    appc_echo_bin: Option<PathBuf>,
    /// The Socket.IO parser of the echo scenario on every server (default: --encoding)
    #[arg(long, value_enum)]
    echo_encoding: Option<Encoding>,
    /// The raw-WebSocket limit server binary
    #[arg(long)]
    limit_bin: Option<PathBuf>,
    /// The Node anchor's directory (server.mjs, validate.mjs, node_modules)
    #[arg(long)]
    node_dir: Option<PathBuf>,
    /// Make the Node anchor's chat store every message in SQLite and send the history on
    /// connect, as the generated appc chat does (install better-sqlite3 in the Node directory
    /// first: `npm install --no-save better-sqlite3@12.11.1 --prefix bench/node`)
    #[arg(long)]
    node_store_messages: bool,
    /// Where the servers' SQLite database files go (default: the temporary directory); a
    /// tmpfs such as /dev/shm takes the disk's fsync cost out of the chat's inserts
    #[arg(long)]
    database_dir: Option<PathBuf>,
    /// The core the servers are pinned to (with taskset)
    #[arg(long, default_value_t = 1)]
    server_core: usize,
    /// Which servers to run
    #[arg(long, value_delimiter = ',', default_value = "appc,node,limit")]
    servers: Vec<ServerArgument>,
    /// Which scenarios to run
    #[arg(long, value_delimiter = ',', default_value = "idle,broadcast,echo")]
    scenarios: Vec<ScenarioKind>,
    /// Write the full report as JSON to this file
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Override the idle scenario's connection count
    #[arg(long)]
    idle_connections: Option<usize>,
    /// Override the broadcast scenario's client count
    #[arg(long)]
    broadcast_clients: Option<usize>,
    /// Override the broadcast scenario's sender count
    #[arg(long)]
    broadcast_senders: Option<usize>,
    /// Override the messages per second each broadcast sender sends
    #[arg(long)]
    broadcast_rate: Option<f64>,
    /// Override the messages each broadcast sender sends
    #[arg(long)]
    broadcast_messages: Option<u64>,
    /// Override the echo scenario's client count
    #[arg(long)]
    echo_clients: Option<usize>,
    /// Skip the socket.io-client validation
    #[arg(long)]
    no_validation: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ServerArgument {
    Appc,
    Node,
    Limit,
}

#[derive(Args)]
struct RunArguments {
    /// The scenario to run
    #[arg(value_enum)]
    scenario: ScenarioKind,
    /// The server's URL, e.g. http://127.0.0.1:3000 (loopback only)
    #[arg(long)]
    url: String,
    /// The server speaks raw WebSocket at `/` (the limit server), not Socket.IO
    #[arg(long)]
    raw: bool,
    /// The HS256 secret the server verifies tokens with
    #[arg(long)]
    jwt_secret: String,
    /// The server's process id, to measure its memory in the idle scenario
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(flatten)]
    common: CommonArguments,
    /// Connections (idle) or clients (broadcast, echo)
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Broadcast senders
    #[arg(long, default_value_t = 5)]
    senders: usize,
    /// Messages per second per broadcast sender
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Messages per broadcast sender
    #[arg(long, default_value_t = 20)]
    messages: u64,
    /// Idle hold time or echo duration, in seconds
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Bytes of text per message
    #[arg(long, default_value_t = 64)]
    payload_bytes: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Described before pinning, which would make the machine look like one core.
    let file_descriptor_limit = system::raise_file_descriptor_limit()
        .context("could not raise the file-descriptor limit")?;
    let machine = Machine::describe(file_descriptor_limit);
    let common = match &cli.command {
        Command::Quick(arguments) | Command::Full(arguments) => arguments.common.clone(),
        Command::Run(arguments) => arguments.common.clone(),
        Command::Operations(arguments) => arguments.common.clone(),
        Command::Processes(arguments) => arguments.common.clone(),
        Command::Live(arguments) => arguments.common.clone(),
        // The dev loop measures appc and cargo, which must not inherit the load generator's
        // pinning to one core or its scheduling class, so it returns before any of that.
        Command::DevLoop(arguments) => return run_dev_loop(arguments),
    };
    if common.realtime {
        system::use_realtime_scheduling()
            .context("could not switch to real-time scheduling (--realtime needs root)")?;
    }
    if !common.no_pin {
        system::pin_current_thread_to_core(common.client_core).with_context(|| {
            format!(
                "could not pin the load generator to core {}",
                common.client_core
            )
        })?;
    }
    // One thread on one core: the load generator never competes with the server for its core.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Quick(arguments) => {
            runtime.block_on(compare_servers(Plan::quick(), arguments, machine, true))
        }
        Command::Full(arguments) => {
            // Each connection costs one descriptor in the load generator and one in the server.
            let idle_connections = (file_descriptor_limit.saturating_sub(500) as usize).min(50_000);
            runtime.block_on(compare_servers(
                Plan::full(idle_connections),
                arguments,
                machine,
                false,
            ))
        }
        Command::Run(arguments) => runtime.block_on(run_one(arguments, file_descriptor_limit)),
        Command::Operations(arguments) => runtime.block_on(run_operations(arguments, machine)),
        Command::Processes(arguments) => runtime.block_on(run_processes(arguments, machine)),
        Command::Live(arguments) => runtime.block_on(run_live(arguments, machine)),
        Command::DevLoop(_) => unreachable!("the dev loop returned before pinning"),
    }
}

async fn run_live(arguments: LiveArguments, machine: Machine) -> anyhow::Result<ExitCode> {
    let settings = live::LiveSettings {
        appc_todo_binary: arguments.appc_todo_bin,
        database_directory: arguments.database_dir.unwrap_or_else(std::env::temp_dir),
        query: arguments.query,
        clients: arguments.clients,
        users: arguments.users,
        writes_per_second: arguments.writes_per_second,
        duration: Duration::from_secs_f64(arguments.seconds.max(1.0)),
        window: arguments.window_ms.map(Duration::from_millis),
    };
    let result = live::run(&settings).await?;
    println!(
        "{} ({} cores), load average at start {}",
        machine.cpu_model, machine.cores, machine.load_average_at_start
    );
    print!("{}", live::render(&result));
    Ok(ExitCode::SUCCESS)
}

async fn run_operations(
    arguments: OperationsArguments,
    machine: Machine,
) -> anyhow::Result<ExitCode> {
    let settings = operations::OperationsSettings {
        appc_todo_binary: arguments.appc_todo_bin,
        node_directory: arguments.node_dir,
        schema_sql: sqlite_migration(&arguments.example)?,
        server_core: (!arguments.common.no_pin).then_some(arguments.server_core),
        database_directory: arguments.database_dir.unwrap_or_else(std::env::temp_dir),
        client_counts: arguments.clients,
        duration: Duration::from_secs_f64(arguments.seconds.max(0.5)),
    };
    let results = operations::run(&settings).await?;
    println!(
        "{} ({} cores), load average at start {}",
        machine.cpu_model, machine.cores, machine.load_average_at_start
    );
    print!("{}", operations::render(&results));
    Ok(ExitCode::SUCCESS)
}

async fn run_processes(
    arguments: ProcessesArguments,
    machine: Machine,
) -> anyhow::Result<ExitCode> {
    check_descriptor_budget(arguments.clients, machine.file_descriptor_limit)?;
    let Some(postgres_url) = arguments
        .postgres_url
        .or_else(|| std::env::var("APPC_TEST_POSTGRES_URL").ok())
        .filter(|url| !url.is_empty())
    else {
        bail!(
            "the appc setups need PostgreSQL: pass --postgres-url or set APPC_TEST_POSTGRES_URL (tests/support/start-postgres.sh prints one)"
        );
    };
    let settings = ProcessesSettings {
        appc_chat_binary: arguments.appc_chat_bin,
        node_directory: arguments.node_dir,
        postgres_url,
        redis_server: arguments.redis_server,
        server_core: (!arguments.common.no_pin).then_some(arguments.server_core),
        broadcast: BroadcastConfig {
            clients: arguments.clients,
            senders: arguments.senders,
            rate_per_sender: arguments.rate,
            messages_per_sender: arguments.messages,
            payload_bytes: 64,
            drain_timeout: Duration::from_secs(90),
        },
        connect: connect_options(&arguments.common, uuid::Uuid::new_v4().to_string()),
        setups: Setup::standard(),
    };
    let results = processes::run(&settings).await;
    println!(
        "{} ({} cores), load average at start {}, now {}; {}",
        machine.cpu_model,
        machine.cores,
        machine.load_average_at_start,
        system::load_average(),
        match settings.server_core {
            Some(core) => format!(
                "load generator on core {}, app processes and Redis on core {core}{}",
                arguments.common.client_core,
                if arguments.common.realtime {
                    ", all in the SCHED_RR real-time class"
                } else {
                    ""
                }
            ),
            None => "not pinned".to_owned(),
        }
    );
    print!("{}", processes::render(&results));
    if let Some(path) = &arguments.json_out {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("could not write the JSON results to {}", path.display()))?;
    }
    if arguments.assert_delivery {
        let failures = processes::delivery_failures(&results);
        for failure in &failures {
            eprintln!("failed: {failure}");
        }
        if !failures.is_empty() {
            return Ok(ExitCode::FAILURE);
        }
        eprintln!(
            "processes: every client connected and got every message on all {} setups",
            results.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The one SQLite migration of the example (`migrations/*/sqlite.sql`).
fn sqlite_migration(example: &std::path::Path) -> anyhow::Result<PathBuf> {
    let migrations = example.join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&migrations)
        .with_context(|| format!("could not read {}", migrations.display()))?
        .flatten()
        .map(|entry| entry.path().join("sqlite.sql"))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    match files.as_slice() {
        [only] => Ok(only.clone()),
        _ => bail!(
            "{} should hold exactly one migration with a sqlite.sql, found {}",
            migrations.display(),
            files.len()
        ),
    }
}

fn run_dev_loop(arguments: &DevLoopArguments) -> anyhow::Result<ExitCode> {
    let settings = dev_loop::DevLoopSettings {
        appc: arguments
            .appc
            .clone()
            .unwrap_or_else(|| sibling_binary("appc")),
        example: arguments.example.clone(),
        runs: arguments.runs.max(1),
        port: match arguments.port {
            Some(port) => port,
            None => std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port(),
        },
        verbose: arguments.verbose,
    };
    let report = dev_loop::run(&settings)?;
    let server = dev_loop::median(&report.server_change_seconds);
    let spec = dev_loop::median(&report.spec_change_seconds);
    let verdict = |median: f64| if median < 5.0 { "met" } else { "missed" };
    let list = |values: &[f64]| {
        values
            .iter()
            .map(|value| format!("{value:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("appc dev, edit to serving (goal: median under 5 s after the first build)");
    println!(
        "  first build and start      {:.1} s",
        report.first_build_seconds
    );
    println!(
        "  server .rs change          median {server:.2} s ({}) [{}]",
        verdict(server),
        list(&report.server_change_seconds)
    );
    println!(
        "  spec change                median {spec:.2} s ({}) [{}]",
        verdict(spec),
        list(&report.spec_change_seconds)
    );
    Ok(ExitCode::SUCCESS)
}

async fn compare_servers(
    mut plan: Plan,
    arguments: ComparisonArguments,
    machine: Machine,
    assert_delivery: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(connections) = arguments.idle_connections {
        plan.idle.connections = connections;
    }
    check_descriptor_budget(plan.idle.connections, machine.file_descriptor_limit)?;
    if let Some(clients) = arguments.broadcast_clients {
        plan.broadcast.clients = clients;
    }
    if let Some(senders) = arguments.broadcast_senders {
        plan.broadcast.senders = senders;
    }
    if let Some(rate) = arguments.broadcast_rate {
        plan.broadcast.rate_per_sender = rate;
    }
    if let Some(messages) = arguments.broadcast_messages {
        plan.broadcast.messages_per_sender = messages;
    }
    if let Some(clients) = arguments.echo_clients {
        plan.echo.clients = clients;
    }
    if arguments.no_validation {
        plan.validation = None;
    }
    let appc_binary = arguments
        .appc_bin
        .clone()
        .unwrap_or_else(|| sibling_binary("standin-server"));
    let settings = RunSettings {
        commands: ServerCommands {
            appc_chat_binary: arguments
                .appc_chat_bin
                .clone()
                .unwrap_or_else(|| appc_binary.clone()),
            appc_echo_binary: arguments.appc_echo_bin.clone().unwrap_or(appc_binary),
            limit_binary: arguments
                .limit_bin
                .unwrap_or_else(|| sibling_binary("raw-limit-server")),
            node_directory: arguments
                .node_dir
                .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/node"))),
            server_core: (!arguments.common.no_pin).then_some(arguments.server_core),
            node_store_messages: arguments.node_store_messages,
            database_directory: arguments.database_dir.clone(),
        },
        servers: arguments
            .servers
            .iter()
            .map(|server| match server {
                ServerArgument::Appc => ServerKind::Appc,
                ServerArgument::Node => ServerKind::Node,
                ServerArgument::Limit => ServerKind::Limit,
            })
            .collect(),
        scenarios: arguments.scenarios.clone(),
        encoding: arguments.common.encoding,
        echo_encoding: arguments.echo_encoding.unwrap_or(arguments.common.encoding),
        connect: connect_options(&arguments.common, uuid::Uuid::new_v4().to_string()),
        client_core: (!arguments.common.no_pin).then_some(arguments.common.client_core),
        realtime: arguments.common.realtime,
    };
    let report = compare::run(&plan, &settings, machine).await;
    println!("{}", appc_bench::render::markdown(&report));
    if let Some(path) = &arguments.json_out {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("could not write the JSON report to {}", path.display()))?;
    }
    if assert_delivery {
        let failures = compare::quick_failures(&report);
        if !failures.is_empty() {
            for failure in &failures {
                eprintln!("failed: {failure}");
            }
            // A server can fail more than one check; never report fewer than zero passed.
            let checks = compare::quick_checks(&report).max(failures.len());
            eprintln!(
                "quick: {} passed, {} failed",
                checks - failures.len(),
                failures.len()
            );
            return Ok(ExitCode::FAILURE);
        }
        eprintln!(
            "quick: every server held its connections, delivered every message and matched socket.io-client"
        );
        eprintln!("quick: {} passed, 0 failed", compare::quick_checks(&report));
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_one(arguments: RunArguments, file_descriptor_limit: u64) -> anyhow::Result<ExitCode> {
    let protocol = if arguments.raw {
        ServerProtocol::RawWebSocket(arguments.common.encoding)
    } else {
        ServerProtocol::SocketIo(arguments.common.encoding)
    };
    let target = Target::from_url(&arguments.url, protocol)?;
    let options = connect_options(&arguments.common, arguments.jwt_secret.clone());
    let seconds = Duration::from_secs_f64(arguments.seconds.clamp(0.1, 3600.0));
    let pid = arguments.server_pid;
    let cpu = || pid.and_then(appc_bench::servers::cpu_seconds);
    let json = match arguments.scenario {
        ScenarioKind::Idle => {
            check_descriptor_budget(arguments.clients, file_descriptor_limit)?;
            let config = IdleConfig {
                connections: arguments.clients,
                hold: seconds,
            };
            let rss = || pid.and_then(appc_bench::servers::resident_bytes);
            serde_json::to_string_pretty(&scenarios::idle(target, &config, &options, &rss).await)?
        }
        ScenarioKind::Broadcast => {
            let config = BroadcastConfig {
                clients: arguments.clients,
                senders: arguments.senders,
                rate_per_sender: arguments.rate,
                messages_per_sender: arguments.messages,
                payload_bytes: arguments.payload_bytes,
                drain_timeout: Duration::from_secs(30),
            };
            serde_json::to_string_pretty(
                &scenarios::broadcast(target, &config, &options, &cpu).await,
            )?
        }
        ScenarioKind::Echo => {
            let config = EchoConfig {
                clients: arguments.clients,
                duration: seconds,
                payload_bytes: arguments.payload_bytes,
            };
            serde_json::to_string_pretty(&scenarios::echo(target, &config, &options, &cpu).await)?
        }
    };
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}

fn connect_options(common: &CommonArguments, jwt_secret: String) -> ConnectOptions {
    ConnectOptions {
        source_addresses: SourceAddresses::loopback(common.source_addresses),
        concurrency: common.connect_concurrency,
        timeout: Duration::from_secs(20),
        jwt_secret,
    }
}

fn check_descriptor_budget(connections: usize, file_descriptor_limit: u64) -> anyhow::Result<()> {
    if connections as u64 + 200 > file_descriptor_limit {
        bail!(
            "{connections} connections need more than this process's file-descriptor limit of {file_descriptor_limit}: raise the hard limit (`ulimit -Hn`, needs privileges) or ask for at most {} connections",
            file_descriptor_limit.saturating_sub(200)
        );
    }
    Ok(())
}
