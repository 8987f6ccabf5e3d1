//! `appc`: the command-line compiler, the only part of appc that touches the file system,
//! processes and the terminal.
//!
//! Parsing, analysis, code generation and diagnostics live in the pure `appc-core` crate; [`cli`]
//! reads the spec and the team's files, calls [`appc_core::compile`] and the generators, writes
//! what changed, and runs rustfmt, cargo, npm, tsc and Vite.

pub mod cli;
