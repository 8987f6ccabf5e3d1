//! `appc-core`: the pure core of the appc compiler.
//!
//! The pipeline flows one way: [`syntax`] parses a spec into an AST, [`analysis`] resolves it into
//! the `AppSpec` IR, [`codegen`] renders files from the IR. [`diagnostics`] is shared by all.
//! [`migrations`] turns the IR into a schema snapshot and plans the SQL between two snapshots.
//! [`compile`] is the front door that runs parsing and analysis the way every caller needs them.
//!
//! Nothing in this crate touches the file system, processes, the environment or the terminal:
//! the team's files come in through [`analysis::ProjectFiles`], generated files go out as
//! `(path, contents)` values, and `clippy.toml` denies the standard library's I/O entry points so
//! that `cargo clippy -- -D warnings` fails if one is added. The `appc` crate (the CLI) does the
//! I/O.

pub mod analysis;
pub mod codegen;
pub mod diagnostics;
pub mod migrations;
pub mod syntax;

use analysis::ProjectFiles;
use analysis::ir::AppSpec;
use diagnostics::Diagnostic;

/// How far [`compile`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stop {
    /// Parse only (`appc check --syntax-only`).
    AfterParsing,
    /// Parse, then analyze a file that parsed cleanly.
    #[default]
    AfterAnalysis,
}

/// What [`compile`] found: the parsed module, the IR when the spec has no errors, and every
/// diagnostic (syntax first, then analysis, each ordered by position).
#[derive(Debug)]
pub struct Compiled {
    pub module: syntax::ast::Module,
    pub spec: Option<AppSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        diagnostics::has_errors(&self.diagnostics)
    }
}

/// Parses a spec file's bytes and, unless told to stop after parsing, analyzes it with the
/// team's files read through `files`. Analysis runs only on a file that parsed cleanly: on a
/// tree with syntax errors it would mostly repeat them in other words (rustc does the same).
/// Never panics, whatever the input.
pub fn compile(source: &[u8], files: &dyn ProjectFiles, stop: Stop) -> Compiled {
    let parsed = syntax::parse_bytes(source);
    let mut diagnostics = parsed.diagnostics;
    let mut spec = None;
    if stop == Stop::AfterAnalysis && !diagnostics::has_errors(&diagnostics) {
        let analysis = analysis::analyze(&parsed.module, files);
        diagnostics.extend(analysis.diagnostics);
        spec = analysis
            .spec
            .filter(|_| !diagnostics::has_errors(&diagnostics));
    }
    Compiled {
        module: parsed.module,
        spec,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analysis::MemoryFiles;

    #[test]
    fn syntax_errors_skip_analysis() {
        let compiled = compile(b"app A {", &MemoryFiles::new(), Stop::AfterAnalysis);
        assert!(compiled.has_errors());
        assert!(compiled.spec.is_none());
    }

    #[test]
    fn a_valid_spec_gives_the_ir() {
        let source = b"app A { title: \"A\", wasp: { version: \"^0.17.0\" } }";
        let compiled = compile(source, &MemoryFiles::new(), Stop::AfterAnalysis);
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
        assert_eq!(compiled.spec.expect("the IR").app.name, "A");
    }

    #[test]
    fn stopping_after_parsing_gives_no_ir() {
        let source = b"app A { title: \"A\" }";
        let compiled = compile(source, &MemoryFiles::new(), Stop::AfterParsing);
        assert!(compiled.spec.is_none());
        assert!(compiled.module.decls.len() == 1);
    }
}
