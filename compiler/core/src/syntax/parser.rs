//! The parse driver: bounds nesting, runs the pest grammar, lowers the pairs to the AST, and
//! recovers from syntax errors.
//!
//! A valid file is parsed in one pest run. A file with syntax errors is parsed again declaration by
//! declaration, which is what makes recovery cheap and free of cascades: a broken declaration
//! costs one diagnostic, the rest of its entries are still checked, and every declaration after
//! it is parsed as usual.

use super::ast::{Decl, Expr, ExprKind, Ident, Module, Span};
use super::grammar::{Rule, WaspGrammar};
use super::lower::Lowering;
use super::scan::{self, MAX_NESTING_DEPTH};
use super::syntax_errors;
use crate::diagnostics::Diagnostic;
use pest::Parser;

/// The result of parsing: the tree (with [`ExprKind::Error`] where the text made no sense) and
/// every problem found.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub module: Module,
    pub diagnostics: Vec<Diagnostic>,
}

/// After this many syntax errors parsing stops. Each error costs a scan of the rest of the file
/// (an unterminated quoter or comment runs to its end), so the cap also keeps hostile inputs from
/// taking quadratic time; a real spec with more errors is better fixed from the top.
const MAX_SYNTAX_ERRORS: usize = 50;

pub fn parse(source: &str) -> Parsed {
    let mut diagnostics = Vec::new();
    // Bound the nesting depth before pest runs, since its recursive descent would otherwise be
    // able to exhaust the stack. Text from the first too-deep bracket on is not parsed.
    let structure = scan::scan_structure(source, MAX_NESTING_DEPTH);
    let too_deep_at = structure.too_deep_at;
    let parsed_text = match too_deep_at {
        Some(bracket) => {
            diagnostics.push(syntax_errors::nesting_too_deep(bracket));
            &source[..bracket]
        }
        None => source,
    };

    // Fast path: a valid file parses in one pest run. Only when that fails is the file parsed
    // again declaration by declaration, which is what recovery needs.
    if too_deep_at.is_none()
        && let Ok(mut files) = WaspGrammar::parse(Rule::file, source)
    {
        let mut lowering = Lowering {
            text: source,
            offset: 0,
            diagnostics: &mut diagnostics,
        };
        let decls = files
            .next()
            .map(|file| lowering.file(file))
            .unwrap_or_default();
        return Parsed {
            module: Module { decls },
            diagnostics,
        };
    }

    let mut recovering = Recovering {
        source,
        parsed_text,
        raw_regions: &structure.raw_regions,
        text_was_cut: too_deep_at.is_some(),
        diagnostics,
        syntax_error_count: 0,
    };
    let decls = recovering.parse_declarations();
    Parsed {
        module: Module { decls },
        diagnostics: recovering.diagnostics,
    }
}

/// The slow path, for a file with syntax errors: parses declaration by declaration, and after an
/// error also checks the remaining entries of the broken declaration.
struct Recovering<'source> {
    source: &'source str,
    /// The part of the source that is parsed (all of it, unless nesting was too deep).
    parsed_text: &'source str,
    raw_regions: &'source [(usize, usize)],
    text_was_cut: bool,
    diagnostics: Vec<Diagnostic>,
    syntax_error_count: usize,
}

