//! `appc-bench dev-loop`: how long `appc dev` takes from a save to the new behaviour answering
//! on a socket (issue #7's edit-to-serving latency).
//!
//! It runs `appc dev` on a temporary copy of the chat example, waits for the first build, then
//! alternates two kinds of one-line saves and times each from the write to the first socket
//! answer that shows the change:
//! - a server `.rs` change: the anonymous username in `src/server/chat.rs`, seen in the
//!   `chatMessage` broadcast an anonymous client gets back;
//! - a spec change: `auth: true` <-> `auth: false` on the `Inbox` namespace in `main.wasp`, seen
//!   as an anonymous connect to `/inbox` being accepted or refused.
//!
//! The probes speak just enough Socket.IO (Engine.IO v4 over WebSocket, JSON) to connect to a
//! namespace and send and read one event.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

/// What to run.
#[derive(Debug, Clone)]
pub struct DevLoopSettings {
    /// The `appc` binary.
    pub appc: PathBuf,
    /// The chat example (its `main.wasp` and `src/` are copied).
    pub example: PathBuf,
    /// Measured saves of each kind.
    pub runs: usize,
    /// The port `appc dev` serves on.
    pub port: u16,
    /// Print everything `appc dev` prints.
    pub verbose: bool,
}

/// The measured latencies, in seconds, in the order they were taken.
#[derive(Debug, Default)]
pub struct DevLoopReport {
    pub first_build_seconds: f64,
    pub server_change_seconds: Vec<f64>,
    pub spec_change_seconds: Vec<f64>,
}

/// The longest any single save may take to show its effect before the run fails.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(300);

/// The first build compiles the chat server (and, without a shared target folder, every
/// dependency).
const FIRST_BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

const USERNAME_LINE: &str = "const ANONYMOUS_USERNAME: &str = ";

pub fn run(settings: &DevLoopSettings) -> anyhow::Result<DevLoopReport> {
    let project = std::env::temp_dir().join(format!("appc-dev-loop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&project);
    copy_project(&settings.example, &project)?;
    let result = measure(settings, &project);
    let _ = std::fs::remove_dir_all(&project);
    result
}

fn measure(settings: &DevLoopSettings, project: &Path) -> anyhow::Result<DevLoopReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let address = SocketAddr::from(([127, 0, 0, 1], settings.port));
    let mut dev = DevProcess::start(settings, project)?;
    let started = Instant::now();
    dev.wait_for("server started", FIRST_BUILD_TIMEOUT)?;
    let mut report = DevLoopReport {
        first_build_seconds: started.elapsed().as_secs_f64(),
        ..DevLoopReport::default()
    };
    eprintln!("first build and start: {:.1} s", report.first_build_seconds);

    let chat_rs = project.join("src/server/chat.rs");
    let spec = project.join("main.wasp");
    let mut inbox_requires_auth = true;
    for run in 1..=settings.runs {
        let username = format!("devloop{run}");
        let saved = replace_line_starting_with(
            &chat_rs,
            USERNAME_LINE,
            &format!("{USERNAME_LINE}{username:?};"),
        )?;
        runtime
            .block_on(wait_until(CHANGE_TIMEOUT, || async {
                anonymous_username(address).await.ok().as_deref() == Some(username.as_str())
            }))
            .with_context(|| format!("the server change `{username}` never answered"))?;
        let seconds = saved.elapsed().as_secs_f64();
        eprintln!("server .rs change {run}: {seconds:.2} s");
        report.server_change_seconds.push(seconds);

        inbox_requires_auth = !inbox_requires_auth;
        let saved = toggle_inbox_auth(&spec, inbox_requires_auth)?;
        let expect_accepted = !inbox_requires_auth;
        runtime
            .block_on(wait_until(CHANGE_TIMEOUT, || async {
                anonymous_inbox_accepted(address).await.ok() == Some(expect_accepted)
            }))
            .with_context(|| {
                format!("the spec change to `auth: {inbox_requires_auth}` never answered")
            })?;
        let seconds = saved.elapsed().as_secs_f64();
        eprintln!("spec change {run} (Inbox auth: {inbox_requires_auth}): {seconds:.2} s");
        report.spec_change_seconds.push(seconds);
    }
    dev.stop();
    Ok(report)
}

/// The median of some durations (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

/// Calls `check` every 20 ms until it returns true; fails after `timeout`.
async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("gave up after {} s", timeout.as_secs())
}

/// Rewrites the one line of `path` that starts with `prefix` (after indentation) and returns
/// when the write finished, the moment the measurement starts from.
fn replace_line_starting_with(path: &Path, prefix: &str, line: &str) -> anyhow::Result<Instant> {
    let text = std::fs::read_to_string(path)?;
    let mut found = false;
    let replaced: Vec<String> = text
        .lines()
        .map(|existing| {
            if !found && existing.trim_start().starts_with(prefix) {
                found = true;
                line.to_owned()
            } else {
                existing.to_owned()
            }
        })
        .collect();
    if !found {
        bail!("no line starting with `{prefix}` in {}", path.display());
    }
    std::fs::write(path, replaced.join("\n") + "\n")?;
    Ok(Instant::now())
}

