//! Writes generated files under an output folder, touching only what changed.
//!
//! Rewriting an unchanged file would bump its modification time and make cargo rebuild the
//! generated crate for nothing, so each file is compared with what is on disk first. Files that a
//! previous generation wrote and this one no longer produces are removed, so stale code cannot
//! linger; everything else in the folder (such as `node_modules`) is left alone.

use anyhow::Context;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The name of the list of generated files kept in each output folder, one relative path a line.
const MANIFEST_NAME: &str = ".appc-generated";

/// What [`write_generated`] did, for progress output and for tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: Vec<PathBuf>,
    pub unchanged: usize,
    pub removed: Vec<PathBuf>,
}

/// Writes `files` (paths relative to `out_dir`, '/'-separated) and removes files that the previous
/// run generated but this one does not.
pub fn write_generated(out_dir: &Path, files: &[(String, String)]) -> anyhow::Result<WriteSummary> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create `{}`", out_dir.display()))?;
    let mut summary = WriteSummary::default();
    for (relative_path, contents) in files {
        let path = out_dir.join(relative_path);
        if std::fs::read(&path).is_ok_and(|existing| existing == contents.as_bytes()) {
            summary.unchanged += 1;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        summary.written.push(path);
    }

    let manifest_path = out_dir.join(MANIFEST_NAME);
    let generated_now: BTreeSet<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    let generated_before = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    for stale in generated_before
        .lines()
        .filter(|line| !line.is_empty() && !generated_now.contains(line))
    {
        let path = out_dir.join(stale);
        if std::fs::remove_file(&path).is_ok() {
            summary.removed.push(path);
        }
    }
    let manifest: String = generated_now
        .iter()
        .map(|path| format!("{path}\n"))
        .collect();
    if generated_before != manifest {
        std::fs::write(&manifest_path, manifest)
            .with_context(|| format!("cannot write `{}`", manifest_path.display()))?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(path, contents)| (path.to_string(), contents.to_string()))
            .collect()
    }

    #[test]
    fn writes_new_files_then_skips_unchanged_ones() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_generated(
            dir.path(),
            &files(&[("Cargo.toml", "a"), ("src/main.rs", "b")]),
        )
        .unwrap();
        assert_eq!(first.written.len(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("src/main.rs")).unwrap(),
            "b"
        );

        let modified_before = std::fs::metadata(dir.path().join("Cargo.toml"))
            .unwrap()
            .modified()
            .unwrap();
        let second = write_generated(
            dir.path(),
            &files(&[("Cargo.toml", "a"), ("src/main.rs", "changed")]),
        )
        .unwrap();
        assert_eq!(second.written, vec![dir.path().join("src/main.rs")]);
        assert_eq!(second.unchanged, 1);
        let modified_after = std::fs::metadata(dir.path().join("Cargo.toml"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(modified_before, modified_after);
    }

    #[test]
    fn removes_files_it_generated_before_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("user-notes.txt"), "keep me").unwrap();
        write_generated(dir.path(), &files(&[("a.rs", "1"), ("b.rs", "2")])).unwrap();
        let summary = write_generated(dir.path(), &files(&[("a.rs", "1")])).unwrap();
        assert_eq!(summary.removed, vec![dir.path().join("b.rs")]);
        assert!(!dir.path().join("b.rs").exists());
        assert!(dir.path().join("user-notes.txt").exists());
    }
}
