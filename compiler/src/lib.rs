//! `appc`: the compiler library behind the `appc` binary.
//!
//! The pipeline flows one way: [`syntax`] parses a spec into an AST, [`analysis`] resolves it into
//! the `AppSpec` IR, [`codegen`] renders files from the IR, and [`cli`] (the only module that
//! touches the file system, processes or the terminal) writes them. [`diagnostics`] is shared by all.

pub mod analysis;
pub mod cli;
pub mod codegen;
pub mod diagnostics;
pub mod syntax;
