//! Lowering: turns the pest pairs of one declaration into AST nodes with absolute byte spans.
//!
//! The grammar is slightly more lenient than the language so that the errors it cannot express
//! well are reported here, precisely: tuples of fewer than 2 items, integers that do not fit in
//! 64 bits and unknown string escapes. Each is reported once and the tree is still built.

use super::ast::{Decl, DictEntry, Expr, ExprKind, ExtImport, Ident, ImportKind, Quoter, Span};
use super::escapes;
use super::grammar::Rule;
use crate::diagnostics::Diagnostic;
use pest::iterators::Pair;
use std::iter::Peekable;

type Pairs<'input> = Peekable<pest::iterators::Pairs<'input, Rule>>;

/// Lowers the pairs of one parse step, whose text began at byte `offset` of the file.
pub(super) struct Lowering<'diagnostics> {
    pub offset: usize,
    pub diagnostics: &'diagnostics mut Vec<Diagnostic>,
}

impl Lowering<'_> {
    pub fn declaration(&mut self, pair: Pair<'_, Rule>) -> Decl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let kind = self.next_identifier(&mut inner, span);
        let name = self.next_identifier(&mut inner, span);
        let body = self.next_expression(&mut inner, span);
        // pest's pair would also cover the whitespace after the body; the AST spans are tight.
        let span = kind.span.to(body.span);
        Decl {
            kind,
            name,
            body,
            span,
        }
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let pest_span = pair.as_span();
        Span::new(
            pest_span.start() + self.offset,
            pest_span.end() + self.offset,
        )
    }

    fn identifier(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_owned(),
            span: self.span(&pair),
        }
    }

    /// The next pair as an identifier; the grammar guarantees one, but a missing one becomes an
    /// empty name at `fallback` rather than a panic.
    fn next_identifier(&self, pairs: &mut Pairs<'_>, fallback: Span) -> Ident {
        match pairs.next() {
            Some(pair) => self.identifier(pair),
            None => Ident {
                name: String::new(),
                span: Span::new(fallback.start, fallback.start),
            },
        }
    }

    /// The next expression: a value pair, followed by an `optional_mark` pair when the value is
    /// marked with `?` (the grammar's `expression` rule is silent to keep pairs few).
    fn next_expression(&mut self, pairs: &mut Pairs<'_>, fallback: Span) -> Expr {
        let Some(pair) = pairs.next() else {
            return Expr::new(ExprKind::Error, fallback);
        };
        let value = self.value(pair);
        match pairs.next_if(|next| next.as_rule() == Rule::optional_mark) {
            Some(mark) => {
                let optional_span = value.span.to(self.span(&mark));
                Expr::new(ExprKind::Optional(Box::new(value)), optional_span)
            }
            None => value,
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::dict => ExprKind::Dict(
                pair.into_inner()
                    .filter(|entry| entry.as_rule() == Rule::dict_entry)
                    .map(|entry| self.dict_entry(entry))
                    .collect(),
            ),
            Rule::list => ExprKind::List(self.items(pair)),
            Rule::tuple => {
                let items = self.items(pair);
                if items.len() < 2 {
                    self.diagnostics.push(tuple_too_short(span, items.len()));
                }
                ExprKind::Tuple(items)
            }
            Rule::string => match self.string(pair) {
                Some(decoded) => ExprKind::String(decoded),
                None => ExprKind::Error,
            },
            Rule::integer => match pair.as_str().parse::<i64>() {
                Ok(integer) => ExprKind::Integer(integer),
                Err(_) => {
                    self.diagnostics.push(integer_out_of_range(span));
                    ExprKind::Error
                }
            },
            Rule::decimal => match pair.as_str().parse::<f64>() {
                Ok(decimal) => ExprKind::Decimal(decimal),
                // The grammar only admits digits around one point, which always parses; this
                // arm exists so that an impossible failure is an error node, not a panic.
                Err(_) => ExprKind::Error,
            },
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::variable => ExprKind::Var(pair.as_str().to_owned()),
            Rule::external_import => self.external_import(pair),
            Rule::quoter => {
                let mut inner = pair.into_inner();
                match (inner.next(), inner.next()) {
                    (Some(tag), Some(content)) => ExprKind::Quoter(Quoter {
                        tag: tag.as_str().to_owned(),
                        content: content.as_str().to_owned(),
                        content_span: self.span(&content),
                    }),
                    _ => ExprKind::Error,
                }
            }
            _ => ExprKind::Error,
        };
        Expr::new(kind, span)
    }

    pub fn dict_entry(&mut self, pair: Pair<'_, Rule>) -> DictEntry {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let key = self.next_identifier(&mut inner, span);
        inner.next_if(|next| next.as_rule() == Rule::colon_token);
        let value = self.next_expression(&mut inner, span);
        let span = key.span.to(value.span);
        DictEntry { key, value, span }
    }

    /// The expressions of a list or tuple, skipping its punctuation.
    fn items(&mut self, pair: Pair<'_, Rule>) -> Vec<Expr> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner().peekable();
        let mut items = Vec::new();
        while let Some(next) = inner.peek() {
            if is_punctuation(next.as_rule()) {
                inner.next();
            } else {
                items.push(self.next_expression(&mut inner, span));
            }
        }
        items
    }

    /// The decoded text of a `string` pair, or `None` after reporting a bad escape.
    fn string(&mut self, pair: Pair<'_, Rule>) -> Option<String> {
        let content = pair.into_inner().next()?;
        let content_start = self.span(&content).start;
        match escapes::decode_string(content.as_str()) {
            Ok(decoded) => Some(decoded),
            Err(error) => {
                let span = Span::new(content_start + error.start, content_start + error.end);
                self.diagnostics.push(
                    Diagnostic::error(error.message, span, error.label).with_help(error.help),
                );
                None
            }
        }
    }

    fn external_import(&mut self, pair: Pair<'_, Rule>) -> ExprKind {
        let mut kind_and_name = None;
        let mut path = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::named_import => {
                    kind_and_name = Some((ImportKind::Named, self.identifier(part)))
                }
                Rule::default_import => {
                    kind_and_name = Some((ImportKind::Default, self.identifier(part)));
                }
                Rule::string => {
                    let path_span = self.span(&part);
                    path = self.string(part).map(|decoded| (decoded, path_span));
                }
                _ => {}
            }
        }
        match (kind_and_name, path) {
            (Some((kind, name)), Some((path, path_span))) => ExprKind::Import(ExtImport {
                kind,
                name,
                path,
                path_span,
            }),
            _ => ExprKind::Error,
        }
    }
}

fn is_punctuation(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::list_comma_token
            | Rule::list_close_token
            | Rule::tuple_comma_token
            | Rule::tuple_close_token
    )
}

fn tuple_too_short(span: Span, count: usize) -> Diagnostic {
    let label = match count {
        0 => "this tuple is empty".to_owned(),
        1 => "this tuple has only 1 item".to_owned(),
        _ => format!("this tuple has {count} items"),
    };
    Diagnostic::error(
        format!("a tuple needs at least 2 items, found {count}"),
        span,
        label,
    )
    .with_help("add items separated by `,`, or remove the parentheses to use a single value")
}

fn integer_out_of_range(span: Span) -> Diagnostic {
    Diagnostic::error(
        "integer literal is out of range",
        span,
        "does not fit in a 64-bit signed integer",
    )
    .with_help("use a value between -9223372036854775808 and 9223372036854775807")
}
