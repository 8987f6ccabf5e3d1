//! Embeds the runtime crate's sources, the workspace manifest and the workspace lockfile in the
//! core library (and so in the `appc` binary), so `appc build` can write them next to a generated server and the server builds
//! on a machine that has only the `appc` binary (no appc source tree at a fixed path).
//!
//! The list is produced by walking `runtime/` so that a new runtime module is picked up without
//! editing anything here. Only what building the runtime as a dependency needs is embedded: its
//! `Cargo.toml` and everything under `src/` (its tests are not).

// A build script runs at build time on the appc source tree, not in the compiler: reading the
// runtime's files and writing into OUT_DIR is its job, so the core's no-I/O lint does not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let workspace_dir = manifest_dir
        .ancestors()
        .nth(2)
        .expect("the core crate lives in compiler/core inside the workspace")
        .to_path_buf();
    let runtime_dir = workspace_dir.join("runtime");

    let mut runtime_files = vec![runtime_dir.join("Cargo.toml")];
    collect_files(&runtime_dir.join("src"), &mut runtime_files);
    runtime_files.sort();

    let mut generated =
        String::from("/// The runtime crate's files: path relative to the crate root, contents.\n");
    generated.push_str("pub const RUNTIME_FILES: &[(&str, &str)] = &[\n");
    for path in &runtime_files {
        let relative = path
            .strip_prefix(&runtime_dir)
            .expect("every collected file is inside runtime/")
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        writeln!(
            generated,
            "    ({relative:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
        println!("cargo::rerun-if-changed={}", path.display());
    }
    generated.push_str("];\n");

    for (constant, file_name) in [
        ("WORKSPACE_MANIFEST", "Cargo.toml"),
        ("WORKSPACE_LOCKFILE", "Cargo.lock"),
    ] {
        let path = workspace_dir.join(file_name);
        writeln!(
            generated,
            "/// The appc workspace's `{file_name}`.\npub const {constant}: &str = include_str!({:?});",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
        println!("cargo::rerun-if-changed={}", path.display());
    }
    // A new file in the runtime's source tree changes the list itself.
    println!(
        "cargo::rerun-if-changed={}",
        runtime_dir.join("src").display()
    );

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("embedded_runtime.rs"), generated).expect("OUT_DIR is writable");
}

/// Every file below `directory`, recursively; directories that cannot be read are skipped
/// (the runtime's own build would report them).
fn collect_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo::rerun-if-changed={}", path.display());
            collect_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}
