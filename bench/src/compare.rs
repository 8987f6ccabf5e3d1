//! The side-by-side run: for each scenario, start each server (appc, the Node anchor, the raw
//! limit) in turn, load it with the same scenario, stop it, and compute the ratios appc/Node and
//! appc/limit that the goals of issue #8 are stated in. Also the socket.io-client validation.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::client::{ServerProtocol, Target};
use crate::protocol::Encoding;
use crate::scenarios::{
    self, BroadcastConfig, BroadcastResult, ConnectOptions, EchoConfig, EchoResult, IdleConfig,
    IdleResult,
};
use crate::servers::{AppKind, ServerCommands, ServerKind, ServerProcess};
use crate::system::Machine;

/// Which scenarios a run includes, with their sizes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: &'static str,
    pub idle: IdleConfig,
    pub broadcast: BroadcastConfig,
    pub echo: EchoConfig,
    pub validation: Option<ValidationConfig>,
}

/// The small broadcast run made both with the real `socket.io-client` and with appc-bench.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationConfig {
    pub clients: usize,
    pub senders: usize,
    pub messages: u64,
}

impl Plan {
    /// Seconds in all, small numbers; for CI, where it asserts only that messages are delivered
    /// and none is lost.
    pub fn quick() -> Plan {
        Plan {
            name: "quick",
            idle: IdleConfig {
                connections: 200,
                hold: Duration::from_secs(2),
            },
            broadcast: BroadcastConfig {
                clients: 50,
                senders: 5,
                rate_per_sender: 20.0,
                messages_per_sender: 20,
                payload_bytes: 64,
                drain_timeout: Duration::from_secs(10),
            },
            echo: EchoConfig {
                clients: 20,
                duration: Duration::from_secs(2),
                payload_bytes: 64,
            },
            validation: Some(ValidationConfig {
                clients: 20,
                senders: 5,
                messages: 100,
            }),
        }
    }

    /// The real figures. `idle_connections` is capped by the caller to what the machine's
    /// file-descriptor limit allows.
    pub fn full(idle_connections: usize) -> Plan {
        Plan {
            name: "full",
            idle: IdleConfig {
                connections: idle_connections,
                hold: Duration::from_secs(30),
            },
            broadcast: BroadcastConfig {
                clients: 1000,
                senders: 10,
                // 2,000 broadcasts a second to 1,000 clients is more than any of the three
                // servers delivers on one core, so deliveries per second measure capacity.
                rate_per_sender: 200.0,
                messages_per_sender: 300,
                payload_bytes: 64,
                drain_timeout: Duration::from_secs(90),
            },
            echo: EchoConfig {
                clients: 100,
                duration: Duration::from_secs(10),
                payload_bytes: 64,
            },
            validation: Some(ValidationConfig {
                clients: 20,
                senders: 5,
                messages: 100,
            }),
        }
    }
}

/// Everything about a run that is not the plan.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub commands: ServerCommands,
    pub servers: Vec<ServerKind>,
    pub scenarios: Vec<ScenarioKind>,
    /// The parser of the chat scenarios (idle, broadcast) and of the validation.
    pub encoding: Encoding,
    /// The parser of the echo scenario, on every server: the generated uppercase app speaks
    /// msgpack, so its comparison needs Node and the limit in msgpack too.
    pub echo_encoding: Encoding,
    pub connect: ConnectOptions,
    /// The core the load generator runs on, for the report.
    pub client_core: Option<usize>,
    /// Whether everything runs in the real-time round-robin class, for the report.
    pub realtime: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    Idle,
    Broadcast,
    Echo,
}

/// One scenario's results per server, and the ratios between them.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport<T> {
    pub results: BTreeMap<&'static str, T>,
    /// Servers that could not be measured, with the reason.
    pub errors: BTreeMap<&'static str, String>,
    pub ratios: BTreeMap<&'static str, f64>,
    pub goals: Vec<Goal>,
}

impl<T> Default for ScenarioReport<T> {
    fn default() -> Self {
        ScenarioReport {
            results: BTreeMap::new(),
            errors: BTreeMap::new(),
            ratios: BTreeMap::new(),
            goals: Vec::new(),
        }
    }
}

/// A goal of issue #8 and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

