//! The ports of `appc dev`: the public one (the one URL to open: `--port`, `PORT`, else 3000),
//! checked before anything is built, and the internal one the server takes behind Vite.

use anyhow::{Context, bail};
use std::net::TcpListener;

/// The port used when neither `--port` nor `PORT` says otherwise.
const DEFAULT_PORT: u16 = 3000;

/// The public port: `--port` when given, else `PORT` from the environment, else the default.
pub fn public_port(from_command_line: Option<u16>) -> anyhow::Result<u16> {
    match from_command_line {
        Some(port) => Ok(port),
        None => port_from_environment(),
    }
}

/// `PORT` from the environment, or the default.
fn port_from_environment() -> anyhow::Result<u16> {
    match std::env::var("PORT") {
        Ok(text) if !text.trim().is_empty() => match text.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => bail!(
                "PORT must be a port number from 1 to 65535, got `{text}`; fix it or pass `--port`"
            ),
        },
        _ => Ok(DEFAULT_PORT),
    }
}

/// The address the development server listens on: `HOST` when set (the runtime reads it
/// too), otherwise the runtime's development default.
fn listen_host() -> String {
    std::env::var("HOST")
        .ok()
        .filter(|host| !host.trim().is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

/// Fails with what to do when `port` is taken: checked before the first build, because a taken
/// port would otherwise surface only after a long build.
pub fn ensure_port_is_free(port: u16) -> anyhow::Result<()> {
    let host = listen_host();
    match TcpListener::bind((host.as_str(), port)) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {port} is already in use (another `appc dev` or server?); stop that process, or choose another port with `appc dev --port <PORT>`"
        ),
        Err(error) => Err(error).with_context(|| format!("cannot listen on {host}:{port}")),
    }
}

/// A port that was free a moment ago (the OS picks it).
pub fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("cannot find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}
