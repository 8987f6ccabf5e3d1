//! Runs each scenario at small scale against the real stand-in and raw-limit server binaries
//! (started as processes, as `appc-bench` starts them) and checks that the load generator's
//! counts are exact: every connection held, every broadcast delivered to every client, every
//! echo answered. The Node anchor is covered by `appc-bench quick`, which needs `npm ci`.

use std::path::PathBuf;
use std::time::Duration;

use appc_bench::client::{ServerProtocol, SourceAddresses, Target};
use appc_bench::protocol::Encoding;
use appc_bench::scenarios::{self, BroadcastConfig, ConnectOptions, EchoConfig, IdleConfig};
use appc_bench::servers::{AppKind, ServerCommands, ServerKind, ServerProcess};

const SECRET: &str = "integration-test-secret";

fn commands() -> ServerCommands {
    ServerCommands {
        appc_chat_binary: PathBuf::from(env!("CARGO_BIN_EXE_standin-server")),
        appc_echo_binary: PathBuf::from(env!("CARGO_BIN_EXE_standin-server")),
        limit_binary: PathBuf::from(env!("CARGO_BIN_EXE_raw-limit-server")),
        node_directory: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/node")),
        server_core: None,
        node_store_messages: false,
        database_directory: None,
    }
}

fn options(secret: &str) -> ConnectOptions {
    ConnectOptions {
        source_addresses: SourceAddresses::loopback(3),
        concurrency: 50,
        timeout: Duration::from_secs(10),
        jwt_secret: secret.to_string(),
    }
}

fn target(server: &ServerProcess, encoding: Encoding) -> Target {
    Target {
        address: server.address,
        protocol: match server.kind {
            ServerKind::Limit => ServerProtocol::RawWebSocket(encoding),
            _ => ServerProtocol::SocketIo(encoding),
        },
    }
}

fn small_broadcast() -> BroadcastConfig {
    BroadcastConfig {
        clients: 30,
        senders: 3,
        rate_per_sender: 100.0,
        messages_per_sender: 10,
        payload_bytes: 80,
        drain_timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn broadcast_delivers_every_message_to_every_client_in_both_encodings() {
    for encoding in [Encoding::Json, Encoding::Msgpack] {
        let server = ServerProcess::start(
            &commands(),
            ServerKind::Appc,
            AppKind::Chat,
            encoding,
            SECRET,
        )
        .expect("the stand-in starts");
        let result = scenarios::broadcast(
            target(&server, encoding),
            &small_broadcast(),
            &options(SECRET),
            &|| server.cpu_seconds(),
        )
        .await;
        assert_eq!(
            result.connected, 30,
            "{encoding:?}: {:?}",
            result.first_failure
        );
        assert_eq!(result.messages_sent, 30);
        assert_eq!(result.expected_deliveries, 900);
        assert_eq!(result.delivered, 900, "{encoding:?}");
        assert_eq!(result.lost, 0);
        assert_eq!(result.latency.samples, 900);
        assert!(result.cpu.server_cpu_seconds.is_some());
        assert!(result.latency.p50_us > 0 && result.latency.p50_us <= result.latency.max_us);
    }
}

#[tokio::test]
async fn the_raw_limit_server_delivers_the_same_counts_in_both_encodings() {
    for encoding in [Encoding::Json, Encoding::Msgpack] {
        let server = ServerProcess::start(
            &commands(),
            ServerKind::Limit,
            AppKind::Chat,
            encoding,
            SECRET,
        )
        .expect("the limit server starts");
        let result = scenarios::broadcast(
            target(&server, encoding),
            &small_broadcast(),
            &options(SECRET),
            &|| server.cpu_seconds(),
        )
        .await;
        assert_eq!(result.delivered, 900, "{encoding:?}");
        assert_eq!(result.lost, 0, "{encoding:?}");
    }
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let server = ServerProcess::start(
        &commands(),
        ServerKind::Appc,
        AppKind::Chat,
        Encoding::Json,
        SECRET,
    )
    .expect("the stand-in starts");
    let connections =
        scenarios::connect_many(target(&server, Encoding::Json), 3, &options("wrong-secret")).await;
    assert_eq!(connections.websockets.len(), 0);
    assert_eq!(connections.failed, 3);
    let failure = connections.first_failure.expect("a failure is reported");
    assert!(failure.contains("refused"), "{failure}");
}

#[tokio::test]
async fn echo_answers_every_input_in_upper_case_after_the_greeting() {
    for (kind, encoding) in [
        (ServerKind::Appc, Encoding::Json),
        (ServerKind::Limit, Encoding::Json),
        (ServerKind::Appc, Encoding::Msgpack),
        (ServerKind::Limit, Encoding::Msgpack),
    ] {
        let server = ServerProcess::start(&commands(), kind, AppKind::Uppercase, encoding, SECRET)
            .expect("the server starts");
        let config = EchoConfig {
            clients: 10,
            duration: Duration::from_millis(500),
            payload_bytes: 64,
        };
        let result = scenarios::echo(
            target(&server, encoding),
            &config,
            &options(SECRET),
            &|| server.cpu_seconds(),
        )
        .await;
        let case = format!("{kind:?} in {encoding:?}");
        assert_eq!(result.connected, 10, "{case}");
        assert_eq!(result.missing_greetings, 0, "{case}");
        assert_eq!(result.dropped_connections, 0, "{case}");
        assert!(result.round_trips >= 10, "{case}: {}", result.round_trips);
        assert_eq!(result.latency.samples, result.round_trips);
        assert!(result.cpu.server_cpu_seconds.is_some(), "{case}");
    }
}

#[tokio::test]
async fn idle_holds_connections_and_measures_server_memory() {
    let server = ServerProcess::start(
        &commands(),
        ServerKind::Appc,
        AppKind::Chat,
        Encoding::Json,
        SECRET,
    )
    .expect("the stand-in starts");
    let config = IdleConfig {
        connections: 300,
        hold: Duration::from_secs(1),
    };
    let rss = || server.resident_bytes();
    let result = scenarios::idle(
        target(&server, Encoding::Json),
        &config,
        &options(SECRET),
        &rss,
    )
    .await;
    assert_eq!(result.connected, 300, "{:?}", result.first_failure);
    assert_eq!(result.dropped, 0);
    let held = result
        .server_rss_held_bytes
        .expect("the server's RSS is readable");
    let before = result
        .server_rss_before_bytes
        .expect("the server's RSS is readable");
    assert!(held > before, "holding 300 connections costs memory");
}
