//! The project's files on disk, as the analyzer sees them through [`ProjectFiles`].

use appc_core::analysis::ProjectFiles;
use std::path::{Component, Path, PathBuf};

/// Reads files below one project root. Paths that would leave the root (`..`, absolute paths) are
/// treated as missing, so a spec cannot make the compiler read arbitrary files.
pub struct DiskFiles {
    root: PathBuf,
}

impl DiskFiles {
    pub fn new(root: &Path) -> Self {
        DiskFiles {
            root: root.to_path_buf(),
        }
    }
}

impl ProjectFiles for DiskFiles {
    fn read(&self, relative_path: &str) -> Option<String> {
        let relative = Path::new(relative_path);
        let stays_inside = relative
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
        if !stays_inside {
            return None;
        }
        std::fs::read_to_string(self.root.join(relative)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_the_root_and_refuses_to_leave_it() {
        let root = std::env::temp_dir().join(format!("appc-disk-files-{}", std::process::id()));
        std::fs::create_dir_all(root.join("src/server")).unwrap();
        std::fs::write(root.join("src/server/chat.rs"), "pub fn chat() {}").unwrap();
        let files = DiskFiles::new(&root);
        assert_eq!(
            files.read("src/server/chat.rs").as_deref(),
            Some("pub fn chat() {}")
        );
        assert_eq!(files.read("src/server/missing.rs"), None);
        assert_eq!(files.read("../etc/passwd"), None);
        assert_eq!(files.read("/etc/passwd"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
