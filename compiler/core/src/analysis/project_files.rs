//! How analysis reads the team's files: the [`ProjectFiles`] trait, which the CLI implements over
//! the disk, and [`MemoryFiles`], an in-memory tree for tests and benchmarks.
//!
//! A leaf: the import checks read through it, and it knows nothing of them.

use std::collections::BTreeMap;

/// Read access to the team's project files (the CLI reads the disk, tests use [`MemoryFiles`]).
pub trait ProjectFiles {
    /// The text of a file given relative to the project root with '/' separators
    /// (e.g. "src/server/chat.rs"); None when it does not exist or cannot be read as UTF-8.
    fn read(&self, relative_path: &str) -> Option<String>;
}

/// An in-memory project tree, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFiles(BTreeMap<String, String>);

impl MemoryFiles {
    pub fn new() -> Self {
        MemoryFiles::default()
    }

    /// Adds or replaces a file at `relative_path` ('/' separators).
    pub fn insert(&mut self, relative_path: impl Into<String>, text: impl Into<String>) {
        self.0.insert(relative_path.into(), text.into());
    }
}

impl ProjectFiles for MemoryFiles {
    fn read(&self, relative_path: &str) -> Option<String> {
        self.0.get(relative_path).cloned()
    }
}

impl<P: Into<String>, T: Into<String>> FromIterator<(P, T)> for MemoryFiles {
    fn from_iter<I: IntoIterator<Item = (P, T)>>(iter: I) -> Self {
        MemoryFiles(
            iter.into_iter()
                .map(|(path, text)| (path.into(), text.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_files_collect_from_pairs_and_read_back() {
        let files: MemoryFiles = [("src/server/a.rs", "pub fn a() {}")].into_iter().collect();
        assert_eq!(
            files.read("src/server/a.rs").as_deref(),
            Some("pub fn a() {}")
        );
        assert_eq!(files.read("src/server/b.rs"), None);
    }
}
