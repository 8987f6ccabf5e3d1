//! Syntax error messages: turns pest's "expected one of these rules at this position" into a
//! specific, readable diagnostic that names what was expected and what was found.

use super::MAX_NESTING_DEPTH;
use super::ast::Span;
use super::grammar::Rule;
use super::scan;
use crate::diagnostics::Diagnostic;
use pest::error::{Error, ErrorVariant, InputLocation};

/// The byte offset (relative to the parsed text) at which pest gave up.
pub(super) fn error_position(error: &Error<Rule>) -> usize {
    match error.location {
        InputLocation::Pos(position) => position,
        InputLocation::Span((start, _)) => start,
    }
}

/// The diagnostic for a syntax error at byte `error_at` of `source`.
pub(super) fn describe(source: &str, error_at: usize, error: &Error<Rule>) -> Diagnostic {
    let expected: Vec<Rule> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = scan::token_at(source, error_at);
    let span = Span::new(found.start, found.end);
    Diagnostic::error(
        format!("expected {expected:?}, found {:?}", found.kind),
        span,
        "here",
    )
}

pub(super) fn nesting_too_deep(source: &str, bracket: usize) -> Diagnostic {
    let _ = source;
    Diagnostic::error(
        "nesting is too deep",
        Span::new(bracket, bracket + 1),
        format!("this is nested more than {MAX_NESTING_DEPTH} levels deep"),
    )
    .with_help("flatten the structure; real specs nest only a few levels")
}
