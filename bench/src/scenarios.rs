//! The three benchmark scenarios, each bounded in count and time and talking to its server only
//! through a [`Target`] address: `idle` (hold many authenticated connections), `broadcast` (chat
//! messages fanned out to every client at a fixed send rate) and `echo` (the uppercase app in a
//! closed loop). Each returns a serialisable result; none of them asserts anything.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{Barrier, watch};
use tokio::time::Interval;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, ServerProtocol, SourceAddresses, Target, WebSocket};
use crate::jwt;
use crate::payload::{self, Stamp};
use crate::protocol::{self, Encoding, Incoming};

/// How connections are opened in every scenario.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub source_addresses: SourceAddresses,
    /// How many connections may be opening at once.
    pub concurrency: usize,
    /// How long one connection may take to open and connect to the namespace.
    pub timeout: Duration,
    /// The HS256 secret the tokens are signed with (the servers get it as `JWT_SECRET`).
    pub jwt_secret: String,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

impl Latency {
    fn from_histogram(histogram: &Histogram<u64>) -> Latency {
        if histogram.is_empty() {
            return Latency::default();
        }
        Latency {
            samples: histogram.len(),
            p50_us: histogram.value_at_quantile(0.50),
            p99_us: histogram.value_at_quantile(0.99),
            max_us: histogram.max(),
            mean_us: histogram.mean(),
        }
    }
}

/// CPU use of the server and of the load generator over a scenario's measured window, so that a
/// result limited by the load generator (its core at 100%) can be told from one limited by the
/// server, and so that servers can be compared per CPU-second they spent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuUse {
    pub window_seconds: f64,
    pub server_cpu_seconds: Option<f64>,
    /// Server CPU seconds per wall second (1.0 = one core busy).
    pub server_utilisation: Option<f64>,
    pub load_generator_utilisation: Option<f64>,
}

/// Measures [`CpuUse`] from its start to [`CpuMeter::finish`].
pub struct CpuMeter<'a> {
    server_cpu: &'a dyn Fn() -> Option<f64>,
    started: Instant,
    server_at_start: Option<f64>,
    load_generator_at_start: Option<f64>,
}

