//! Watching the project for `appc dev`: notify + notify-debouncer-full on `main.wasp` (through
//! the project folder, so saves by rename are seen) and `src/` recursively, without editors'
//! temporary files, generated output, installed packages or mere reads.
//!
//! The watcher's thread sends each batch of changed paths to the loop, and cancels a running
//! cargo when the batch needs a new server (`process::cancel_build`): its result would be out of
//! date anyway.

use crate::cli::process;
use crate::cli::project::{Project, absolute};
use anyhow::Context;
use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// How long the watcher waits after an event before reporting it: editors write a file in
/// several steps, and "save all" touches many files at once.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// The running watcher; dropping it stops watching.
pub type Watcher = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

/// Watches `main.wasp` (through the project folder, so editors that save by renaming are seen)
/// and `src/` recursively, and sends every batch of relevant changed paths (absolute).
pub fn watch(project: &Project, sender: mpsc::Sender<Vec<PathBuf>>) -> anyhow::Result<Watcher> {
    let root = absolute(&project.root);
    let spec_path = absolute(&project.spec_path);
    let filter_root = root.clone();
    let client_dir = client_dir(project);
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else {
            return;
        };
        // Reading a file is reported too (inotify's open events); the build reads every file it
        // watches, so only writes, creations, removals and renames may count.
        let paths: Vec<PathBuf> = events
            .into_iter()
            .filter(|event| {
                matches!(
                    event.kind,
                    EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                )
            })
            .flat_map(|event| event.event.paths)
            .filter(|path| is_watched(path, &filter_root, &spec_path))
            .collect();
        if paths.is_empty() {
            return;
        }
        let needs_server_build = !only_client_files(&paths, &client_dir);
        // Sent before cancelling, so the loop finds the newer save when the build returns.
        let _ = sender.send(paths);
        if needs_server_build {
            // A cargo still compiling older files would only delay the newer ones. A save
            // under `src/client/` does not cancel: the server does not need it.
            process::cancel_build();
        }
    })
    .context("cannot watch the project's files")?;
    debouncer
        .watch(&root, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch `{}`", root.display()))?;
    let source_dir = root.join("src");
    if source_dir.is_dir() {
        debouncer
            .watch(&source_dir, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch `{}`", source_dir.display()))?;
    }
    Ok(debouncer)
}

/// The project's `src/client/`, absolute, as the watcher reports paths under it.
pub fn client_dir(project: &Project) -> PathBuf {
    absolute(&project.root).join("src/client")
}

/// Whether every changed path (absolute, as the watcher reports them) is under `src/client/`:
/// then the server need not be rebuilt.
pub fn only_client_files(changed: &[PathBuf], client_dir: &Path) -> bool {
    changed.iter().all(|path| path.starts_with(client_dir))
}

/// Whether a change to `path` matters: the spec itself, or a file under `src/` that is not an
/// editor's temporary file, generated output or installed packages.
fn is_watched(path: &Path, root: &Path, spec_path: &Path) -> bool {
    if path == spec_path {
        return true;
    }
    let Ok(relative) = path.strip_prefix(root.join("src")) else {
        return false;
    };
    let ignored_folder = relative.components().any(|component| {
        let name = component.as_os_str().to_string_lossy();
        name == ".appc" || name == "node_modules" || name == ".git"
    });
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    !ignored_folder && !is_editor_temporary_file(&file_name)
}

/// Backup and swap files of vim, emacs and friends, and vim's `4913` write test.
fn is_editor_temporary_file(name: &str) -> bool {
    name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('.')
            && [".swp", ".swx", ".swo"]
                .iter()
                .any(|suffix| name.ends_with(suffix)))
        || name == "4913"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_temporary_files_are_ignored() {
        for name in [
            ".chat.rs.swp",
            ".chat.rs.swx",
            "chat.rs~",
            ".#chat.rs",
            "4913",
        ] {
            assert!(is_editor_temporary_file(name), "{name}");
        }
        for name in ["chat.rs", "MainPage.tsx", ".env", "swp.rs"] {
            assert!(!is_editor_temporary_file(name), "{name}");
        }
    }

    #[test]
    fn only_the_spec_and_sources_are_watched() {
        let root = Path::new("/project");
        let spec = Path::new("/project/main.wasp");
        assert!(is_watched(spec, root, spec));
        assert!(is_watched(
            Path::new("/project/src/server/chat.rs"),
            root,
            spec
        ));
        assert!(is_watched(
            Path::new("/project/src/client/MainPage.tsx"),
            root,
            spec
        ));
        for ignored in [
            "/project/.appc/out/server/src/main.rs",
            "/project/README.md",
            "/project/src/client/node_modules/x/index.js",
            "/project/src/server/.chat.rs.swp",
            "/project/src/server/4913",
        ] {
            assert!(!is_watched(Path::new(ignored), root, spec), "{ignored}");
        }
    }
}