/// The outcome of validating appc-bench against the real socket.io-client on one server.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub server: &'static str,
    pub config: ValidationConfig,
    pub expected: u64,
    pub socket_io_client_delivered: Option<u64>,
    pub appc_bench_delivered: Option<u64>,
    pub matches: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub machine: Machine,
    pub encoding: Encoding,
    pub echo_encoding: Encoding,
    pub appc_server: String,
    pub appc_echo_server: String,
    pub node_stores_messages: bool,
    pub pinning: String,
    pub idle: Option<ScenarioReport<IdleResult>>,
    pub broadcast: Option<ScenarioReport<BroadcastResult>>,
    pub echo: Option<ScenarioReport<EchoResult>>,
    pub validations: Vec<Validation>,
}

/// Runs the plan's scenarios against every server in `settings`.
pub async fn run(plan: &Plan, settings: &RunSettings, machine: Machine) -> Report {
    let mut report = Report {
        mode: plan.name,
        machine,
        encoding: settings.encoding,
        echo_encoding: settings.echo_encoding,
        appc_server: settings.commands.appc_chat_binary.display().to_string(),
        appc_echo_server: settings.commands.appc_echo_binary.display().to_string(),
        node_stores_messages: settings.commands.node_store_messages,
        pinning: match (settings.client_core, settings.commands.server_core) {
            (Some(client), Some(server)) => {
                format!("load generator on core {client}, servers on core {server} (taskset)")
            }
            _ => "not pinned".to_string(),
        } + if settings.realtime {
            ", all in the SCHED_RR real-time class (--realtime)"
        } else {
            ""
        },
        idle: None,
        broadcast: None,
        echo: None,
        validations: Vec::new(),
    };
    if settings.scenarios.contains(&ScenarioKind::Idle) {
        let announce =
            |server: &str| format!("idle: {} connections on {server}", plan.idle.connections);
        let encoding = settings.encoding;
        let mut scenario = on_each_server(
            settings,
            AppKind::Chat,
            encoding,
            announce,
            async |server| {
                let target = target_of(server, encoding);
                let rss = || server.resident_bytes();
                scenarios::idle(target, &plan.idle, &settings.connect, &rss).await
            },
        )
        .await;
        idle_ratios(&mut scenario);
        report.idle = Some(scenario);
    }
    if settings.scenarios.contains(&ScenarioKind::Broadcast) {
        let announce = |server: &str| {
            format!(
                "broadcast: {} clients, {} senders at {}/s on {server}",
                plan.broadcast.clients, plan.broadcast.senders, plan.broadcast.rate_per_sender
            )
        };
        let encoding = settings.encoding;
        let mut scenario = on_each_server(
            settings,
            AppKind::Chat,
            encoding,
            announce,
            async |server| {
                let target = target_of(server, encoding);
                let cpu = || server.cpu_seconds();
                scenarios::broadcast(target, &plan.broadcast, &settings.connect, &cpu).await
            },
        )
        .await;
        broadcast_ratios(&mut scenario);
        report.broadcast = Some(scenario);
    }
    if settings.scenarios.contains(&ScenarioKind::Echo) {
        let announce = |server: &str| format!("echo: {} clients on {server}", plan.echo.clients);
        let encoding = settings.echo_encoding;
        let mut scenario = on_each_server(
            settings,
            AppKind::Uppercase,
            encoding,
            announce,
            async |server| {
                let target = target_of(server, encoding);
                let cpu = || server.cpu_seconds();
                scenarios::echo(target, &plan.echo, &settings.connect, &cpu).await
            },
        )
        .await;
        echo_ratios(&mut scenario);
        report.echo = Some(scenario);
    }
    if let Some(validation) = &plan.validation {
        for &server_kind in &settings.servers {
            if server_kind == ServerKind::Limit {
                // socket.io-client cannot talk to a raw WebSocket server.
                continue;
            }
            eprintln!(
                "validation: socket.io-client against {}",
                server_kind.name()
            );
            report
                .validations
                .push(validate(settings, server_kind, validation).await);
            settle().await;
        }
    }
    report
}

