//! Code generation: turns the `AppSpec` IR into files, without any I/O.
//!
//! Each generator builds a small view model from the IR and renders askama templates from the
//! repository's `templates/` folder (compiled into the binary). The CLI writes the returned files,
//! formats the Rust ones with rustfmt and runs cargo.
//!
//! - [`server`]: the generated server crate (`.appc/out/server/`) and the cargo workspace around it;
//! - [`runtime_bundle`]: the runtime crate's sources, embedded in `appc` at compile time and written
//!   to `.appc/out/runtime/`, so a generated server builds without the appc source tree;
//! - [`rust_names`]: how IR names and types become Rust names and types;
//! - [`web`]: the generated web client (`.appc/out/web/`): a Vite + React + TypeScript project
//!   with the typed SDK the team's pages import (`@appc/webSocket`, `@appc/auth`, `@appc/types`);
//! - [`ts_names`]: how IR names and types become TypeScript names and types.

pub mod runtime_bundle;
pub mod rust_names;
pub mod server;
pub mod ts_names;
pub mod web;

/// One generated file: a path relative to the output folder (`.appc/out/`) with `/` separators,
/// and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

impl GeneratedFile {
    pub fn new(path: impl Into<String>, contents: impl Into<String>) -> Self {
        GeneratedFile {
            path: path.into(),
            contents: contents.into(),
        }
    }

    /// Whether the file is Rust source (the CLI formats those with rustfmt).
    pub fn is_rust(&self) -> bool {
        self.path.ends_with(".rs")
    }
}
