//! Lowering: turns pest's output for one parse step into AST nodes with absolute byte spans.
//!
//! The lowering reads pest's flat stream of `Start`/`End` tokens rather than the tree of pairs:
//! each pair would cost two reference-count updates and a child count, which on a large spec
//! made up a third of the lowering's time. The grammar decides the order of the tokens, so a
//! single pass that knows the grammar's shape builds the tree.
//!
//! The grammar is slightly more lenient than the language so that the errors it cannot express
//! well are reported here, precisely: tuples of fewer than 2 items, integers that do not fit in
//! 64 bits and unknown string escapes. Each is reported once and the tree is still built.

use super::ast::{Decl, DictEntry, Expr, ExprKind, ExtImport, Ident, ImportKind, Quoter, Span};
use super::escapes;
use super::grammar::Rule;
use crate::diagnostics::Diagnostic;
use pest::Token;
use pest::iterators::{Pair, Tokens};
use std::iter::Peekable;

type Events<'text> = Peekable<Tokens<'text, Rule>>;

/// Lowers the output of one parse step over `text`, which began at byte `offset` of the file.
pub(super) struct Lowering<'text, 'diagnostics> {
    pub text: &'text str,
    pub offset: usize,
    pub diagnostics: &'diagnostics mut Vec<Diagnostic>,
}

impl Lowering<'_, '_> {
    /// Every declaration of a `file` pair, in source order.
    pub fn file(&mut self, pair: Pair<'_, Rule>) -> Vec<Decl> {
        let mut events = pair.tokens().peekable();
        events.next();
        let mut decls = Vec::new();
        while let Some(event) = events.next() {
            match event {
                Token::Start {
                    rule: Rule::declaration,
                    pos,
                } => decls.push(self.declaration_rest(&mut events, self.absolute(pos.pos()))),
                Token::Start { pos, .. } => {
                    self.finish(&mut events, self.absolute(pos.pos()));
                }
                Token::End { .. } => break,
            }
        }
        decls
    }

    pub fn declaration(&mut self, pair: Pair<'_, Rule>) -> Decl {
        let start = self.absolute(pair.as_span().start());
        let mut events = pair.tokens().peekable();
        events.next();
        self.declaration_rest(&mut events, start)
    }

    /// The declaration whose `Start` token (at `start`) was just read.
    fn declaration_rest(&mut self, events: &mut Events<'_>, start: usize) -> Decl {
        let kind = self.next_identifier(events, start);
        let name = self.next_identifier(events, start);
        let body = self.next_expression(events, start);
        self.finish(events, start);
        // pest's pair would also cover the whitespace after the body; the AST spans are tight.
        let span = kind.span.to(body.span);
        Decl {
            kind,
            name,
            body,
            span,
        }
    }

    pub fn dict_entry(&mut self, pair: Pair<'_, Rule>) -> DictEntry {
        let start = self.absolute(pair.as_span().start());
        let mut events = pair.tokens().peekable();
        events.next();
        self.dict_entry_rest(&mut events, start)
    }

    /// The dict entry whose `Start` token (at `start`) was just read.
    fn dict_entry_rest(&mut self, events: &mut Events<'_>, start: usize) -> DictEntry {
        let key = self.next_identifier(events, start);
        self.skip_if(events, Rule::colon_token);
        let value = self.next_expression(events, start);
        self.finish(events, start);
        let span = key.span.to(value.span);
        DictEntry { key, value, span }
    }

    fn absolute(&self, position: usize) -> usize {
        position + self.offset
    }

    /// Reads the rest of the pair whose `Start` token was just read, up to and including its
    /// `End`, and returns its absolute end. Atomic pairs end right away; for others this skips
    /// their inner pairs. A stream that ends early (which the grammar rules out) ends at the
    /// absolute position `fallback`.
    fn finish(&self, events: &mut Events<'_>, fallback: usize) -> usize {
        let mut depth = 0usize;
        for event in events.by_ref() {
            match event {
                Token::Start { .. } => depth += 1,
                Token::End { pos, .. } if depth == 0 => return self.absolute(pos.pos()),
                Token::End { .. } => depth -= 1,
            }
        }
        fallback
    }

    /// Skips the next pair when it has the given rule (punctuation the tree does not keep).
    fn skip_if(&self, events: &mut Events<'_>, wanted: Rule) -> bool {
        match events.peek() {
            Some(Token::Start { rule, pos }) if *rule == wanted => {
                let start = self.absolute(pos.pos());
                events.next();
                self.finish(events, start);
                true
            }
            _ => false,
        }
    }

    /// The absolute span of the next pair (read whole), when there is one.
    fn next_leaf(&self, events: &mut Events<'_>) -> Option<Span> {
        let Some(Token::Start { pos, .. }) = events.peek() else {
            return None;
        };
        let start = self.absolute(pos.pos());
        events.next();
        let end = self.finish(events, start);
        Some(Span::new(start, end))
    }

    /// The source text of an absolute span (empty for a span outside the parsed text, which
    /// cannot happen for spans read from pest's tokens).
    fn text_of(&self, span: Span) -> &str {
        let start = span.start.saturating_sub(self.offset);
        let end = span.end.saturating_sub(self.offset);
        self.text.get(start..end).unwrap_or("")
    }

    /// The next pair as an identifier; the grammar guarantees one, but a missing one becomes an
    /// empty name at `fallback` rather than a panic.
    fn next_identifier(&self, events: &mut Events<'_>, fallback: usize) -> Ident {
        match self.next_leaf(events) {
            Some(span) => Ident {
                name: self.text_of(span).to_owned(),
                span,
            },
            None => Ident {
                name: String::new(),
                span: Span::new(fallback, fallback),
            },
        }
    }

