//! Syntax: turns the text of a spec file into an [`ast::Module`] plus diagnostics.
//!
//! The grammar is `spec/wasp.pest` (the normative one, compiled in by pest_derive). pest pairs never
//! leave this module. Parsing never panics and never stops at the first error: independent errors
//! in one file are all reported in one run.

pub mod ast;
mod escapes;
mod grammar;
mod lower;
mod parser;
mod scan;
mod syntax_errors;
#[cfg(test)]
mod tests;

pub use parser::Parsed;
pub use scan::MAX_NESTING_DEPTH;

use crate::diagnostics::Diagnostic;

/// Parses the text of a spec file.
pub fn parse(source: &str) -> Parsed {
    parser::parse(source)
}

/// Parses raw bytes: invalid UTF-8 is reported at its first offending byte instead of failing.
pub fn parse_bytes(bytes: &[u8]) -> Parsed {
    match std::str::from_utf8(bytes) {
        Ok(source) => parse(source),
        Err(error) => {
            let at = error.valid_up_to();
            let span = ast::Span::new(at, at + error.error_len().unwrap_or(1));
            Parsed {
                module: ast::Module::default(),
                diagnostics: vec![
                    Diagnostic::error(
                        "the spec file is not valid UTF-8",
                        span,
                        "this byte is not valid UTF-8",
                    )
                    .with_help("save the file with UTF-8 encoding"),
                ],
            }
        }
    }
}
