//! Diagnostics: the one type every pass reports problems with, and its renderers.
//!
//! Passes never print: they return `Vec<Diagnostic>` beside their result. The CLI renders them,
//! rustc-style for people ([`render`]) or as JSON objects for tools ([`to_json`]).

mod diagnostic;
mod render;

pub use diagnostic::{Diagnostic, Label, Severity, has_errors};
pub use render::{ColorMode, SourceFile, render, render_all, to_json};
