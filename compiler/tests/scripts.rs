//! The repository's shell scripts: `scripts/require-rust.sh`, which `scripts/test.sh` and
//! `scripts/run-example.sh` run before building, stops with the needed and found versions when
//! rustc is older than the workspace's `rust-version`, and lets a new enough rustc through.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate is inside the workspace")
        .to_path_buf()
}

/// Runs `scripts/require-rust.sh` with a stand-in `rustc` that prints `version_line`.
fn require_rust_with(version_line: &str) -> Output {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let fake_rustc = folder.path().join("rustc");
    std::fs::write(&fake_rustc, format!("#!/bin/sh\necho '{version_line}'\n"))
        .expect("the stand-in rustc is written");
    let mut permissions = std::fs::metadata(&fake_rustc).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&fake_rustc, permissions).expect("the stand-in rustc is executable");
    Command::new("bash")
        .arg(repository_root().join("scripts/require-rust.sh"))
        .env("RUSTC", &fake_rustc)
        .output()
        .expect("bash runs")
}

#[test]
fn an_older_rustc_is_refused_with_both_versions_and_how_to_update() {
    let output = require_rust_with("rustc 1.88.0 (6b00bc388 2025-06-23)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let needed = env!("CARGO_PKG_RUST_VERSION");
    assert!(
        stderr.contains(&format!("needs Rust {needed} or newer")),
        "{stderr}"
    );
    assert!(stderr.contains("rustc is 1.88.0"), "{stderr}");
    assert!(stderr.contains("rustup update stable"), "{stderr}");
}

#[test]
fn the_declared_rustc_and_newer_ones_pass() {
    let needed = env!("CARGO_PKG_RUST_VERSION");
    for version_line in [
        format!("rustc {needed}.0 (0000000 2026-01-01)"),
        "rustc 2.0.0-nightly (0000000 2030-01-01)".to_string(),
    ] {
        let output = require_rust_with(&version_line);
        assert!(
            output.status.success(),
            "{version_line}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