/// What a quick run must show: every connection made and held, messages delivered, nothing lost,
/// every echo client greeted and answered, and the validation matching. Speed is never asserted.
pub fn quick_failures(report: &Report) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some(idle) = &report.idle {
        for (server, error) in &idle.errors {
            failures.push(format!("idle on {server}: {error}"));
        }
        for (server, result) in &idle.results {
            if result.connected != result.connections_requested || result.dropped != 0 {
                failures.push(format!(
                    "idle on {server}: {} of {} connected, {} dropped (first failure: {})",
                    result.connected,
                    result.connections_requested,
                    result.dropped,
                    result.first_failure.as_deref().unwrap_or("none")
                ));
            }
        }
    }
    if let Some(broadcast) = &report.broadcast {
        for (server, error) in &broadcast.errors {
            failures.push(format!("broadcast on {server}: {error}"));
        }
        for (server, result) in &broadcast.results {
            if result.delivered == 0
                || result.lost != 0
                || result.connected != result.clients
                || result.dropped_connections != 0
            {
                failures.push(format!(
                    "broadcast on {server}: {} delivered, {} lost, {} of {} connected, {} dropped (first failure: {})",
                    result.delivered,
                    result.lost,
                    result.connected,
                    result.clients,
                    result.dropped_connections,
                    result.first_failure.as_deref().unwrap_or("none")
                ));
            }
        }
    }
    if let Some(echo) = &report.echo {
        for (server, error) in &echo.errors {
            failures.push(format!("echo on {server}: {error}"));
        }
        for (server, result) in &echo.results {
            // A client that could not connect sends nothing, so the others' round trips alone
            // would hide it: every requested client must connect.
            if result.round_trips == 0
                || result.connected != result.clients
                || result.missing_greetings != 0
                || result.dropped_connections != 0
            {
                failures.push(format!(
                    "echo on {server}: {} round trips, {} of {} connected, {} missing greetings, {} dropped (first failure: {})",
                    result.round_trips,
                    result.connected,
                    result.clients,
                    result.missing_greetings,
                    result.dropped_connections,
                    result.first_failure.as_deref().unwrap_or("none")
                ));
            }
        }
    }
    for validation in &report.validations {
        if !validation.matches {
            failures.push(format!(
                "validation on {}: socket.io-client delivered {:?}, appc-bench {:?}, expected {} ({})",
                validation.server,
                validation.socket_io_client_delivered,
                validation.appc_bench_delivered,
                validation.expected,
                validation.error.as_deref().unwrap_or("counts differ")
            ));
        }
    }
    failures
}

/// How many results [`quick_failures`] checked: one per scenario and server, one per validation.
pub fn quick_checks(report: &Report) -> usize {
    let idle = report
        .idle
        .as_ref()
        .map_or(0, |scenario| scenario.results.len() + scenario.errors.len());
    let broadcast = report
        .broadcast
        .as_ref()
        .map_or(0, |scenario| scenario.results.len() + scenario.errors.len());
    let echo = report
        .echo
        .as_ref()
        .map_or(0, |scenario| scenario.results.len() + scenario.errors.len());
    idle + broadcast + echo + report.validations.len()
}

/// Runs one scenario on every server of the run, one after the other (each started for it and
/// stopped after it), recording each result, or why a server could not be started.
async fn on_each_server<T>(
    settings: &RunSettings,
    app: AppKind,
    encoding: Encoding,
    announce: impl Fn(&str) -> String,
    measure: impl AsyncFn(&ServerProcess) -> T,
) -> ScenarioReport<T> {
    let mut scenario = ScenarioReport::default();
    for &server_kind in &settings.servers {
        eprintln!("{}", announce(server_kind.name()));
        match start(settings, server_kind, app, encoding) {
            Ok(server) => {
                let result = measure(&server).await;
                scenario.results.insert(server_kind.name(), result);
            }
            Err(error) => {
                scenario
                    .errors
                    .insert(server_kind.name(), format!("{error:#}"));
            }
        }
        settle().await;
    }
    scenario
}

fn start(
    settings: &RunSettings,
    kind: ServerKind,
    app: AppKind,
    encoding: Encoding,
) -> anyhow::Result<ServerProcess> {
    ServerProcess::start(
        &settings.commands,
        kind,
        app,
        encoding,
        &settings.connect.jwt_secret,
    )
}

fn target_of(server: &ServerProcess, encoding: Encoding) -> Target {
    let protocol = match server.kind {
        ServerKind::Limit => ServerProtocol::RawWebSocket(encoding),
        ServerKind::Appc | ServerKind::Node => ServerProtocol::SocketIo(encoding),
    };
    Target {
        address: server.address,
        protocol,
    }
}

/// Lets closed connections leave TIME_WAIT bookkeeping and the previous server exit fully.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0 && numerator.is_finite()).then(|| numerator / denominator)
}

impl<T> ScenarioReport<T> {
    /// Records `metric(appc) / metric(other)` under `name` when both servers were measured, and
    /// returns it so that a goal can be judged on it.
    fn record_ratio(
        &mut self,
        name: &'static str,
        other: &str,
        metric: impl Fn(&T) -> Option<f64>,
    ) -> Option<f64> {
        let appc = self.results.get("appc").and_then(&metric)?;
        let other = self.results.get(other).and_then(&metric)?;
        let value = ratio(appc, other)?;
        self.ratios.insert(name, value);
        Some(value)
    }

