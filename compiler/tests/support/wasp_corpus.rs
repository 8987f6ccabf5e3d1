//! Finding the Wasp corpus for the tests that read it (`corpus.rs`, `cases.rs`).
//!
//! The corpus is another project's data and is not copied into this repository: it lies in
//! `shared/wasp-corpus` beside the repository (or wherever `APPC_WASP_CORPUS` points). Where it is
//! absent the tests that need it say so and pass; `scripts/test.sh` warns about it up front.

use std::path::{Path, PathBuf};

/// The corpus folder, or `None` (after saying so on stderr) when it is not there.
pub fn directory() -> Option<PathBuf> {
    let directory = match std::env::var_os("APPC_WASP_CORPUS") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/wasp-corpus"),
    };
    if directory.is_dir() {
        Some(directory)
    } else {
        eprintln!(
            "\n==========\nSKIPPED: the Wasp corpus was not found at {}\nset APPC_WASP_CORPUS to its folder to run the corpus tests\n==========\n",
            directory.display()
        );
        None
    }
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