/// Sets `auth:` of the `Inbox` namespace (the only `auth: true|false` line in the chat's spec).
fn toggle_inbox_auth(spec: &Path, requires_auth: bool) -> anyhow::Result<Instant> {
    let text = std::fs::read_to_string(spec)?;
    let (from, to) = if requires_auth {
        ("auth: false", "auth: true")
    } else {
        ("auth: true", "auth: false")
    };
    if text.matches(from).count() != 1 {
        bail!("expected exactly one `{from}` in {}", spec.display());
    }
    std::fs::write(spec, text.replacen(from, to, 1))?;
    Ok(Instant::now())
}

type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens an Engine.IO WebSocket and connects to `namespace` without a token. Returns the
/// socket and whether the namespace accepted the connection.
async fn connect(address: SocketAddr, namespace: &str) -> anyhow::Result<(WebSocket, bool)> {
    let url = format!("ws://{address}/socket.io/?EIO=4&transport=websocket");
    let (mut websocket, _) = tokio::time::timeout(
        Duration::from_secs(2),
        tokio_tungstenite::connect_async(url),
    )
    .await??;
    next_text(&mut websocket, |text| text.starts_with('0')).await?;
    let (connect, accepted_prefix, refused_prefix) = if namespace == "/" {
        ("40".to_owned(), "40".to_owned(), "44".to_owned())
    } else {
        (
            format!("40{namespace},"),
            format!("40{namespace},"),
            format!("44{namespace},"),
        )
    };
    websocket.send(Message::text(connect)).await?;
    let answer = next_text(&mut websocket, |text| {
        text.starts_with(&accepted_prefix) || text.starts_with(&refused_prefix)
    })
    .await?;
    Ok((websocket, answer.starts_with(&accepted_prefix)))
}

/// Reads text frames (answering pings) until one satisfies `wanted`, within 2 s.
async fn next_text(
    websocket: &mut WebSocket,
    wanted: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(frame) = websocket.next().await {
            let Message::Text(text) = frame? else {
                continue;
            };
            if wanted(&text) {
                return Ok(text.to_string());
            }
            if text.as_str() == "2" {
                websocket.send(Message::text("3")).await?;
            }
        }
        bail!("the connection closed")
    })
    .await?
}

/// The username an anonymous chat message comes back with.
async fn anonymous_username(address: SocketAddr) -> anyhow::Result<String> {
    let (mut websocket, accepted) = connect(address, "/").await?;
    if !accepted {
        bail!("the chat refused an anonymous connection");
    }
    let text = format!("dev-loop-probe-{}", std::process::id());
    let event = serde_json::to_string(&("chatMessage", &text))?;
    websocket.send(Message::text(format!("42{event}"))).await?;
    let needle = serde_json::to_string(&text)?;
    let frame = next_text(&mut websocket, |frame| {
        frame.starts_with("42[\"chatMessage\"") && frame.contains(&needle)
    })
    .await?;
    let _ = websocket.close(None).await;
    let (_, message): (String, serde_json::Value) = serde_json::from_str(&frame[2..])?;
    message["username"]
        .as_str()
        .map(str::to_owned)
        .context("the chatMessage has no username")
}

/// Whether an anonymous connection to `/inbox` is accepted.
async fn anonymous_inbox_accepted(address: SocketAddr) -> anyhow::Result<bool> {
    let (mut websocket, accepted) = connect(address, "/inbox").await?;
    let _ = websocket.close(None).await;
    Ok(accepted)
}

fn copy_project(example: &Path, project: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(project)?;
    std::fs::copy(example.join("main.wasp"), project.join("main.wasp"))
        .with_context(|| format!("no main.wasp in {}", example.display()))?;
    copy_folder(&example.join("src"), &project.join("src"))
}

fn copy_folder(source: &Path, target: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(target)?;
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != "node_modules" {
                copy_folder(&path, &target.join(entry.file_name()))?;
            }
        } else {
            std::fs::copy(&path, target.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// `appc dev` in its own process group, its output collected line by line.
struct DevProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl DevProcess {
    fn start(settings: &DevLoopSettings, project: &Path) -> anyhow::Result<DevProcess> {
        let mut child = Command::new(&settings.appc)
            .args(["dev", "--color", "never", "--port"])
            .arg(settings.port.to_string())
            .arg(project)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot run `{}`", settings.appc.display()))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let streams: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().context("no stdout")?),
            Box::new(child.stderr.take().context("no stderr")?),
        ];
        for stream in streams {
            let lines = Arc::clone(&lines);
            let verbose = settings.verbose;
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if verbose {
                        eprintln!("  {line}");
                    }
                    lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        Ok(DevProcess { child, lines })
    }

    fn wait_for(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if lines.iter().any(|line| line.contains(needle)) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads take in appc's last words.
                std::thread::sleep(Duration::from_millis(200));
                let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone();
                bail!(
                    "appc dev exited ({status}) before `{needle}`:\n{}",
                    lines.join("\n")
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "appc dev did not print `{needle}` in time:\n{}",
                    lines.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ctrl-C, as a person stops it; the group is killed if it has not ended within 20 s.
    fn stop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill has no memory effects; the pid is our child's.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; the negative pid addresses the group appc leads.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
