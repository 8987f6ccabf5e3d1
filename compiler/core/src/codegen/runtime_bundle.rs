//! The runtime crate as `appc` carries it: its sources, embedded at compile time by
//! `compiler/build.rs`, plus the cargo workspace manifest and lockfile that let a generated server
//! build against it anywhere.
//!
//! The runtime's `Cargo.toml` inherits its dependencies and package fields from the appc
//! workspace (`serde.workspace = true`). Rather than rewriting it, the generated workspace
//! manifest carries the same `[workspace.package]`, `[workspace.dependencies]` and profiles as
//! ours, so the embedded manifest resolves unchanged. Writing our `Cargo.lock` as the generated
//! lockfile pins the very versions appc was tested with, which is also what lets a shared target
//! folder reuse compiled dependencies.

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_runtime.rs"));
}

use super::GeneratedFile;

/// The folder of the runtime inside the output folder.
pub const RUNTIME_DIR: &str = "runtime";

/// The runtime crate's files, under `runtime/`.
pub fn runtime_files() -> Vec<GeneratedFile> {
    embedded::RUNTIME_FILES
        .iter()
        .map(|(path, contents)| GeneratedFile::new(format!("{RUNTIME_DIR}/{path}"), *contents))
        .collect()
}

/// The lockfile to start a generated workspace with (appc's own).
pub fn workspace_lockfile() -> &'static str {
    embedded::WORKSPACE_LOCKFILE
}

/// Everything in appc's workspace manifest except its `[workspace]` table: the shared package
/// fields, the dependency versions and features, and the profiles.
pub fn shared_manifest_sections() -> String {
    manifest_without_workspace_table(embedded::WORKSPACE_MANIFEST)
}

/// Drops the `[workspace]` table (members, resolver) from a manifest and keeps every other table
/// as written. Tables start at lines that begin with `[`; the text is otherwise left alone.
fn manifest_without_workspace_table(manifest: &str) -> String {
    let mut kept = String::new();
    let mut in_workspace_table = false;
    for line in manifest.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_workspace_table = trimmed.starts_with("[workspace]");
        }
        if !in_workspace_table {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept.trim_start().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_sources_are_embedded() {
        let files = runtime_files();
        let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
        assert!(paths.contains(&"runtime/Cargo.toml"), "{paths:?}");
        assert!(paths.contains(&"runtime/src/lib.rs"), "{paths:?}");
        assert!(paths.contains(&"runtime/src/socket/mod.rs"), "{paths:?}");
        assert!(workspace_lockfile().contains("name = \"socketioxide\""));
    }

    #[test]
    fn only_the_workspace_table_is_dropped() {
        let manifest = "[workspace]\nmembers = [\"a\"]\n\n[workspace.package]\nversion = \"1.0.0\"\n\n[workspace.dependencies]\nserde = \"1\"\n\n[profile.dev]\ndebug = false\n";
        assert_eq!(
            manifest_without_workspace_table(manifest),
            "[workspace.package]\nversion = \"1.0.0\"\n\n[workspace.dependencies]\nserde = \"1\"\n\n[profile.dev]\ndebug = false\n"
        );
        let shared = shared_manifest_sections();
        assert!(shared.contains("[workspace.dependencies]"));
        assert!(!shared.contains("members"));
    }
}