    fn push_goal(&mut self, goal: &str, measured: String, met: bool) {
        self.goals.push(Goal {
            goal: goal.to_string(),
            measured,
            met,
        });
    }
}

fn idle_ratios(scenario: &mut ScenarioReport<IdleResult>) {
    let per_connection = |result: &IdleResult| result.rss_per_connection_bytes;
    if let Some(value) = scenario.record_ratio(
        "memory_per_connection_appc_over_node",
        "node",
        per_connection,
    ) {
        scenario.push_goal(
            "memory per connection at most 1/5 of Node's",
            format!("appc/node = {value:.3}"),
            value <= 0.2,
        );
    }
    scenario.record_ratio(
        "memory_per_connection_appc_over_limit",
        "limit",
        per_connection,
    );
    if let Some(appc) = scenario.results.get("appc") {
        let measured = format!(
            "{} held of {} requested, {} failed, {} dropped",
            appc.connected - appc.dropped.min(appc.connected),
            appc.connections_requested,
            appc.failed,
            appc.dropped
        );
        let met = appc.connected >= 50_000 && appc.dropped == 0 && appc.failed == 0;
        scenario.push_goal(
            "at least 50,000 authenticated connections held with 0 drops",
            measured,
            met,
        );
    }
}

fn broadcast_ratios(scenario: &mut ScenarioReport<BroadcastResult>) {
    let rate = |result: &BroadcastResult| Some(result.deliveries_per_second);
    let p99 = |result: &BroadcastResult| Some(result.latency.p99_us as f64);
    let efficiency = |result: &BroadcastResult| result.deliveries_per_server_cpu_second;
    if let Some(value) = scenario.record_ratio("deliveries_per_second_appc_over_node", "node", rate)
    {
        scenario.push_goal(
            "deliveries per second at least 5x Node's",
            format!("appc/node = {value:.2}"),
            value >= 5.0,
        );
    }
    if let Some(value) =
        scenario.record_ratio("deliveries_per_second_appc_over_limit", "limit", rate)
    {
        scenario.push_goal(
            "deliveries per second at least 60% of the raw-WebSocket limit",
            format!("appc/limit = {value:.2}"),
            value >= 0.6,
        );
    }
    if let Some(value) = scenario.record_ratio("p99_latency_appc_over_node", "node", p99) {
        scenario.push_goal(
            "p99 latency lower than Node's",
            format!("appc/node = {value:.3}"),
            value < 1.0,
        );
    }
    scenario.record_ratio("p99_latency_appc_over_limit", "limit", p99);
    scenario.record_ratio(
        "deliveries_per_server_cpu_second_appc_over_node",
        "node",
        efficiency,
    );
    scenario.record_ratio(
        "deliveries_per_server_cpu_second_appc_over_limit",
        "limit",
        efficiency,
    );
    if let Some(appc) = scenario.results.get("appc") {
        let measured = format!("{} lost of {}", appc.lost, appc.expected_deliveries);
        let met = appc.lost == 0;
        scenario.push_goal("no message lost", measured, met);
    }
}

fn echo_ratios(scenario: &mut ScenarioReport<EchoResult>) {
    let rate = |result: &EchoResult| Some(result.round_trips_per_second);
    let p99 = |result: &EchoResult| Some(result.latency.p99_us as f64);
    let efficiency = |result: &EchoResult| result.round_trips_per_server_cpu_second;
    if let Some(value) =
        scenario.record_ratio("round_trips_per_second_appc_over_node", "node", rate)
    {
        scenario.push_goal(
            "round trips per second at least 3x Node's",
            format!("appc/node = {value:.2}"),
            value >= 3.0,
        );
    }
    scenario.record_ratio("round_trips_per_second_appc_over_limit", "limit", rate);
    scenario.record_ratio(
        "round_trips_per_server_cpu_second_appc_over_node",
        "node",
        efficiency,
    );
    scenario.record_ratio(
        "round_trips_per_server_cpu_second_appc_over_limit",
        "limit",
        efficiency,
    );
    if let Some(value) = scenario.record_ratio("p99_latency_appc_over_node", "node", p99) {
        scenario.push_goal(
            "p99 latency lower than Node's",
            format!("appc/node = {value:.3}"),
            value < 1.0,
        );
    }
    scenario.record_ratio("p99_latency_appc_over_limit", "limit", p99);
}

