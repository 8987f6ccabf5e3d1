//! Finding the Wasp corpus for the tests that read it (`corpus.rs`, `cases.rs`).
//!
//! The corpus is another project's data and is not copied into this repository: it lies in
//! `shared/wasp-corpus` beside the repository (or wherever `APPC_WASP_CORPUS` points). Where it is
//! absent the tests that need it say so and pass, except in CI (the environment variable `CI` is
//! set), where a missing corpus fails them: a CI run must not pass by checking nothing.
//! `scripts/test.sh` warns about it up front.

use std::path::{Path, PathBuf};

/// The corpus folder, or `None` (after saying so on stderr) when it is not there. Panics when it
/// is not there in CI.
pub fn directory() -> Option<PathBuf> {
    let configured = std::env::var_os("APPC_WASP_CORPUS").map(PathBuf::from);
    let in_ci = std::env::var_os("CI").is_some_and(|value| !value.is_empty());
    match locate(configured, in_ci) {
        Ok(found) => found,
        Err(message) => panic!("{message}"),
    }
}

/// Where the corpus is: `configured` (from `APPC_WASP_CORPUS`) or the folder beside the
/// repository. `Ok(None)` when it is missing outside CI, an error when it is missing in CI.
pub fn locate(configured: Option<PathBuf>, in_ci: bool) -> Result<Option<PathBuf>, String> {
    let directory = configured
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/wasp-corpus"));
    if directory.is_dir() {
        return Ok(Some(directory));
    }
    if in_ci {
        return Err(format!(
            "the Wasp corpus was not found at {} and CI is set, so the corpus tests would check \
             nothing: put the corpus there or set APPC_WASP_CORPUS to its folder",
            directory.display()
        ));
    }
    eprintln!(
        "\n==========\nSKIPPED: the Wasp corpus was not found at {}\nset APPC_WASP_CORPUS to its folder to run the corpus tests\n==========\n",
        directory.display()
    );
    Ok(None)
}

/// Every `.wasp` file below `directory`, sorted.
pub fn wasp_files(directory: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect_wasp_files(directory, &mut found);
    found.sort();
    found
}

fn collect_wasp_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(directory).expect("readable corpus directory");
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            collect_wasp_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "wasp")
        {
            found.push(path);
        }
    }
}
