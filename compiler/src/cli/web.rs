//! The web client's side of `appc build` (and of `appc dev`, which reuses these functions):
//! reading the team's client files, writing the generated Vite project to `.appc/out/web/`,
//! `npm install` when `package.json` changed, type-checking with `tsc` and bundling with Vite
//! into `.appc/build/web/`, which the server binary serves.
//!
//! Node tools print paths relative to the web project; [`project_paths`] turns them into paths
//! relative to the team's project (`src/client/MainPage.tsx`), as `appc build` does for rustc.

use super::process;
use super::project::absolute;
use super::step::StepError;
use super::terminal::{self, stage};
use super::write::{WriteSummary, write_generated};
use anyhow::{Context, bail};
use appc_core::analysis::ir::AppSpec;
use appc_core::codegen::web::{self, TEAM_FILES_DIR, WEB_DIR, WebOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The folders of the team's project that are copied into the web project.
const TEAM_FOLDERS: &[&str] = &["src/client", "src/shared"];

/// The file in `node_modules/` that records which `package.json` the last successful
/// `npm install` installed. Inside `node_modules`, so that deleting it forces a new install.
const INSTALL_STAMP: &str = "node_modules/.appc-installed-package.json";

/// The file in the web project that says the last `check_and_build_web` succeeded: removed when
/// it starts, written when it ends well.
const BUILD_STAMP: &str = ".appc-built";

/// The oldest Node.js the pinned Vite runs on.
const MINIMUM_NODE: (u64, u64) = (20, 19);

/// The web project's folder: `<project>/.appc/out/web`.
pub fn web_dir(project_root: &Path) -> PathBuf {
    project_root.join(".appc/out").join(WEB_DIR)
}

/// Where `vite build` puts the bundle: `<project>/.appc/build/web` (see `vite.config.ts`).
pub fn bundle_dir(project_root: &Path) -> PathBuf {
    project_root.join(".appc/build/web")
}

/// The team's client files (everything under `src/client/` and `src/shared/`, recursively), as
/// (path relative to the project root with `/` separators, contents), sorted.
pub fn team_client_files(project_root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for folder in TEAM_FOLDERS {
        collect_files(project_root, &project_root.join(folder), &mut files)?;
    }
    files.sort();
    Ok(files)
}

fn collect_files(
    project_root: &Path,
    folder: &Path,
    files: &mut Vec<(String, String)>,
) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", folder.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden files (editor swap files, `.DS_Store`) and installed packages are not the
        // team's sources.
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect_files(project_root, &path, files)?;
        } else if path.is_file() {
            let contents = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}` as UTF-8 text", path.display()))?;
            let relative = path
                .strip_prefix(project_root)
                .unwrap_or(&path)
                .components()
                .map(|component| component.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((relative, contents));
        }
    }
    Ok(())
}

/// Generates the web project of `spec` and writes it to `<project>/.appc/out/web` (only files
/// that changed; files an earlier build generated and this one does not are removed). Returns
/// the web folder and what was written, or `None` when the app has no pages (no web client):
/// then a bundle left in `.appc/build/web` by an earlier build is removed, so that the server
/// does not serve pages the spec no longer has.
pub fn write_web_project(
    project_root: &Path,
    spec: &AppSpec,
) -> Result<Option<(PathBuf, WriteSummary)>, StepError> {
    if !web::has_web_client(spec) {
        let bundle = bundle_dir(project_root);
        if bundle.is_dir() {
            std::fs::remove_dir_all(&bundle)
                .with_context(|| format!("cannot remove `{}`", bundle.display()))?;
        }
        return Ok(None);
    }
    let options = WebOptions {
        team_files: team_client_files(project_root)?,
    };
    let pairs: Vec<(String, String)> = web::generate(spec, &options)
        .into_iter()
        .map(|file| (file.path, file.contents))
        .collect();
    let web_dir = web_dir(project_root);
    let summary = write_generated(&web_dir, &pairs)?;
    Ok(Some((web_dir, summary)))
}

/// Runs `npm install` in the web project when its `package.json` differs from the one the last
/// successful install saw (or nothing was installed yet). npm writes `package-lock.json`.
pub fn install_web_dependencies(web_dir: &Path, color: bool) -> Result<(), StepError> {
    let package_json = std::fs::read_to_string(web_dir.join("package.json"))
        .with_context(|| format!("cannot read `{}/package.json`", web_dir.display()))?;
    let stamp = web_dir.join(INSTALL_STAMP);
    if std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == package_json) {
        return Ok(());
    }
    require_node()?;
    stage(color, "Installing", "web dependencies (npm)");
    let output = process::output_in_own_group(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--no-update-notifier"])
            .current_dir(web_dir)
            .stdin(Stdio::null()),
    )
    .map_err(|error| missing_tool(error, "npm"))?;
    if !output.status.success() {
        print_output(&output);
        return Err(StepError::WebToolFailed {
            tool: "npm install".to_owned(),
        });
    }
    std::fs::write(&stamp, package_json)
        .with_context(|| format!("cannot write `{}`", stamp.display()))?;
    Ok(())
}

/// Type-checks the web project (the SDK and the team's files) with `tsc --noEmit`, strict.
/// Vite does not type-check, so without this a misspelled event would only fail in the browser.
pub fn typecheck_web(web_dir: &Path, color: bool) -> Result<(), StepError> {
    require_node()?;
    stage(color, "Checking", "web types (tsc)");
    let output = process::output_in_own_group(&mut typecheck_command(web_dir, color))
        .map_err(|error| missing_tool(error, "tsc"))?;
    tool_succeeded("tsc", &output)
}

/// `tsc --noEmit` on the web project (strict, from its `tsconfig.json`), coloured when `color`.
/// The caller runs it; its messages name the copies of the team's files, which
/// [`team_tool_output`] turns back into the team's paths.
pub fn typecheck_command(web_dir: &Path, color: bool) -> Command {
    let mut command = node_tool(web_dir, "tsc");
    command
        .args(["--noEmit", "--project", "tsconfig.json", "--pretty"])
        .arg(if color { "true" } else { "false" });
    command
}

/// A Node tool's output with paths relative to the team's project (see [`project_paths`]).
pub fn team_tool_output(text: &str) -> String {
    project_paths(text, &format!(".appc/out/{WEB_DIR}/"))
}

/// Bundles the web project with `vite build` into `<project>/.appc/build/web` (the folder the
/// server binary serves). Vite's output is shown only when it fails.
pub fn build_web(web_dir: &Path, color: bool) -> Result<(), StepError> {
    require_node()?;
    stage(color, "Building", "web (vite)");
    let output = process::output_in_own_group(&mut vite_build_command(web_dir))
        .map_err(|error| missing_tool(error, "vite"))?;
    tool_succeeded("vite build", &output)
}

/// Installs, type-checks and bundles the web project: what `appc build` does after writing it.
///
/// tsc and Vite read the same sources and neither needs the other's result, so they run at the
/// same time (tsc is single-threaded; BENCHMARKS.md has the figures). A type error still fails
/// the build, and its messages come first; the bundle Vite made meanwhile is not marked as
/// current, so the next build makes it again.
pub fn check_and_build_web(web_dir: &Path, color: bool) -> Result<(), StepError> {
    let stamp = web_dir.join(BUILD_STAMP);
    let _ = std::fs::remove_file(&stamp);
    install_web_dependencies(web_dir, color)?;
    require_node()?;
    stage(color, "Checking", "web types (tsc)");
    stage(color, "Building", "web (vite)");
    let (tsc, vite) = std::thread::scope(|scope| {
        let tsc =
            scope.spawn(|| process::output_in_own_group(&mut typecheck_command(web_dir, color)));
        let vite = process::output_in_own_group(&mut vite_build_command(web_dir));
        // The thread only waits for a process; it cannot panic.
        let tsc = tsc
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the thread that ran tsc panicked")));
        (tsc, vite)
    });
    let tsc = tsc.map_err(|error| missing_tool(error, "tsc"))?;
    let vite = vite.map_err(|error| missing_tool(error, "vite"))?;
    tool_succeeded("tsc", &tsc)?;
    tool_succeeded("vite build", &vite)?;
    std::fs::write(&stamp, "").with_context(|| format!("cannot write `{}`", stamp.display()))?;
    Ok(())
}

/// `vite build`, which writes the bundle to `.appc/build/web` (see `vite.config.ts`).
fn vite_build_command(web_dir: &Path) -> Command {
    let mut command = node_tool(web_dir, "vite");
    command.arg("build");
    command
}

/// Prints a failed tool's output and reports the failure; a successful tool stays quiet.
fn tool_succeeded(tool: &str, output: &Output) -> Result<(), StepError> {
    if output.status.success() {
        return Ok(());
    }
    print_output(output);
    Err(StepError::WebToolFailed {
        tool: tool.to_owned(),
    })
}

/// Whether the bundle in `.appc/build/web` is what `check_and_build_web` made from the web
/// project as it is now; the caller knows that no file of the project changed since.
pub fn web_build_is_current(web_dir: &Path) -> bool {
    web_dir.join(BUILD_STAMP).is_file() && web_dir.join("../../build/web/index.html").is_file()
}

/// The Vite dev server for the web project on `127.0.0.1:<port>`, proxying the server's routes
/// (`/auth`, `/api`, `/socket.io`) to `server_url`. The caller spawns it.
pub fn vite_dev_command(web_dir: &Path, port: u16, server_url: &str) -> Command {
    let mut command = node_tool(web_dir, "vite");
    command
        .args([
            "--port",
            &port.to_string(),
            "--strictPort",
            "--host",
            "127.0.0.1",
        ])
        .env("APPC_SERVER_URL", server_url);
    command
}

/// A binary that npm installed in the web project, run from the web project.
fn node_tool(web_dir: &Path, tool: &str) -> Command {
    let mut command = Command::new(absolute(&web_dir.join("node_modules/.bin").join(tool)));
    command.current_dir(web_dir).stdin(Stdio::null());
    command
}

/// Checks that `node` is on PATH and new enough for the pinned Vite.
fn require_node() -> anyhow::Result<()> {
    let output = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| missing_tool(error, "node"))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let mut numbers = version
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse::<u64>().unwrap_or(0));
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if found < MINIMUM_NODE {
        bail!(
            "the web client needs Node.js {}.{} or newer, but `node --version` says `{version}`; install a newer Node.js from https://nodejs.org",
            MINIMUM_NODE.0,
            MINIMUM_NODE.1
        );
    }
    Ok(())
}

fn missing_tool(error: std::io::Error, tool: &str) -> anyhow::Error {
    if error.kind() == std::io::ErrorKind::NotFound {
        match tool {
            "node" | "npm" => anyhow::anyhow!(
                "cannot run `{tool}`: the web client needs Node.js and npm on PATH; install them (Debian: `apt-get install nodejs npm`, or https://nodejs.org)"
            ),
            _ => anyhow::anyhow!(
                "cannot run `{tool}` from the web project's node_modules; delete `.appc/out/web/node_modules` and run `appc build` again to reinstall"
            ),
        }
    } else {
        anyhow::Error::new(error).context(format!("cannot run `{tool}`"))
    }
}

/// Prints a failed tool's output with paths relative to the team's project.
fn print_output(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for text in [stdout, stderr] {
        if !text.trim().is_empty() {
            terminal::text(&team_tool_output(&text));
            if !text.ends_with('\n') {
                terminal::line("");
            }
        }
    }
}

/// Node tools run in the web project, so they name the copies of the team's files
/// (`src/ext-src/client/MainPage.tsx`) and the generated files (`src/appc/webSocket.ts`). This
/// names the team's own files (`src/client/MainPage.tsx`) and the generated files by their place
/// in the project (`.appc/out/web/src/appc/webSocket.ts`).
fn project_paths(text: &str, web_prefix: &str) -> String {
    // A placeholder keeps the team's rewritten paths from matching the generated-file rules.
    const TEAM: &str = "\u{0}team\u{0}";
    let mut text = text.replace(&format!("{TEAM_FILES_DIR}/"), TEAM);
    for generated in ["src/appc/", "src/main.tsx", "src/router.tsx"] {
        text = text.replace(generated, &format!("{web_prefix}{generated}"));
    }
    text.replace(TEAM, "src/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_messages_name_the_team_files_and_the_generated_ones() {
        let tsc = "src/ext-src/client/MainPage.tsx(4,17): error TS2345: Argument of type '\"chatMesage\"'\nsrc/appc/webSocket.ts(1,1): error TS1: x\n";
        assert_eq!(
            project_paths(tsc, ".appc/out/web/"),
            "src/client/MainPage.tsx(4,17): error TS2345: Argument of type '\"chatMesage\"'\n.appc/out/web/src/appc/webSocket.ts(1,1): error TS1: x\n"
        );
    }

    #[test]
    fn team_files_are_read_recursively_without_hidden_files() {
        let project = tempfile::tempdir().unwrap();
        let client = project.path().join("src/client/components");
        std::fs::create_dir_all(&client).unwrap();
        std::fs::write(project.path().join("src/client/Main.tsx"), "main").unwrap();
        std::fs::write(client.join("Button.tsx"), "button").unwrap();
        std::fs::write(client.join(".Button.tsx.swp"), "swap").unwrap();
        std::fs::create_dir_all(project.path().join("src/shared")).unwrap();
        std::fs::write(project.path().join("src/shared/limits.ts"), "limits").unwrap();
        let files = team_client_files(project.path()).unwrap();
        assert_eq!(
            files,
            vec![
                ("src/client/Main.tsx".to_owned(), "main".to_owned()),
                (
                    "src/client/components/Button.tsx".to_owned(),
                    "button".to_owned()
                ),
                ("src/shared/limits.ts".to_owned(), "limits".to_owned()),
            ]
        );
    }
}
