//! `appc build`: check the spec, generate the server, build the web client when the spec has
//! pages (see [`web`](super::web)), compile the server with cargo and place the binary at
//! `<project>/.appc/build/server`.
//!
//! This is where generation meets the disk and processes: generated Rust is formatted with
//! rustfmt, files are written only when their contents changed (so cargo rebuilds only what a
//! save touched), cargo's progress is passed through, and compiler messages about the team's
//! files are shown with the team's own paths (`src/server/chat.rs:12:5`), not the generated
//! crate's view of them.

use super::args::{BuildArgs, ColorChoice};
use super::disk_files::DiskFiles;
use super::migrations;
use super::process;
use super::project::{Project, absolute};
use super::step::StepError;
use super::terminal::{self, stage, stderr_wants_color};
use super::web;
use super::write::write_generated;
use anyhow::{Context, bail};
use appc_core::analysis;
use appc_core::codegen::server::{self, ServerOptions, TEAM_FILE_PREFIX};
use appc_core::codegen::{GeneratedFile, runtime_bundle};
use appc_core::diagnostics::{self, ColorMode, SourceFile};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub fn run(args: &BuildArgs, color: ColorChoice) -> Result<(), StepError> {
    let started = Instant::now();
    let output = BuildOutput::with_progress(color);
    let project = Project::locate(&args.path)?;
    let (spec, binary) = check_and_build(&project, args.debug, output)
        .inspect_err(|error| print_advice(error, &project, "appc build"))?;
    if !args.debug {
        warn_about_unmigrated_entities(&project, &spec)?;
    }
    let profile = if args.debug { "debug" } else { "release" };
    let size = std::fs::metadata(&binary)
        .map(|metadata| metadata.len())
        .unwrap_or_default();
    stage(
        output.color,
        "Finished",
        &format!(
            "{} ({:.1} MB, {profile}) in {:.1}s",
            binary.display(),
            size as f64 / 1_000_000.0,
            started.elapsed().as_secs_f64()
        ),
    );
    let secret_hint = if args.debug {
        ""
    } else {
        "JWT_SECRET=<at least 32 random bytes> "
    };
    terminal::line(&format!(
        "Run it from `{}` with: {secret_hint}PORT=3000 .appc/build/server",
        project.root.display()
    ));
    Ok(())
}

