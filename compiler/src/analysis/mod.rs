//! Analysis: resolves a parsed spec into the `AppSpec` IR that every generator reads.
//!
//! Interim interface only: the analyzer proper lands from the `analysis` branch and replaces this file.

use crate::diagnostics::Diagnostic;
use crate::syntax::ast;

/// The project's files as the analyzer sees them (the CLI reads the disk; tests use memory).
pub trait ProjectFiles {
    /// The text of a file given relative to the project root with '/' separators; None when it does
    /// not exist or cannot be read as UTF-8.
    fn read(&self, relative_path: &str) -> Option<String>;
}

pub struct Analysis {
    pub spec: Option<serde_json::Value>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn analyze(_module: &ast::Module, _files: &dyn ProjectFiles) -> Analysis {
    Analysis {
        spec: None,
        diagnostics: Vec::new(),
    }
}
