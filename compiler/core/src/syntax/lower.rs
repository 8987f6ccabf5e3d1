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
use super::grammar::Rule;
use super::{escapes, scan};
use crate::diagnostics::Diagnostic;
use pest::Token;
use pest::iterators::{Pair, Tokens};

/// One token of pest's output with its position already made absolute.
enum Event {
    Start(Rule, usize),
    End(usize),
}

/// Lowers the output of one parse step over `text`, which began at byte `offset` of the file.
pub(super) struct Lowering<'text, 'diagnostics> {
    pub text: &'text str,
    pub offset: usize,
    pub diagnostics: &'diagnostics mut Vec<Diagnostic>,
}

impl Lowering<'_, '_> {
    /// Every declaration of a `file` pair, in source order.
    pub fn file(&mut self, pair: Pair<'_, Rule>) -> Vec<Decl> {
        let mut events = pair.tokens();
        events.next();
        let mut decls = Vec::new();
        while let Some(Event::Start(rule, start)) = self.next_event(&mut events) {
            if rule == Rule::declaration {
                decls.push(self.declaration_rest(&mut events, start));
            } else {
                self.finish(&mut events, start);
            }
        }
        decls
    }

    pub fn declaration(&mut self, pair: Pair<'_, Rule>) -> Decl {
        let start = self.absolute(pair.as_span().start());
        let mut events = pair.tokens();
        events.next();
        self.declaration_rest(&mut events, start)
    }

    /// The declaration whose `Start` token (at `start`) was just read, up to its `End` token.
    fn declaration_rest(&mut self, events: &mut Tokens<'_, Rule>, start: usize) -> Decl {
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
        let mut events = pair.tokens();
        events.next();
        self.dict_entry_rest(&mut events, start)
    }

    /// The dict entry whose `Start` token (at `start`) was just read, up to its `End` token.
    fn dict_entry_rest(&mut self, events: &mut Tokens<'_, Rule>, start: usize) -> DictEntry {
        let key = self.next_identifier(events, start);
        // The colon.
        self.next_leaf(events, start);
        let value = self.next_expression(events, start);
        self.finish(events, start);
        let span = key.span.to(value.span);
        DictEntry { key, value, span }
    }

    fn absolute(&self, position: usize) -> usize {
        position + self.offset
    }

    fn next_event(&self, events: &mut Tokens<'_, Rule>) -> Option<Event> {
        match events.next()? {
            Token::Start { rule, pos } => Some(Event::Start(rule, self.absolute(pos.pos()))),
            Token::End { pos, .. } => Some(Event::End(self.absolute(pos.pos()))),
        }
    }