/// Runs the same small broadcast with `bench/node/validate.mjs` (the real socket.io-client) and
/// with appc-bench against a fresh server, and compares the delivered counts.
async fn validate(
    settings: &RunSettings,
    server_kind: ServerKind,
    config: &ValidationConfig,
) -> Validation {
    let messages_per_sender = config.messages / config.senders.max(1) as u64;
    let expected = messages_per_sender * config.senders as u64 * config.clients as u64;
    let mut validation = Validation {
        server: server_kind.name(),
        config: config.clone(),
        expected,
        socket_io_client_delivered: None,
        appc_bench_delivered: None,
        matches: false,
        error: None,
    };
    let outcome: anyhow::Result<()> = async {
        let server = start(settings, server_kind, AppKind::Chat, settings.encoding)?;
        let url = format!("http://{}", server.address);
        validation.socket_io_client_delivered = Some(run_socket_io_client(
            &settings.commands.node_directory,
            &url,
            &settings.connect.jwt_secret,
            settings.encoding,
            config,
        )?);
        let broadcast = BroadcastConfig {
            clients: config.clients,
            senders: config.senders,
            rate_per_sender: 50.0,
            messages_per_sender,
            payload_bytes: 64,
            drain_timeout: Duration::from_secs(10),
        };
        let cpu = || server.cpu_seconds();
        let result = scenarios::broadcast(
            target_of(&server, settings.encoding),
            &broadcast,
            &settings.connect,
            &cpu,
        )
        .await;
        validation.appc_bench_delivered = Some(result.delivered);
        Ok(())
    }
    .await;
    if let Err(error) = outcome {
        validation.error = Some(format!("{error:#}"));
    }
    validation.matches = validation.socket_io_client_delivered == Some(expected)
        && validation.appc_bench_delivered == Some(expected);
    validation
}

#[derive(serde::Deserialize)]
struct SocketIoClientOutcome {
    delivered: u64,
}

