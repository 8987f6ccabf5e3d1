//! The readable form of a [`Report`]: one Markdown table per scenario with its ratios and goals,
//! ready to paste into `BENCHMARKS.md`.

use std::fmt::Write as _;

use crate::compare::{Goal, Report, ScenarioReport};

pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let machine = &report.machine;
    let _ = writeln!(
        out,
        "Mode `{}`, {} encoding (echo: {}, on every server). Machine: {}, {} cores, {} GiB, Linux {}, file-descriptor limit {}, load average at start {}. {}.",
        report.mode,
        report.encoding.name(),
        report.echo_encoding.name(),
        machine.cpu_model,
        machine.cores,
        machine.memory_gib,
        machine.kernel,
        machine.file_descriptor_limit,
        machine.load_average_at_start,
        report.pinning
    );
    let _ = writeln!(
        out,
        "appc server: `{}` (chat), `{}` (uppercase).",
        report.appc_server, report.appc_echo_server
    );
    let _ = writeln!(
        out,
        "Node chat stores messages in SQLite: {}.",
        if report.node_stores_messages {
            "yes"
        } else {
            "no"
        }
    );

    if let Some(idle) = &report.idle {
        let _ = writeln!(out, "\n### idle\n");
        let _ = writeln!(
            out,
            "| server | requested | held | failed | dropped | connect s | RSS before MiB | RSS held MiB | RSS per connection KiB |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (server, result) in &idle.results {
            let _ = writeln!(
                out,
                "| {server} | {} | {} | {} | {} | {:.1} | {} | {} | {} |",
                result.connections_requested,
                result.connected.saturating_sub(result.dropped),
                result.failed,
                result.dropped,
                result.connect_seconds,
                mebibytes(result.server_rss_before_bytes),
                mebibytes(result.server_rss_held_bytes),
                result
                    .rss_per_connection_bytes
                    .map_or("-".to_string(), |bytes| format!("{:.2}", bytes / 1024.0)),
            );
        }
        write_ratios_and_goals(&mut out, idle, report.mode);
    }
    if let Some(broadcast) = &report.broadcast {
        let _ = writeln!(out, "\n### broadcast\n");
        let _ = writeln!(
            out,
            "| server | clients | senders | sent | delivered | lost | offered/s | deliveries/s | p50 ms | p99 ms | max ms | server CPU | load generator CPU | deliveries per server CPU-s |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (server, result) in &broadcast.results {
            let _ = writeln!(
                out,
                "| {server} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} |",
                result.connected,
                result.senders,
                result.messages_sent,
                result.delivered,
                result.lost,
                result.offered_deliveries_per_second,
                result.deliveries_per_second,
                milliseconds(result.latency.p50_us),
                milliseconds(result.latency.p99_us),
                milliseconds(result.latency.max_us),
                percent(result.cpu.server_utilisation),
                percent(result.cpu.load_generator_utilisation),
                whole(result.deliveries_per_server_cpu_second),
            );
        }
        write_ratios_and_goals(&mut out, broadcast, report.mode);
    }
    if let Some(echo) = &report.echo {
        let _ = writeln!(out, "\n### echo\n");
        let _ = writeln!(
            out,
            "| server | clients | round trips | round trips/s | p50 ms | p99 ms | max ms | server CPU | load generator CPU | round trips per server CPU-s |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (server, result) in &echo.results {
            let _ = writeln!(
                out,
                "| {server} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
                result.connected,
                result.round_trips,
                result.round_trips_per_second,
                milliseconds(result.latency.p50_us),
                milliseconds(result.latency.p99_us),
                milliseconds(result.latency.max_us),
                percent(result.cpu.server_utilisation),
                percent(result.cpu.load_generator_utilisation),
                whole(result.round_trips_per_server_cpu_second),
            );
        }
        write_ratios_and_goals(&mut out, echo, report.mode);
    }
    if !report.validations.is_empty() {
        let _ = writeln!(out, "\n### validation against socket.io-client\n");
        let _ = writeln!(
            out,
            "| server | clients | senders | messages | expected | socket.io-client delivered | appc-bench delivered | same |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---|");
        for validation in &report.validations {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                validation.server,
                validation.config.clients,
                validation.config.senders,
                validation.config.messages,
                validation.expected,
                validation
                    .socket_io_client_delivered
                    .map_or("-".to_string(), |count| count.to_string()),
                validation
                    .appc_bench_delivered
                    .map_or("-".to_string(), |count| count.to_string()),
                if validation.matches { "yes" } else { "NO" },
            );
            if let Some(error) = &validation.error {
                let _ = writeln!(out, "\n{}: {error}", validation.server);
            }
        }
    }
    out
}

fn write_ratios_and_goals<T>(out: &mut String, scenario: &ScenarioReport<T>, mode: &str) {
    for (server, error) in &scenario.errors {
        let _ = writeln!(out, "\n{server} could not be measured: {error}");
    }
    if !scenario.ratios.is_empty() {
        let _ = writeln!(out);
        for (name, value) in &scenario.ratios {
            let _ = writeln!(out, "- {name}: {value:.3}");
        }
    }
    // A quick run's sizes are far below the goals' (200 connections, not 50,000): judging the
    // goals there would only print misses that say nothing.
    if mode == "quick" {
        let _ = writeln!(out, "\n- goals are judged in full runs only");
    } else {
        write_goals(out, &scenario.goals);
    }
}

fn write_goals(out: &mut String, goals: &[Goal]) {
    if goals.is_empty() {
        return;
    }
    let _ = writeln!(out);
    for goal in goals {
        let _ = writeln!(
            out,
            "- goal {}: {} ({})",
            if goal.met { "met" } else { "MISSED" },
            goal.goal,
            goal.measured
        );
    }
}

fn mebibytes(bytes: Option<u64>) -> String {
    bytes.map_or("-".to_string(), |bytes| {
        format!("{:.1}", bytes as f64 / 1024.0 / 1024.0)
    })
}

fn percent(utilisation: Option<f64>) -> String {
    utilisation.map_or("-".to_string(), |value| format!("{:.0}%", value * 100.0))
}

fn whole(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |value| format!("{value:.0}"))
}

fn milliseconds(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}