    /// Reads the rest of the pair whose `Start` token was just read, up to and including its
    /// `End`, and returns its absolute end. Atomic pairs end right away; for others this skips
    /// their inner pairs. A stream that ends early (which the grammar rules out) ends at the
    /// absolute position `fallback`.
    fn finish(&self, events: &mut Tokens<'_, Rule>, fallback: usize) -> usize {
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

    /// The absolute span of the next pair (read whole). The grammar guarantees that there is one;
    /// if not, this returns an empty span at `fallback`.
    fn next_leaf(&self, events: &mut Tokens<'_, Rule>, fallback: usize) -> Span {
        match self.next_event(events) {
            Some(Event::Start(_, start)) => Span::new(start, self.finish(events, start)),
            Some(Event::End(end)) => Span::new(end, end),
            None => Span::new(fallback, fallback),
        }
    }

    /// The source text of an absolute span (empty for a span outside the parsed text, which
    /// cannot happen for spans read from pest's tokens).
    fn text_of(&self, span: Span) -> &str {
        let start = span.start.saturating_sub(self.offset);
        let end = span.end.saturating_sub(self.offset);
        self.text.get(start..end).unwrap_or("")
    }

    /// The next pair as an identifier; the grammar guarantees one, but a missing one becomes an
    /// empty name rather than a panic.
    fn next_identifier(&self, events: &mut Tokens<'_, Rule>, fallback: usize) -> Ident {
        let span = self.next_leaf(events, fallback);
        Ident {
            name: self.text_of(span).to_owned(),
            span,
        }
    }

    /// The next expression. The grammar guarantees one; a missing one is an error node.
    fn next_expression(&mut self, events: &mut Tokens<'_, Rule>, fallback: usize) -> Expr {
        match self.next_event(events) {
            Some(Event::Start(rule, start)) => self.expression_rest(events, rule, start),
            Some(Event::End(_)) | None => Expr::new(ExprKind::Error, Span::new(fallback, fallback)),
        }
    }

    /// The expression whose value's `Start` token (rule `rule`, at absolute `start`) was just
    /// read: the value, marked optional when a `?` follows it. The grammar's `?` is silent (it
    /// produces no pair, which keeps pest's output small), so it is found in the text: it is
    /// the first thing after the value and the trivia behind it.
    fn expression_rest(&mut self, events: &mut Tokens<'_, Rule>, rule: Rule, start: usize) -> Expr {
        let value = self.value_rest(events, rule, start);
        let value_end = value.span.end.saturating_sub(self.offset);
        let after_trivia = self.absolute(scan::skip_trivia(self.text, value_end));
        if self.text_of(Span::new(after_trivia, after_trivia + 1)) == "?" {
            let optional_span = value.span.to(Span::new(after_trivia, after_trivia + 1));
            Expr::new(ExprKind::Optional(Box::new(value)), optional_span)
        } else {
            value
        }
    }

    /// The value whose `Start` token (rule `rule`, at absolute `start`) was just read, up to
    /// and including its `End` token.
    fn value_rest(&mut self, events: &mut Tokens<'_, Rule>, rule: Rule, start: usize) -> Expr {
        let (kind, end) = match rule {
            Rule::dict => {
                let mut entries = Vec::new();
                let mut end = start;
                while let Some(event) = self.next_event(events) {
                    match event {
                        Event::Start(Rule::dict_entry, entry_start) => {
                            entries.push(self.dict_entry_rest(events, entry_start));
                        }
                        Event::Start(_, punctuation_start) => {
                            self.finish(events, punctuation_start);
                        }
                        Event::End(dict_end) => {
                            end = dict_end;
                            break;
                        }
                    }
                }
                (ExprKind::Dict(entries), end)
            }
            Rule::list => {
                let (items, end) = self.items_rest(events, start);
                (ExprKind::List(items), end)
            }
            Rule::tuple => {
                let (items, end) = self.items_rest(events, start);
                let span = Span::new(start, end);
                if items.len() < 2 {
                    self.diagnostics.push(tuple_too_short(span, items.len()));
                }
                (ExprKind::Tuple(items), end)
            }
            Rule::string => {
                let content = self.next_leaf(events, start);
                let kind = match self.string(content) {
                    Some(decoded) => ExprKind::String(decoded),
                    None => ExprKind::Error,
                };
                (kind, self.finish(events, start))
            }
            Rule::external_import => self.external_import_rest(events, start),
            Rule::quoter => {
                let tag = self.next_leaf(events, start);
                let content = self.next_leaf(events, start);
                let kind = ExprKind::Quoter(Quoter {
                    tag: self.text_of(tag).to_owned(),
                    content: self.text_of(content).to_owned(),
                    content_span: content,
                });
                (kind, self.finish(events, start))
            }
            // The remaining values are atomic: their text is all there is.
            _ => {
                let end = self.finish(events, start);
                (self.atomic_value(rule, Span::new(start, end)), end)
            }
        };
        Expr::new(kind, Span::new(start, end))
    }

    /// An atomic value (variable, boolean or number) from its text.
    fn atomic_value(&mut self, rule: Rule, span: Span) -> ExprKind {
        let text = self.text_of(span);
        match rule {
            Rule::variable => ExprKind::Var(text.to_owned()),
            Rule::boolean => ExprKind::Bool(text == "true"),
            Rule::integer => match text.parse::<i64>() {
                Ok(integer) => ExprKind::Integer(integer),
                Err(_) => {
                    self.diagnostics.push(integer_out_of_range(span));
                    ExprKind::Error
                }
            },
            Rule::decimal => match text.parse::<f64>() {
                Ok(decimal) => ExprKind::Decimal(decimal),
                // The grammar only admits digits around one point, which always parses; this
                // arm exists so that an impossible failure is an error node, not a panic.
                Err(_) => ExprKind::Error,
            },
            _ => ExprKind::Error,
        }
    }

    /// The expressions of a list or tuple whose `Start` token was just read, skipping its
    /// punctuation, and the absolute end of the list or tuple.
    fn items_rest(&mut self, events: &mut Tokens<'_, Rule>, start: usize) -> (Vec<Expr>, usize) {
        let mut items = Vec::new();
        while let Some(event) = self.next_event(events) {
            match event {
                Event::Start(rule, item_start) if is_punctuation(rule) => {
                    self.finish(events, item_start);
                }
                Event::Start(rule, item_start) => {
                    items.push(self.expression_rest(events, rule, item_start));
                }
                Event::End(end) => return (items, end),
            }
        }
        (items, start)
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

    /// The import whose `Start` token was just read, and its absolute end.
    fn external_import_rest(
        &mut self,
        events: &mut Tokens<'_, Rule>,
        start: usize,
    ) -> (ExprKind, usize) {
        let mut kind_and_name = None;
        let mut path = None;
        let mut end = start;
        while let Some(event) = self.next_event(events) {
            match event {
                Event::Start(rule @ (Rule::named_import | Rule::default_import), part_start) => {
                    let span = Span::new(part_start, self.finish(events, part_start));
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
                Event::Start(Rule::string, part_start) => {
                    let content = self.next_leaf(events, part_start);
                    let path_span = Span::new(part_start, self.finish(events, part_start));
                    path = self.string(content).map(|decoded| (decoded, path_span));
                }
                Event::Start(_, part_start) => {
                    self.finish(events, part_start);
                }
                Event::End(import_end) => {
                    end = import_end;
                    break;
                }
            }
        }
        let kind = match (kind_and_name, path) {
            (Some((kind, name)), Some((path, path_span))) => ExprKind::Import(ExtImport {
                kind,
                name,
                path,
                path_span,
            }),
            _ => ExprKind::Error,
        };
        (kind, end)
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