    /// The next expression: a value pair, followed by an `optional_mark` pair when the value is
    /// marked with `?` (the grammar's `expression` rule is silent to keep pairs few).
    fn next_expression(&mut self, events: &mut Events<'_>, fallback: usize) -> Expr {
        let Some(Token::Start { rule, pos }) = events.peek() else {
            return Expr::new(ExprKind::Error, Span::new(fallback, fallback));
        };
        let (rule, start) = (*rule, self.absolute(pos.pos()));
        events.next();
        let value = self.value_rest(events, rule, start);
        match events.peek() {
            Some(Token::Start {
                rule: Rule::optional_mark,
                ..
            }) => {
                events.next();
                let mark_end = self.finish(events, start);
                let optional_span = value.span.to(Span::new(start, mark_end));
                Expr::new(ExprKind::Optional(Box::new(value)), optional_span)
            }
            _ => value,
        }
    }

    /// The value whose `Start` token (rule `rule`, at absolute `start`) was just read.
    fn value_rest(&mut self, events: &mut Events<'_>, rule: Rule, start: usize) -> Expr {
        let kind = match rule {
            Rule::dict => {
                let mut entries = Vec::new();
                while let Some(Token::Start { rule, pos }) = events.peek() {
                    let (rule, entry_start) = (*rule, self.absolute(pos.pos()));
                    events.next();
                    if rule == Rule::dict_entry {
                        entries.push(self.dict_entry_rest(events, entry_start));
                    } else {
                        self.finish(events, entry_start);
                    }
                }
                ExprKind::Dict(entries)
            }
            Rule::list => ExprKind::List(self.items(events, start)),
            Rule::tuple => ExprKind::Tuple(self.items(events, start)),
            Rule::string => match self.next_leaf(events) {
                Some(content) => match self.string(content) {
                    Some(decoded) => ExprKind::String(decoded),
                    None => ExprKind::Error,
                },
                None => ExprKind::Error,
            },
            Rule::external_import => self.external_import(events, start),
            Rule::quoter => match (self.next_leaf(events), self.next_leaf(events)) {
                (Some(tag), Some(content)) => ExprKind::Quoter(Quoter {
                    tag: self.text_of(tag).to_owned(),
                    content: self.text_of(content).to_owned(),
                    content_span: content,
                }),
                _ => ExprKind::Error,
            },
            _ => ExprKind::Error,
        };
        let end = self.finish(events, start);
        let span = Span::new(start, end);
        let kind = match rule {
            Rule::variable => ExprKind::Var(self.text_of(span).to_owned()),
            Rule::boolean => ExprKind::Bool(self.text_of(span) == "true"),
            Rule::integer => match self.text_of(span).parse::<i64>() {
                Ok(integer) => ExprKind::Integer(integer),
                Err(_) => {
                    self.diagnostics.push(integer_out_of_range(span));
                    ExprKind::Error
                }
            },
            Rule::decimal => match self.text_of(span).parse::<f64>() {
                Ok(decimal) => ExprKind::Decimal(decimal),
                // The grammar only admits digits around one point, which always parses; this
                // arm exists so that an impossible failure is an error node, not a panic.
                Err(_) => ExprKind::Error,
            },
            Rule::tuple => {
                if let ExprKind::Tuple(items) = &kind
                    && items.len() < 2
                {
                    self.diagnostics.push(tuple_too_short(span, items.len()));
                }
                kind
            }
            _ => kind,
        };
        Expr::new(kind, span)
    }

    /// The expressions of a list or tuple whose `Start` token was just read, skipping its
    /// punctuation. The list's own `End` token is left for the caller.
    fn items(&mut self, events: &mut Events<'_>, start: usize) -> Vec<Expr> {
        let mut items = Vec::new();
        while let Some(Token::Start { rule, pos }) = events.peek() {
            if is_punctuation(*rule) {
                let punctuation_start = self.absolute(pos.pos());
                events.next();
                self.finish(events, punctuation_start);
            } else {
                items.push(self.next_expression(events, start));
            }
        }
        items
    }

    /// The decoded text of a string whose content has the absolute span `content`, or `None`
    /// after reporting a bad escape.
    fn string(&mut self, content: Span) -> Option<String> {
        match escapes::decode_string(self.text_of(content)) {
            Ok(decoded) => Some(decoded),
            Err(error) => {
                let span = Span::new(content.start + error.start, content.start + error.end);
                self.diagnostics.push(
                    Diagnostic::error(error.message, span, error.label).with_help(error.help),
                );
                None
            }
        }
    }

    /// The import whose `Start` token was just read; its own `End` token is left for the caller.
    fn external_import(&mut self, events: &mut Events<'_>, start: usize) -> ExprKind {
        let mut kind_and_name = None;
        let mut path = None;
        while let Some(Token::Start { rule, pos }) = events.peek() {
            let (rule, part_start) = (*rule, self.absolute(pos.pos()));
            events.next();
            match rule {
                Rule::named_import | Rule::default_import => {
                    let end = self.finish(events, part_start);
                    let span = Span::new(part_start, end);
                    let kind = if rule == Rule::named_import {
                        ImportKind::Named
                    } else {
                        ImportKind::Default
                    };
                    let name = Ident {
                        name: self.text_of(span).to_owned(),
                        span,
                    };
                    kind_and_name = Some((kind, name));
                }
                Rule::string => {
                    let content = self.next_leaf(events);
                    let end = self.finish(events, part_start);
                    let path_span = Span::new(part_start, end);
                    path = content
                        .and_then(|content| self.string(content))
                        .map(|decoded| (decoded, path_span));
                }
                _ => {
                    self.finish(events, start);
                }
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