/// A release build runs in production mode, where the server changes the schema only through
/// the migrations of `migrations/`: warns when the spec's entities differ from the last
/// migration's snapshot, since the server would refuse to start on a database it cannot bring
/// to them. A warning, not an error: the build is still useful (tests, staging with another
/// migration on its way), and the server itself is the guard.
fn warn_about_unmigrated_entities(
    project: &Project,
    spec: &analysis::ir::AppSpec,
) -> Result<(), StepError> {
    let changes = migrations::unmigrated_changes(&project.root, spec)?;
    if !changes.is_empty() {
        terminal::line(&format!(
            "warning: the entities of `{}` differ from the last migration in `{}/`:\n{}\n  a production server of this build refuses to start until these changes are migrated: run `appc db migrate`, then build again",
            project.spec_path.display(),
            migrations::MIGRATIONS_DIR,
            changes
                .iter()
                .map(|change| format!("  - {change}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(())
}

/// Every step of a build: check and generate, then [`build_checked`]. Returns the checked spec
/// and the installed binary.
fn check_and_build(
    project: &Project,
    debug: bool,
    output: BuildOutput,
) -> Result<(analysis::ir::AppSpec, PathBuf), StepError> {
    let spec = check_and_generate(project, output)?;
    let binary = build_checked(project, &spec, debug, output)?;
    Ok((spec, binary))
}

/// The steps of a build after the spec was checked and generated: the web client (when the
/// spec has pages), then the server. Returns the installed binary.
pub(super) fn build_checked(
    project: &Project,
    spec: &analysis::ir::AppSpec,
    debug: bool,
    output: BuildOutput,
) -> Result<PathBuf, StepError> {
    // The web client first: type errors in the team's pages show up in seconds, before cargo's
    // longer work.
    web_client(&project.root, spec, output.color)?;
    compile_server(project, spec, debug, output)
}

/// Prints the last line of a one-shot command that failed in the spec or the team's code: what
/// failed and what to do, then run `command` again. Usage and I/O errors are left to `main`.
pub(super) fn print_advice(error: &StepError, project: &Project, command: &str) {
    if let Some(advice) = error.advice(&project.spec_path, &project.root, command) {
        terminal::line(&advice);
    }
}

/// How much a build prints besides errors.
#[derive(Debug, Clone, Copy)]
pub(super) struct BuildOutput {
    /// Whether stderr gets ANSI colours.
    pub color: bool,
    /// Stage lines and cargo's progress; `appc dev` turns them off after its first build so
    /// that a rebuild prints one status line.
    pub progress: bool,
}

impl BuildOutput {
    /// What a one-shot command (`appc build`, `appc db ...`) prints: stage lines and cargo's
    /// progress, in colour when `color` and stderr allow it.
    pub(super) fn with_progress(color: ColorChoice) -> BuildOutput {
        BuildOutput {
            color: stderr_wants_color(color),
            progress: true,
        }
    }
}

/// Checks the spec, printing its diagnostics, and when it has no errors writes the generated
/// server into `.appc/out/` (only files that changed). Returns the IR, or
/// [`StepError::SpecErrors`] when the spec has errors (they have been printed).
pub(super) fn check_and_generate(
    project: &Project,
    output: BuildOutput,
) -> Result<analysis::ir::AppSpec, StepError> {
    let spec = check(project, output)?;
    generate(project, &spec, output)?;
    Ok(spec)
}

/// Checks the spec and prints its diagnostics. Returns the IR, or [`StepError::SpecErrors`]
/// when the spec has errors.
pub(super) fn check(
    project: &Project,
    output: BuildOutput,
) -> Result<analysis::ir::AppSpec, StepError> {
    let color = output.color;
    let spec_path = &project.spec_path;
    if output.progress {
        stage(color, "Checking", &spec_path.display().to_string());
    }
    let bytes = std::fs::read(spec_path)
        .with_context(|| format!("cannot read `{}`", spec_path.display()))?;
    let compiled = appc_core::compile(
        &bytes,
        &DiskFiles::new(&project.root),
        appc_core::Stop::AfterAnalysis,
    );
    let text = String::from_utf8_lossy(&bytes);
    let display_name = spec_path.display().to_string();
    let source = SourceFile {
        name: &display_name,
        text: &text,
    };
    let color_mode = if color {
        ColorMode::Ansi
    } else {
        ColorMode::Plain
    };
    terminal::text(&diagnostics::render_all(
        &compiled.diagnostics,
        &source,
        color_mode,
    ));
    let Some(spec) = compiled.spec else {
        return Err(StepError::SpecErrors);
    };
    Ok(spec)
}

/// Writes the generated server of `spec` into `.appc/out/` (only files that changed), with the
/// team's files and the migrations of `migrations/`.
pub(super) fn generate(
    project: &Project,
    spec: &analysis::ir::AppSpec,
    output: BuildOutput,
) -> Result<(), StepError> {
    let color = output.color;
    let out_dir = project.appc_dir.join("out");
    if output.progress {
        stage(color, "Generating", &out_dir.display().to_string());
    }
    let options = ServerOptions {
        team_files: team_files(&project.root)?,
        migrations: migrations::list(&project.root)?
            .into_iter()
            .map(|migration| migration.name)
            .collect(),
    };
    let files = format_rust_files(server::generate(spec, &options));
    let pairs: Vec<(String, String)> = files
        .into_iter()
        .map(|file| (file.path, file.contents))
        .collect();
    let summary = write_generated(&out_dir, &pairs)?;
    // The lockfile is written once: afterwards cargo owns it (it prunes what the server does not
    // use), and rewriting it on every build would only make cargo resolve again.
    let lockfile = out_dir.join("Cargo.lock");
    if !lockfile.exists() {
        std::fs::write(&lockfile, runtime_bundle::workspace_lockfile())
            .with_context(|| format!("cannot write `{}`", lockfile.display()))?;
    }
    if output.progress {
        terminal::line(&format!(
            "             {} files written, {} unchanged",
            summary.written.len(),
            summary.unchanged
        ));
    }
    Ok(())
}

/// Compiles the generated server with cargo and places the binary at `.appc/build/server`.
/// Returns its path, [`StepError::CompileFailed`] when it did not compile (the errors have been
/// printed with the team's paths), or [`StepError::Cancelled`] when a newer save under
/// `appc dev` ended cargo.
pub(super) fn compile_server(
    project: &Project,
    spec: &analysis::ir::AppSpec,
    debug: bool,
    output: BuildOutput,
) -> Result<PathBuf, StepError> {
    let profile = if debug { "debug" } else { "release" };
    if output.progress {
        stage(
            output.color,
            "Compiling",
            &format!("the server with cargo ({profile})"),
        );
    }
    let out_dir = project.appc_dir.join("out");
    let compiled = run_cargo(&out_dir, &project.appc_dir, spec, debug, output);
    // Checked before the result: a cancelled cargo fails, and a build cancelled just as it
    // finished still compiled older files than the latest save. Neither may be installed.
    if process::take_build_cancelled() {
        return Err(StepError::Cancelled);
    }
    let executable = compiled?;
    let binary = project.server_binary();
    install_binary(&executable, &binary)?;
    Ok(binary)
}

/// Copies the executable cargo built to `binary` through a temporary file in the same folder
/// and a rename, so a server still running from the old binary is never written to (that fails
/// with ETXTBSY on Linux) and no one ever sees a half-copied file.
fn install_binary(executable: &Path, binary: &Path) -> anyhow::Result<()> {
    let build_dir = binary.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(build_dir)
        .with_context(|| format!("cannot create `{}`", build_dir.display()))?;
    let temporary = build_dir.join(format!(".server.{}.tmp", std::process::id()));
    std::fs::copy(executable, &temporary).with_context(|| {
        format!(
            "cannot copy `{}` to `{}`",
            executable.display(),
            temporary.display()
        )
    })?;
    std::fs::rename(&temporary, binary).with_context(|| {
        let _ = std::fs::remove_file(&temporary);
        format!(
            "cannot move `{}` to `{}`",
            temporary.display(),
            binary.display()
        )
    })
}

/// Writes, type-checks and bundles the web client when the app has pages; a Node tool that
/// fails on the team's code is [`StepError::WebToolFailed`] (its output has been printed).
fn web_client(
    project_root: &Path,
    spec: &analysis::ir::AppSpec,
    color: bool,
) -> Result<(), StepError> {
    let Some((web_dir, summary)) = web::write_web_project(project_root, spec)? else {
        return Ok(());
    };
    stage(color, "Generating", &web_dir.display().to_string());
    terminal::line(&format!(
        "             {} files written, {} unchanged, {} removed",
        summary.written.len(),
        summary.unchanged,
        summary.removed.len()
    ));
    if summary.written.is_empty()
        && summary.removed.is_empty()
        && web::web_build_is_current(&web_dir)
    {
        stage(color, "Fresh", "the web client is up to date");
        return Ok(());
    }
    web::check_and_build_web(&web_dir, color)
}

/// The team's Rust files directly under `src/server/`, sorted, relative to the project root.
fn team_files(project_root: &Path) -> anyhow::Result<Vec<String>> {
    let server_dir = project_root.join("src/server");
    let Ok(entries) = std::fs::read_dir(&server_dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", server_dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && name.ends_with(".rs") {
            let stem = name.trim_end_matches(".rs");
            if matches!(stem, "main" | "app" | "lib") {
                bail!(
                    "`src/server/{name}` would clash with the generated server's own `{stem}` module; rename the file"
                );
            }
            files.push(format!("src/server/{name}"));
        }
    }
    files.sort();
    Ok(files)
}

/// Formats generated Rust with rustfmt so that the output is what a reader expects. Without
/// rustfmt the files are kept as rendered (they still compile) and a warning says so once.
fn format_rust_files(files: Vec<GeneratedFile>) -> Vec<GeneratedFile> {
    let mut warned = false;
    files
        .into_iter()
        .map(|mut file| {
            if file.is_rust() && !file.path.starts_with(runtime_bundle::RUNTIME_DIR) {
                match rustfmt(&file.contents) {
                    Ok(formatted) => file.contents = formatted,
                    Err(error) if !warned => {
                        warned = true;
                        terminal::line(&format!(
                            "warning: generated code is not formatted: {error:#}; install rustfmt (`rustup component add rustfmt`)"
                        ));
                    }
                    Err(_) => {}
                }
            }
            file
        })
        .collect()
}

fn rustfmt(source: &str) -> anyhow::Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run rustfmt")?;
    let mut stdin = child.stdin.take().context("rustfmt has no stdin")?;
    let input = source.to_owned();
    // Writing on another thread keeps a large file from filling both pipes and blocking.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().context("rustfmt did not finish")?;
    let _ = writer.join();
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Runs `cargo build` on the generated workspace, passing its progress through and printing
/// compiler messages with team paths. Returns the built executable, or
/// [`StepError::CompileFailed`] (the errors have been printed).
fn run_cargo(
    out_dir: &Path,
    appc_dir: &Path,
    spec: &analysis::ir::AppSpec,
    debug: bool,
    output: BuildOutput,
) -> Result<PathBuf, StepError> {
    let color = output.color;
    let binary_name = server::binary_name(spec);
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(out_dir.join("Cargo.toml"))
        .args(["--bin", &binary_name])
        .arg("--message-format")
        .arg(if color {
            "json-diagnostic-rendered-ansi"
        } else {
            "json"
        })
        // cargo's own lines (progress, errors) go straight to the terminal: coloured exactly
        // when appc's are (`--color`, `NO_COLOR`).
        .args(["--color", if color { "always" } else { "never" }])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if !debug {
        command.arg("--release");
    }
    if !output.progress {
        command.arg("--quiet");
    }
    // The server's build script embeds this project's web bundle. Two projects with the same app
    // name that share a target folder share that script's output too (cargo's hash of a path
    // package does not include where the project is), so the script reruns when this changes.
    command.env(
        "APPC_WEB_BUNDLE",
        absolute(
            &appc_dir
                .join("build")
                .join(appc_core::codegen::web::WEB_DIR),
        ),
    );
    // A target folder chosen by the caller wins (tests share the repository's); otherwise every
    // generated app of the project shares `.appc/target`.
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command
            .arg("--target-dir")
            .arg(absolute(&appc_dir.join("target")));
    }
    // Cancellable: under `appc dev` a newer save ends this build and starts over.
    let mut child = process::spawn_cancellable(&mut command)
        .context("cannot run cargo; install Rust (https://rustup.rs) so that `cargo` is on PATH")?;
    let stdout = child.stdout.take().context("cargo has no stdout")?;
    let mut executable = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("cannot read cargo's output")?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            // Not a JSON message (a build script's output, for instance): show it as it is.
            terminal::line(&line);
            continue;
        };
        match message["reason"].as_str() {
            Some("compiler-message") => {
                if let Some(rendered) = message["message"]["rendered"].as_str() {
                    terminal::text(&team_paths(rendered));
                }
            }
            Some("compiler-artifact") => {
                if message["target"]["name"].as_str() == Some(binary_name.as_str())
                    && let Some(path) = message["executable"].as_str()
                {
                    executable = Some(PathBuf::from(path));
                }
            }
            _ => {}
        }
    }
    let status = child.wait().context("cargo did not finish")?;
    process::forget(&child);
    // Ctrl-C ended cargo: appc is about to exit, and a "did not compile" would be misleading.
    process::wait_here_if_stopping();
    if !status.success() {
        return Err(StepError::CompileFailed);
    }
    executable.ok_or_else(|| {
        anyhow::anyhow!("cargo built the server but did not report the `{binary_name}` executable")
            .into()
    })
}

/// Compiler messages name files relative to the generated workspace, and the team's files
/// through the generated crate (`server/src/../../../../src/server/chat.rs`). This makes every
/// path relative to the project: `src/server/chat.rs` for the team's files and
/// `.appc/out/server/src/...` for generated ones.
fn team_paths(rendered: &str) -> String {
    rendered
        .replace(&format!("server/src/{TEAM_FILE_PREFIX}"), "")
        .replace("--> server/src/", "--> .appc/out/server/src/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_messages_name_the_team_file() {
        let rendered = "error[E0425]: cannot find value `x`\n --> server/src/../../../../src/server/chat.rs:12:5\n";
        assert_eq!(
            team_paths(rendered),
            "error[E0425]: cannot find value `x`\n --> src/server/chat.rs:12:5\n"
        );
        assert_eq!(
            team_paths("note: required by a bound\n   --> server/src/app/web_socket.rs:105:18\n"),
            "note: required by a bound\n   --> .appc/out/server/src/app/web_socket.rs:105:18\n"
        );
    }
}
