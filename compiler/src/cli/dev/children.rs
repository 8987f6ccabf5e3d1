//! The long-running children of `appc dev`: the app's server and the Vite dev server. Each is
//! started in its own process group, waited for until it accepts connections, and has its lines
//! printed with a prefix (`server | `, `web | `); Vite's lines go through [`vite_lines`] first.
//!
//! [`vite_lines`]: super::vite_lines

use super::vite_lines::{ProxyNoiseFilter, team_paths_in_vite_line};
use crate::cli::process;
use crate::cli::project::absolute;
use crate::cli::step::StepError;
use crate::cli::terminal;
use crate::cli::web;
use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server may take to accept connections before appc stops waiting.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the Vite dev server may take to accept connections.
const VITE_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts the server `binary` in `project_root` on `port` and waits until it accepts
/// connections. A server that exits first is [`StepError::ServerExited`] (its log is above).
pub fn start_server(
    binary: &Path,
    project_root: &Path,
    port: u16,
    color: bool,
) -> Result<Child, StepError> {
    let mut command = Command::new(absolute(binary));
    command
        .current_dir(project_root)
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = process::spawn_in_own_group(&mut command)
        .with_context(|| format!("cannot start `{}`", binary.display()))?;
    let prefix = terminal::child_prefix(color, "server");
    if let Some(stdout) = child.stdout.take() {
        forward_lines(stdout, prefix.clone(), None);
    }
    if let Some(stderr) = child.stderr.take() {
        forward_lines(stderr, prefix, None);
    }
    let deadline = Instant::now() + SERVER_START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            process::forget(&child);
            return Err(StepError::ServerExited {
                status: status.to_string(),
            });
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            process::stop_group(&mut child);
            return Err(anyhow::anyhow!(
                "the server did not accept connections on port {port} within {} s",
                SERVER_START_TIMEOUT.as_secs()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Starts the Vite dev server on `public_port`, proxying to the server on `internal_port`, and
/// waits until it accepts connections. It keeps running across server restarts and reloads the
/// page itself when the copied client files change.
pub fn start_vite(
    web_dir: &Path,
    public_port: u16,
    internal_port: u16,
    color: bool,
) -> anyhow::Result<Child> {
    let server_url = format!("http://127.0.0.1:{internal_port}");
    let mut command = web::vite_dev_command(web_dir, public_port, &server_url);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child =
        process::spawn_in_own_group(&mut command).context("cannot start the Vite dev server")?;
    let prefix = terminal::child_prefix(color, "web");
    if let Some(stdout) = child.stdout.take() {
        forward_lines(stdout, prefix.clone(), Some(absolute(web_dir)));
    }
    if let Some(stderr) = child.stderr.take() {
        forward_lines(stderr, prefix, Some(absolute(web_dir)));
    }
    let deadline = Instant::now() + VITE_START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            process::forget(&child);
            bail!("the Vite dev server exited ({status}); see its output above");
        }
        if TcpStream::connect(("127.0.0.1", public_port)).is_ok() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            process::stop_group(&mut child);
            bail!(
                "the Vite dev server did not accept connections on port {public_port} within {} s",
                VITE_START_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Stops the child in `slot`, if any, with its whole process group.
pub fn stop(slot: &mut Option<Child>) {
    if let Some(mut child) = slot.take() {
        process::stop_group(&mut child);
    }
}

/// Whether the running `server` runs exactly the file `binary` holds now. Its own executable is
/// still readable through `/proc` after the build renamed a new binary over the old one.
pub fn runs_the_same_binary(server: &Child, binary: &Path) -> bool {
    let running = PathBuf::from(format!("/proc/{}/exe", server.id()));
    let (Ok(running_size), Ok(new_size)) = (std::fs::metadata(&running), std::fs::metadata(binary))
    else {
        return false;
    };
    if running_size.len() != new_size.len() {
        return false;
    }
    match (std::fs::read(&running), std::fs::read(binary)) {
        (Ok(running), Ok(new)) => running == new,
        _ => false,
    }
}

/// Prints every line a child writes, with `prefix`, on a thread of its own (until the pipe
/// closes). With the web project's folder (Vite's lines), the copies of the team's files are
/// named by the team's paths.
fn forward_lines(stream: impl Read + Send + 'static, prefix: String, web_dir: Option<PathBuf>) {
    std::thread::spawn(move || {
        let mut proxy_noise = ProxyNoiseFilter::default();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            // Vite frames its banner with empty lines; `web | ` alone reads like a glitch.
            if line.trim().is_empty() {
                continue;
            }
            let Some(web_dir) = &web_dir else {
                terminal::line(&format!("{prefix}{line}"));
                continue;
            };
            for line in proxy_noise.filter(line) {
                terminal::line(&format!(
                    "{prefix}{}",
                    team_paths_in_vite_line(&line, web_dir)
                ));
            }
        }
    });
}