fn run_socket_io_client(
    node_directory: &Path,
    url: &str,
    jwt_secret: &str,
    encoding: Encoding,
    config: &ValidationConfig,
) -> anyhow::Result<u64> {
    let script = node_directory.join("validate.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .args(["--url", url])
        .args(["--clients", &config.clients.to_string()])
        .args(["--senders", &config.senders.to_string()])
        .args(["--messages", &config.messages.to_string()])
        .args(["--encoding", encoding.name()])
        .env("JWT_SECRET", jwt_secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not run node {}", script.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{} did not finish within 60 s", script.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut output)?;
    }
    if !status.success() {
        bail!("{} failed with {status}: {output}", script.display());
    }
    let outcome: SocketIoClientOutcome =
        serde_json::from_str(output.trim()).with_context(|| {
            format!(
                "{} printed `{}`, not its JSON result",
                script.display(),
                output.trim()
            )
        })?;
    Ok(outcome.delivered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{CpuUse, Latency};

    fn machine() -> Machine {
        Machine {
            cpu_model: "test".to_string(),
            cores: 2,
            memory_gib: 1.0,
            kernel: "test".to_string(),
            file_descriptor_limit: 1024,
            load_average_at_start: "0.00".to_string(),
        }
    }

    fn idle_result() -> IdleResult {
        IdleResult {
            connections_requested: 200,
            connected: 200,
            failed: 0,
            dropped: 0,
            connect_seconds: 0.5,
            hold_seconds: 2.0,
            server_rss_before_bytes: Some(1_000_000),
            server_rss_held_bytes: Some(2_000_000),
            rss_per_connection_bytes: Some(5_000.0),
            first_failure: None,
        }
    }

    fn broadcast_result() -> BroadcastResult {
        BroadcastResult {
            clients: 50,
            senders: 5,
            connected: 50,
            failed: 0,
            messages_sent: 100,
            expected_deliveries: 5_000,
            delivered: 5_000,
            lost: 0,
            dropped_connections: 0,
            offered_deliveries_per_second: 5_000.0,
            deliveries_per_second: 5_000.0,
            elapsed_seconds: 1.0,
            latency: Latency::default(),
            cpu: CpuUse::default(),
            deliveries_per_server_cpu_second: None,
            first_failure: None,
        }
    }

    fn echo_result() -> EchoResult {
        EchoResult {
            clients: 20,
            connected: 20,
            failed: 0,
            missing_greetings: 0,
            round_trips: 10_000,
            round_trips_per_second: 5_000.0,
            elapsed_seconds: 2.0,
            dropped_connections: 0,
            latency: Latency::default(),
            cpu: CpuUse::default(),
            round_trips_per_server_cpu_second: None,
            first_failure: None,
        }
    }

    fn scenario<T>(result: T) -> Option<ScenarioReport<T>> {
        let mut scenario = ScenarioReport::default();
        scenario.results.insert("appc", result);
        Some(scenario)
    }

    fn validation(matches: bool) -> Validation {
        Validation {
            server: "appc",
            config: ValidationConfig {
                clients: 20,
                senders: 5,
                messages: 100,
            },
            expected: 2_000,
            socket_io_client_delivered: Some(2_000),
            appc_bench_delivered: Some(if matches { 2_000 } else { 1_999 }),
            matches,
            error: None,
        }
    }

    /// A quick run in which every server did everything it should.
    fn passing_report() -> Report {
        Report {
            mode: "quick",
            machine: machine(),
            encoding: Encoding::Json,
            echo_encoding: Encoding::Json,
            appc_server: "standin-server".to_string(),
            appc_echo_server: "standin-server".to_string(),
            node_stores_messages: false,
            pinning: "not pinned".to_string(),
            idle: scenario(idle_result()),
            broadcast: scenario(broadcast_result()),
            echo: scenario(echo_result()),
            validations: vec![validation(true)],
        }
    }

    #[test]
    fn a_run_where_everything_arrived_passes_every_check() {
        let report = passing_report();
        assert_eq!(quick_failures(&report), Vec::<String>::new());
        assert_eq!(quick_checks(&report), 4);
    }

    #[test]
    fn an_echo_client_that_could_not_connect_fails_the_run() {
        let mut report = passing_report();
        let echo = report
            .echo
            .as_mut()
            .unwrap()
            .results
            .get_mut("appc")
            .unwrap();
        echo.connected = 19;
        echo.failed = 1;
        echo.first_failure = Some("connection refused".to_string());
        let failures = quick_failures(&report);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("19 of 20 connected"), "{failures:?}");
        assert!(failures[0].contains("connection refused"), "{failures:?}");
    }

    #[test]
    fn echo_without_round_trips_greetings_or_with_drops_fails() {
        let breakages: [fn(&mut EchoResult); 3] = [
            |echo| echo.round_trips = 0,
            |echo| echo.missing_greetings = 1,
            |echo| echo.dropped_connections = 1,
        ];
        for break_it in breakages {
            let mut report = passing_report();
            break_it(
                report
                    .echo
                    .as_mut()
                    .unwrap()
                    .results
                    .get_mut("appc")
                    .unwrap(),
            );
            assert_eq!(quick_failures(&report).len(), 1);
        }
    }

    #[test]
    fn idle_connections_not_made_or_dropped_fail() {
        let breakages: [fn(&mut IdleResult); 2] =
            [|idle| idle.connected = 199, |idle| idle.dropped = 1];
        for break_it in breakages {
            let mut report = passing_report();
            break_it(
                report
                    .idle
                    .as_mut()
                    .unwrap()
                    .results
                    .get_mut("appc")
                    .unwrap(),
            );
            assert_eq!(quick_failures(&report).len(), 1);
        }
    }

    #[test]
    fn broadcasts_lost_undelivered_unconnected_or_dropped_fail() {
        let breakages: [fn(&mut BroadcastResult); 4] = [
            |broadcast| broadcast.lost = 1,
            |broadcast| broadcast.delivered = 0,
            |broadcast| broadcast.connected = 49,
            |broadcast| broadcast.dropped_connections = 1,
        ];
        for break_it in breakages {
            let mut report = passing_report();
            break_it(
                report
                    .broadcast
                    .as_mut()
                    .unwrap()
                    .results
                    .get_mut("appc")
                    .unwrap(),
            );
            assert_eq!(quick_failures(&report).len(), 1);
        }
    }

    #[test]
    fn a_server_that_did_not_start_and_a_mismatched_validation_fail() {
        let mut report = passing_report();
        report
            .idle
            .as_mut()
            .unwrap()
            .errors
            .insert("node", "the node server exited at start".to_string());
        report.validations.push(validation(false));
        let failures = quick_failures(&report);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("idle on node"), "{failures:?}");
        assert!(failures[1].contains("validation on appc"), "{failures:?}");
        assert_eq!(quick_checks(&report), 6);
    }
}