impl<'a> CpuMeter<'a> {
    pub fn start(server_cpu: &'a dyn Fn() -> Option<f64>) -> CpuMeter<'a> {
        CpuMeter {
            server_cpu,
            started: Instant::now(),
            server_at_start: server_cpu(),
            load_generator_at_start: crate::servers::cpu_seconds(std::process::id()),
        }
    }

    pub fn finish(self) -> CpuUse {
        let window_seconds = self.started.elapsed().as_secs_f64();
        let server_cpu_seconds = match (self.server_at_start, (self.server_cpu)()) {
            (Some(start), Some(end)) => Some(end - start),
            _ => None,
        };
        let load_generator_cpu_seconds = match (
            self.load_generator_at_start,
            crate::servers::cpu_seconds(std::process::id()),
        ) {
            (Some(start), Some(end)) => Some(end - start),
            _ => None,
        };
        let per_second = |seconds: Option<f64>| {
            seconds
                .filter(|_| window_seconds > 0.0)
                .map(|seconds| seconds / window_seconds)
        };
        CpuUse {
            window_seconds,
            server_cpu_seconds,
            server_utilisation: per_second(server_cpu_seconds),
            load_generator_utilisation: per_second(load_generator_cpu_seconds),
        }
    }
}

/// A monotonic clock shared by every connection of a run, so send and receive times compare.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    pub fn now_nanos(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

/// The result of opening a batch of connections.
pub struct Connections {
    pub websockets: Vec<WebSocket>,
    pub failed: usize,
    pub first_failure: Option<String>,
    pub seconds: f64,
}

/// Opens `count` connections, authenticated as users `user-0`, `user-1`, ...
pub async fn connect_many(target: Target, count: usize, options: &ConnectOptions) -> Connections {
    connect_spread(&[target], count, options).await
}

/// Opens `count` connections like [`connect_many`], the `index`-th to `targets[index %
/// targets.len()]`: the processes of one app share its clients evenly.
pub async fn connect_spread(
    targets: &[Target],
    count: usize,
    options: &ConnectOptions,
) -> Connections {
    assert!(!targets.is_empty(), "connections need at least one target");
    let started = Instant::now();
    let expiry = jwt::unix_now() + 24 * 3600;
    let results: Vec<anyhow::Result<WebSocket>> = futures_util::stream::iter(0..count)
        .map(|index| {
            let claims = jwt::Claims {
                sub: index.to_string(),
                username: format!("user-{index}"),
                iat: jwt::unix_now(),
                exp: expiry,
            };
            let token = jwt::mint(options.jwt_secret.as_bytes(), &claims);
            let source = options.source_addresses.for_connection(index);
            let timeout = options.timeout;
            let target = targets[index % targets.len()];
            async move { client::open(target, source, &token, timeout).await }
        })
        // In order, so that the `index`-th connection is the `index`-th of the result: the
        // broadcast's first connections are its senders, spread over the targets like the rest.
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    let mut connections = Connections {
        websockets: Vec::with_capacity(count),
        failed: 0,
        first_failure: None,
        seconds: 0.0,
    };
    for result in results {
        match result {
            Ok(websocket) => connections.websockets.push(websocket),
            Err(error) => {
                connections.failed += 1;
                connections
                    .first_failure
                    .get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    connections.seconds = started.elapsed().as_secs_f64();
    connections
}

// ---------------------------------------------------------------------------------------------
// idle

/// The idle scenario: hold `connections` authenticated connections for `hold`.
#[derive(Debug, Clone)]
pub struct IdleConfig {
    pub connections: usize,
    pub hold: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleResult {
    pub connections_requested: usize,
    pub connected: usize,
    pub failed: usize,
    /// Connections the server closed (or that broke) during the hold.
    pub dropped: usize,
    pub connect_seconds: f64,
    pub hold_seconds: f64,
    pub server_rss_before_bytes: Option<u64>,
    pub server_rss_held_bytes: Option<u64>,
    /// (RSS while holding - RSS before) / connections held.
    pub rss_per_connection_bytes: Option<f64>,
    pub first_failure: Option<String>,
}

pub async fn idle(
    target: Target,
    config: &IdleConfig,
    options: &ConnectOptions,
    server_rss: &dyn Fn() -> Option<u64>,
) -> IdleResult {
    let server_rss_before_bytes = server_rss();
    let connections = connect_many(target, config.connections, options).await;
    let connected = connections.websockets.len();
    let hold_started = Instant::now();
    let deadline = tokio::time::Instant::now() + config.hold;
    let holders: Vec<_> = connections
        .websockets
        .into_iter()
        .map(|websocket| tokio::spawn(hold_connection(websocket, deadline)))
        .collect();
    let mut survivors = Vec::with_capacity(connected);
    let mut dropped = 0;
    for holder in holders {
        match holder.await {
            Ok(Some(websocket)) => survivors.push(websocket),
            _ => dropped += 1,
        }
    }
    let hold_seconds = hold_started.elapsed().as_secs_f64();
    // Measured while every surviving connection is still open.
    let server_rss_held_bytes = server_rss();
    drop(survivors);
    let rss_per_connection_bytes = match (server_rss_before_bytes, server_rss_held_bytes) {
        (Some(before), Some(held)) if connected > 0 => {
            Some((held as f64 - before as f64) / connected as f64)
        }
        _ => None,
    };
    IdleResult {
        connections_requested: config.connections,
        connected,
        failed: connections.failed,
        dropped,
        connect_seconds: connections.seconds,
        hold_seconds,
        server_rss_before_bytes,
        server_rss_held_bytes,
        rss_per_connection_bytes,
        first_failure: connections.first_failure,
    }
}

/// Keeps one connection open until `deadline`, answering pings; gives it back if it survived.
async fn hold_connection(
    mut websocket: WebSocket,
    deadline: tokio::time::Instant,
) -> Option<WebSocket> {
    loop {
        tokio::select! {
            frame = websocket.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(message)) => {
                    if protocol::is_ping(&message) && websocket.send(protocol::pong()).await.is_err() {
                        return None;
                    }
                }
            },
            _ = tokio::time::sleep_until(deadline) => return Some(websocket),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// broadcast

/// The broadcast scenario: `clients` connections in the chat, the first `senders` of them each
/// sending `messages_per_sender` messages at `rate_per_sender` per second; every message is
/// delivered to every client (the sender too, as `io.emit` does).
#[derive(Debug, Clone)]
pub struct BroadcastConfig {
    pub clients: usize,
    pub senders: usize,
    pub rate_per_sender: f64,
    pub messages_per_sender: u64,
    pub payload_bytes: usize,
    /// How long to wait for outstanding deliveries after the last send.
    pub drain_timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct BroadcastResult {
    pub clients: usize,
    pub senders: usize,
    pub connected: usize,
    pub failed: usize,
    pub messages_sent: u64,
    pub expected_deliveries: u64,
    pub delivered: u64,
    pub lost: u64,
    pub dropped_connections: u64,
    pub offered_deliveries_per_second: f64,
    pub deliveries_per_second: f64,
    /// From the first send to the last delivery.
    pub elapsed_seconds: f64,
    pub latency: Latency,
    pub cpu: CpuUse,
    /// Deliveries per CPU-second the server spent: its efficiency, whoever limited the rate.
    pub deliveries_per_server_cpu_second: Option<f64>,
    pub first_failure: Option<String>,
}

struct BroadcastCounters {
    clock: Clock,
    sent: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    first_send_nanos: AtomicU64,
    last_delivery_nanos: AtomicU64,
    latencies: Mutex<Histogram<u64>>,
}

#[derive(Debug, Clone, Copy)]
struct SenderPlan {
    sender: u64,
    first_send_after: Duration,
    period: Duration,
    messages: u64,
}

pub async fn broadcast(
    target: Target,
    config: &BroadcastConfig,
    options: &ConnectOptions,
    server_cpu: &dyn Fn() -> Option<f64>,
) -> BroadcastResult {
    broadcast_spread(&[target], config, options, server_cpu).await
}

/// The broadcast scenario over the processes of one app (`targets`, which share the clients
/// evenly, senders included): every message must still reach every client, whichever process
/// its sender is on. `server_cpu` is the CPU time of all the processes together.
pub async fn broadcast_spread(
    targets: &[Target],
    config: &BroadcastConfig,
    options: &ConnectOptions,
    server_cpu: &dyn Fn() -> Option<f64>,
) -> BroadcastResult {
    let connections = connect_spread(targets, config.clients, options).await;
    let connected = connections.websockets.len();
    let senders = config.senders.min(connected);
    let counters = Arc::new(BroadcastCounters {
        clock: Clock::new(),
        sent: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        first_send_nanos: AtomicU64::new(u64::MAX),
        last_delivery_nanos: AtomicU64::new(0),
        latencies: Mutex::new(new_latency_histogram()),
    });
    let (stop_sender, stop_receiver) = watch::channel(false);
    let period = Duration::from_secs_f64(1.0 / config.rate_per_sender.max(0.001));
    let encoding = event_encoding(targets[0].protocol);
    let cpu_meter = CpuMeter::start(server_cpu);
    let tasks: Vec<_> = connections
        .websockets
        .into_iter()
        .enumerate()
        .map(|(index, websocket)| {
            // Senders start 100 ms in and are staggered over one period, so that the offered
            // load is a steady rate rather than bursts of simultaneous sends.
            let plan = (index < senders).then(|| SenderPlan {
                sender: index as u64,
                first_send_after: Duration::from_millis(100)
                    + period.mul_f64(index as f64 / senders.max(1) as f64),
                period,
                messages: config.messages_per_sender,
            });
            tokio::spawn(broadcast_client(
                websocket,
                encoding,
                plan,
                config.payload_bytes,
                Arc::clone(&counters),
                stop_receiver.clone(),
            ))
        })
        .collect();

    let total_to_send = senders as u64 * config.messages_per_sender;
    let sending_time =
        period.mul_f64(config.messages_per_sender as f64) + Duration::from_millis(200);
    // The scenario ends by itself: sending may overrun its schedule by at most twice its length.
    let give_up_sending_at = Instant::now() + sending_time * 3 + Duration::from_secs(5);
    let mut sending_finished_at: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent = counters.sent.load(Ordering::Relaxed);
        let delivered = counters.delivered.load(Ordering::Relaxed);
        let now = Instant::now();
        if sending_finished_at.is_none() && (sent >= total_to_send || now >= give_up_sending_at) {
            sending_finished_at = Some(now);
        }
        if let Some(finished) = sending_finished_at {
            let expected = sent * connected as u64;
            if delivered >= expected || now >= finished + config.drain_timeout {
                break;
            }
        }
    }
    let cpu = cpu_meter.finish();
    let _ = stop_sender.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }

    let messages_sent = counters.sent.load(Ordering::Relaxed);
    let delivered = counters.delivered.load(Ordering::Relaxed);
    let expected_deliveries = messages_sent * connected as u64;
    let first_send = counters.first_send_nanos.load(Ordering::Relaxed);
    let last_delivery = counters.last_delivery_nanos.load(Ordering::Relaxed);
    let elapsed_seconds = if last_delivery > first_send {
        (last_delivery - first_send) as f64 / 1e9
    } else {
        0.0
    };
    let latency = Latency::from_histogram(
        &counters
            .latencies
            .lock()
            .expect("no task panics while holding the histogram"),
    );
    BroadcastResult {
        clients: config.clients,
        senders,
        connected,
        failed: connections.failed,
        messages_sent,
        expected_deliveries,
        delivered,
        lost: expected_deliveries.saturating_sub(delivered),
        dropped_connections: counters.dropped.load(Ordering::Relaxed),
        offered_deliveries_per_second: senders as f64 * config.rate_per_sender * connected as f64,
        deliveries_per_second: if elapsed_seconds > 0.0 {
            delivered as f64 / elapsed_seconds
        } else {
            0.0
        },
        elapsed_seconds,
        latency,
        deliveries_per_server_cpu_second: cpu
            .server_cpu_seconds
            .filter(|seconds| *seconds > 0.0)
            .map(|seconds| delivered as f64 / seconds),
        cpu,
        first_failure: connections.first_failure,
    }
}

async fn broadcast_client(
    mut websocket: WebSocket,
    encoding: Encoding,
    plan: Option<SenderPlan>,
    payload_bytes: usize,
    counters: Arc<BroadcastCounters>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker: Option<Interval> = plan.map(|plan| {
        tokio::time::interval_at(
            tokio::time::Instant::now() + plan.first_send_after,
            plan.period,
        )
    });
    let mut remaining = plan.map_or(0, |plan| plan.messages);
    let mut sequence = 0;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            frame = websocket.next() => {
                let Some(Ok(message)) = frame else {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                if protocol::is_ping(&message) {
                    if websocket.send(protocol::pong()).await.is_err() {
                        counters.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    continue;
                }
                if let Some(stamp) = protocol::event_frame_bytes(&message, "chatMessage")
                    .and_then(|bytes| payload::find_stamp(bytes, payload::MARKER))
                {
                    let now = counters.clock.now_nanos();
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    counters.last_delivery_nanos.fetch_max(now, Ordering::Relaxed);
                    record_latency(&counters.latencies, now.saturating_sub(stamp.sent_at_nanos));
                } else if matches!(message, Message::Close(_)) {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            _ = next_tick(&mut ticker), if remaining > 0 => {
                let Some(plan) = plan else { continue };
                let now = counters.clock.now_nanos();
                let text = payload::stamped_text(
                    Stamp { sender: plan.sender, sequence, sent_at_nanos: now },
                    payload_bytes,
                );
                if websocket.send(protocol::event(encoding, "chatMessage", &text)).await.is_err() {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                counters.first_send_nanos.fetch_min(now, Ordering::Relaxed);
                counters.sent.fetch_add(1, Ordering::Relaxed);
                sequence += 1;
                remaining -= 1;
            }
        }
    }
}

async fn next_tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

// ---------------------------------------------------------------------------------------------
// echo

/// The echo scenario: `clients` connections of the uppercase app, each sending `textInput` and
/// waiting for its `uppercase` reply before sending the next, for `duration`.
#[derive(Debug, Clone)]
pub struct EchoConfig {
    pub clients: usize,
    pub duration: Duration,
    pub payload_bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct EchoResult {
    pub clients: usize,
    pub connected: usize,
    pub failed: usize,
    /// Clients that never received the app's `greeting` after connecting.
    pub missing_greetings: u64,
    pub round_trips: u64,
    pub round_trips_per_second: f64,
    pub elapsed_seconds: f64,
    pub dropped_connections: u64,
    pub latency: Latency,
    pub cpu: CpuUse,
    /// Round trips per CPU-second the server spent: its efficiency, whoever limited the rate.
    pub round_trips_per_server_cpu_second: Option<f64>,
    pub first_failure: Option<String>,
}

struct EchoCounters {
    clock: Clock,
    round_trips: AtomicU64,
    missing_greetings: AtomicU64,
    dropped: AtomicU64,
    latencies: Mutex<Histogram<u64>>,
}

pub async fn echo(
    target: Target,
    config: &EchoConfig,
    options: &ConnectOptions,
    server_cpu: &dyn Fn() -> Option<f64>,
) -> EchoResult {
    let connections = connect_many(target, config.clients, options).await;
    let connected = connections.websockets.len();
    let counters = Arc::new(EchoCounters {
        clock: Clock::new(),
        round_trips: AtomicU64::new(0),
        missing_greetings: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        latencies: Mutex::new(new_latency_histogram()),
    });
    // Every client first receives its greeting; then all start together.
    let barrier = Arc::new(Barrier::new(connected + 1));
    // The deadline is known only once every client has its greeting, hence a watch channel.
    let (deadline_sender, deadline_receiver) = watch::channel(None::<tokio::time::Instant>);
    let encoding = event_encoding(target.protocol);
    let tasks: Vec<_> = connections
        .websockets
        .into_iter()
        .enumerate()
        .map(|(index, websocket)| {
            tokio::spawn(echo_client(
                websocket,
                encoding,
                index as u64,
                config.payload_bytes,
                Arc::clone(&counters),
                Arc::clone(&barrier),
                deadline_receiver.clone(),
            ))
        })
        .collect();
    barrier.wait().await;
    let cpu_meter = CpuMeter::start(server_cpu);
    let started = Instant::now();
    let _ = deadline_sender.send(Some(tokio::time::Instant::now() + config.duration));
    for task in tasks {
        let _ = tokio::time::timeout(config.duration + Duration::from_secs(10), task).await;
    }
    let cpu = cpu_meter.finish();
    let elapsed_seconds = started
        .elapsed()
        .as_secs_f64()
        .min(config.duration.as_secs_f64());
    let round_trips = counters.round_trips.load(Ordering::Relaxed);
    let latency = Latency::from_histogram(
        &counters
            .latencies
            .lock()
            .expect("no task panics while holding the histogram"),
    );
    EchoResult {
        clients: config.clients,
        connected,
        failed: connections.failed,
        missing_greetings: counters.missing_greetings.load(Ordering::Relaxed),
        round_trips,
        round_trips_per_second: if elapsed_seconds > 0.0 {
            round_trips as f64 / elapsed_seconds
        } else {
            0.0
        },
        elapsed_seconds,
        dropped_connections: counters.dropped.load(Ordering::Relaxed),
        latency,
        round_trips_per_server_cpu_second: cpu
            .server_cpu_seconds
            .filter(|seconds| *seconds > 0.0)
            .map(|seconds| round_trips as f64 / seconds),
        cpu,
        first_failure: connections.first_failure,
    }
}

async fn echo_client(
    mut websocket: WebSocket,
    encoding: Encoding,
    client_index: u64,
    payload_bytes: usize,
    counters: Arc<EchoCounters>,
    barrier: Arc<Barrier>,
    mut deadline: watch::Receiver<Option<tokio::time::Instant>>,
) {
    let greeting = tokio::time::timeout(
        Duration::from_secs(10),
        client::expect_frame(
            &mut websocket,
            "the greeting",
            |incoming| matches!(incoming, Incoming::Event { name, .. } if name == "greeting"),
        ),
    )
    .await;
    if !matches!(greeting, Ok(Ok(_))) {
        counters.missing_greetings.fetch_add(1, Ordering::Relaxed);
    }
    barrier.wait().await;
    let Ok(deadline) = deadline
        .wait_for(Option::is_some)
        .await
        .map(|deadline| *deadline)
    else {
        return;
    };
    let Some(deadline) = deadline else { return };
    let mut sequence = 0;
    loop {
        let sent_at_nanos = counters.clock.now_nanos();
        let text = payload::stamped_text(
            Stamp {
                sender: client_index,
                sequence,
                sent_at_nanos,
            },
            payload_bytes,
        );
        let round_trip = async {
            websocket
                .send(protocol::event(encoding, "textInput", &text))
                .await?;
            wait_for_uppercase(&mut websocket, client_index, sequence).await
        };
        match tokio::time::timeout_at(deadline, round_trip).await {
            Err(_) => return,
            Ok(Err(_)) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Ok(())) => {
                let now = counters.clock.now_nanos();
                counters.round_trips.fetch_add(1, Ordering::Relaxed);
                record_latency(&counters.latencies, now.saturating_sub(sent_at_nanos));
                sequence += 1;
            }
        }
    }
}

async fn wait_for_uppercase(
    websocket: &mut WebSocket,
    client_index: u64,
    sequence: u64,
) -> anyhow::Result<()> {
    while let Some(frame) = websocket.next().await {
        let message = frame?;
        if protocol::is_ping(&message) {
            websocket.send(protocol::pong()).await?;
            continue;
        }
        if matches!(message, Message::Close(_)) {
            anyhow::bail!("the server closed the connection");
        }
        let stamp = protocol::event_frame_bytes(&message, "uppercase")
            .and_then(|bytes| payload::find_stamp(bytes, payload::UPPERCASE_MARKER));
        if let Some(stamp) = stamp
            && stamp.sender == client_index
            && stamp.sequence == sequence
        {
            return Ok(());
        }
    }
    anyhow::bail!("the connection ended")
}

// ---------------------------------------------------------------------------------------------
// shared helpers

/// The parser whose event packets a server's frames carry (the raw limit server sends the same
/// packets, without the rest of Socket.IO).
fn event_encoding(server_protocol: ServerProtocol) -> Encoding {
    match server_protocol {
        ServerProtocol::SocketIo(encoding) | ServerProtocol::RawWebSocket(encoding) => encoding,
    }
}

fn new_latency_histogram() -> Histogram<u64> {
    // 1 µs to 10 minutes at three significant figures.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("the bounds are valid")
}

fn record_latency(latencies: &Mutex<Histogram<u64>>, nanos: u64) {
    let micros = (nanos / 1000).clamp(1, 600_000_000);
    if let Ok(mut histogram) = latencies.lock() {
        let _ = histogram.record(micros);
    }
}