impl Recovering<'_> {
    fn parse_declarations(&mut self) -> Vec<Decl> {
        let mut decls = Vec::new();
        let mut position = 0;
        while position <= self.parsed_text.len() {
            let rest = &self.parsed_text[position..];
            match WaspGrammar::parse(Rule::declaration_step, rest) {
                Ok(mut steps) => {
                    let Some(declaration) = steps
                        .next()
                        .and_then(|step| step.into_inner().next())
                        .filter(|inner| inner.as_rule() == Rule::declaration)
                    else {
                        break;
                    };
                    let end = position + declaration.as_span().end();
                    let mut lowering = Lowering {
                        text: rest,
                        offset: position,
                        diagnostics: &mut self.diagnostics,
                    };
                    decls.push(lowering.declaration(declaration));
                    position = end;
                }
                Err(error) => {
                    let error_at = position + syntax_errors::error_position(&error);
                    if !self.report_syntax_error(position, error_at, &error) {
                        break;
                    }
                    if let Some(decl) = broken_declaration(self.source, position, error_at) {
                        decls.push(decl);
                    }
                    let resume_from = error_at.max(position + 1);
                    let next = scan::next_declaration_start(
                        self.parsed_text,
                        resume_from,
                        self.raw_regions,
                    );
                    let declaration_end = next.unwrap_or(self.parsed_text.len());
                    if !self.check_remaining_entries(error_at, declaration_end) {
                        break;
                    }
                    match next {
                        Some(next) => position = next,
                        None => break,
                    }
                }
            }
        }
        decls
    }

    /// Reports a syntax error found by a parse step that started at `step_start`. Returns false
    /// once the error cap is reached (after reporting that), when parsing should stop.
    fn report_syntax_error(
        &mut self,
        step_start: usize,
        error_at: usize,
        error: &pest::error::Error<Rule>,
    ) -> bool {
        if self.syntax_error_count == MAX_SYNTAX_ERRORS {
            self.diagnostics
                .push(syntax_errors::too_many_errors(step_start));
            return false;
        }
        self.syntax_error_count += 1;
        // When the text was cut short because of deep nesting, the parse error at the cut is a
        // consequence of the nesting error already reported.
        let at_cut = self.text_was_cut && error_at >= self.parsed_text.len();
        if !at_cut {
            self.diagnostics.push(syntax_errors::describe(
                self.source,
                step_start,
                error_at,
                error,
            ));
        }
        true
    }

    /// Finer recovery inside a broken declaration: every later line of it that starts, indented,
    /// with `key:` is parsed as a dict entry on its own, so that independent errors in the rest of
    /// the declaration are reported too (two bad entries, two diagnostics). The entries are only
    /// checked, not added to the tree: which dict they belong to is unknown once the text around
    /// them is broken. Returns false when the error cap stops parsing.
    fn check_remaining_entries(&mut self, error_at: usize, declaration_end: usize) -> bool {
        let mut position = error_at;
        while let Some(key_start) = scan::next_indented_entry(
            self.parsed_text,
            position,
            declaration_end,
            self.raw_regions,
        ) {
            let entry_text = &self.parsed_text[key_start..declaration_end];
            match WaspGrammar::parse(Rule::dict_entry, entry_text) {
                Ok(mut entries) => {
                    let Some(entry) = entries.next() else {
                        break;
                    };
                    position = key_start + entry.as_span().end();
                    let mut lowering = Lowering {
                        text: entry_text,
                        offset: key_start,
                        diagnostics: &mut self.diagnostics,
                    };
                    lowering.dict_entry(entry);
                }
                Err(error) => {
                    let entry_error_at = key_start + syntax_errors::error_position(&error);
                    if !self.report_syntax_error(key_start, entry_error_at, &error) {
                        return false;
                    }
                    position = entry_error_at.max(key_start + 1);
                }
            }
        }
        true
    }
}

/// A stand-in for a declaration that failed to parse but whose type and name were readable, so
/// that later passes know the name exists and do not report it as missing. Its body is an error.
fn broken_declaration(source: &str, position: usize, error_at: usize) -> Option<Decl> {
    let start = scan::skip_trivia(source, position);
    let ((type_start, type_end), (name_start, name_end)) = scan::declaration_head(source, start)?;
    if name_end > error_at {
        return None;
    }
    let body_start = scan::skip_trivia(source, name_end)
        .min(error_at)
        .max(name_end);
    let body_span = Span::new(body_start, error_at.max(body_start));
    Some(Decl {
        kind: Ident {
            name: source[type_start..type_end].to_owned(),
            span: Span::new(type_start, type_end),
        },
        name: Ident {
            name: source[name_start..name_end].to_owned(),
            span: Span::new(name_start, name_end),
        },
        body: Expr::new(ExprKind::Error, body_span),
        span: Span::new(type_start, body_span.end),
    })
}
