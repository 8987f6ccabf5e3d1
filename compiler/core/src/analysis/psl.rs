//! Parses the Prisma schema language (PSL) body of an `entity` into field lines and attributes.
//!
//! Only the syntax lives here: what a type name refers to and whether attributes make sense is
//! checked in `entities`. Every span is shifted by the quoter's offset, so errors point at the line
//! and column of the spec file, not of the `{=psl ... psl=}` block.

use crate::diagnostics::Diagnostic;
use crate::syntax::ast::Span;

/// The parsed body of one entity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    pub fields: Vec<Field>,
    /// `@@unique([...])`, `@@index([...])`, `@@id([...])`, `@@map("...")` lines.
    pub block_attributes: Vec<Attribute>,
}

/// A field line: `name Type? @attribute(...) ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub name_span: Span,
    pub type_name: String,
    /// The type name and its `?` or `[]`.
    pub type_span: Span,
    pub optional: bool,
    pub list: bool,
    pub attributes: Vec<Attribute>,
}

/// `@name(arguments)` or `@@name(arguments)`; `name` may be dotted, e.g. `db.VarChar`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    /// From the `@` to the closing parenthesis (or the end of the name).
    pub span: Span,
    pub arguments: Vec<Argument>,
}

/// `value` or `name: value` inside an attribute's parentheses.
#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    pub name: Option<String>,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    String(String),
    /// A number exactly as written, e.g. `42` or `-1.5`.
    Number(String),
    /// A bare word such as `true`, `Cascade` or a field name.
    Word(String),
    /// `name(arguments)`, e.g. `autoincrement()`.
    Call(String, Vec<Argument>),
    List(Vec<Value>),
}

/// Parses a PSL body whose text starts at byte `offset` of the spec file.
pub fn parse(content: &str, offset: usize, diagnostics: &mut Vec<Diagnostic>) -> Model {
    let lexical_errors_before = diagnostics.len();
    let tokens = tokenize(content, offset, diagnostics);
    // A line with a lexical error (a stray character, an unterminated string) is parsed for its
    // field but not reported again: a second error about the same mistake would only be noise.
    let lines_with_lexical_errors: Vec<usize> = diagnostics[lexical_errors_before..]
        .iter()
        .map(|diagnostic| {
            line_of(
                content,
                diagnostic.primary.span.start.saturating_sub(offset),
            )
        })
        .collect();
    let mut model = Model::default();
    for (line_number, line) in tokens
        .split(|token| token.kind == TokenKind::Newline)
        .enumerate()
    {
        if line.is_empty() {
            continue;
        }
        let mut parser = LineParser {
            tokens: line,
            position: 0,
        };
        if let Err(error) = parser.line(&mut model)
            && !lines_with_lexical_errors.contains(&line_number)
        {
            diagnostics.push(error);
        }
    }
    model
}

/// The 0-based line number of a byte offset in `content`.
fn line_of(content: &str, offset: usize) -> usize {
    content.as_bytes()[..offset.min(content.len())]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind<'s> {
    Word(&'s str),
    String(String),
    Number(&'s str),
    /// `@`
    At,
    /// `@@`
    AtAt,
    Punct(char),
    Newline,
}

#[derive(Debug, Clone, PartialEq)]
struct Token<'s> {
    kind: TokenKind<'s>,
    span: Span,
}

impl Token<'_> {
    fn describe(&self) -> String {
        match &self.kind {
            TokenKind::Word(word) => format!("`{word}`"),
            TokenKind::String(_) => "a string".to_string(),
            TokenKind::Number(number) => format!("`{number}`"),
            TokenKind::At => "`@`".to_string(),
            TokenKind::AtAt => "`@@`".to_string(),
            TokenKind::Punct(character) => format!("`{character}`"),
            TokenKind::Newline => "the end of the line".to_string(),
        }
    }
}

fn tokenize<'s>(
    content: &'s str,
    offset: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Token<'s>> {
    let mut tokens = Vec::new();
    let mut characters = content.char_indices().peekable();
    while let Some((start, character)) = characters.next() {
        let span_to = |end: usize| Span::new(offset + start, offset + end);
        match character {
            '\n' => tokens.push(Token {
                kind: TokenKind::Newline,
                span: span_to(start + 1),
            }),
            character if character.is_whitespace() => {}
            '/' if characters.peek().map(|(_, next)| *next) == Some('/') => {
                while let Some((_, next)) = characters.peek() {
                    if *next == '\n' {
                        break;
                    }
                    characters.next();
                }
            }
            '@' => {
                if characters.peek().map(|(_, next)| *next) == Some('@') {
                    characters.next();
                    tokens.push(Token {
                        kind: TokenKind::AtAt,
                        span: span_to(start + 2),
                    });
                } else {
                    tokens.push(Token {
                        kind: TokenKind::At,
                        span: span_to(start + 1),
                    });
                }
            }
            '"' => {
                let mut text = String::new();
                let mut end = content.len();
                let mut closed = false;
                while let Some((position, next)) = characters.next() {
                    match next {
                        '"' => {
                            end = position + 1;
                            closed = true;
                            break;
                        }
                        '\\' => {
                            if let Some((_, escaped)) = characters.next() {
                                text.push(match escaped {
                                    'n' => '\n',
                                    't' => '\t',
                                    other => other,
                                });
                            }
                        }
                        '\n' => {
                            end = position;
                            break;
                        }
                        other => text.push(other),
                    }
                }
                if !closed {
                    diagnostics.push(
                        Diagnostic::error(
                            "unterminated string in entity body",
                            span_to(end),
                            "this string has no closing `\"`",
                        )
                        .with_help("add `\"` before the end of the line"),
                    );
                }
                tokens.push(Token {
                    kind: TokenKind::String(text),
                    span: span_to(end),
                });
            }
            character
                if character.is_ascii_digit()
                    || (character == '-'
                        && characters
                            .peek()
                            .is_some_and(|(_, next)| next.is_ascii_digit())) =>
            {
                let mut end = start + character.len_utf8();
                while let Some((position, next)) = characters.peek() {
                    if next.is_ascii_digit() || *next == '.' {
                        end = position + next.len_utf8();
                        characters.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Number(&content[start..end]),
                    span: span_to(end),
                });
            }
            character if character == '_' || character.is_alphabetic() => {
                let mut end = start + character.len_utf8();
                while let Some((position, next)) = characters.peek() {
                    if *next == '_' || next.is_alphanumeric() {
                        end = position + next.len_utf8();
                        characters.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Word(&content[start..end]),
                    span: span_to(end),
                });
            }
            '(' | ')' | '[' | ']' | ',' | ':' | '?' | '.' | '=' => tokens.push(Token {
                kind: TokenKind::Punct(character),
                span: span_to(start + 1),
            }),
            other => diagnostics.push(
                Diagnostic::error(
                    format!("unexpected character `{other}` in entity body"),
                    span_to(start + other.len_utf8()),
                    "not valid in Prisma schema language",
                )
                .with_help(
                    "an entity body has one field per line: `name Type @attribute`, e.g. `text String`",
                ),
            ),
        }
    }
    tokens
}

/// Parses the tokens of one line. The first error ends the line (the next line starts afresh).
struct LineParser<'t, 's> {
    tokens: &'t [Token<'s>],
    position: usize,
}

impl<'t, 's> LineParser<'t, 's> {
    fn line(&mut self, model: &mut Model) -> Result<(), Diagnostic> {
        let first = &self.tokens[0];
        match &first.kind {
            TokenKind::AtAt => {
                self.position += 1;
                let attribute = self.attribute(first.span)?;
                model.block_attributes.push(attribute);
                self.expect_end("block attribute")
            }
            TokenKind::Word(name) => {
                self.position += 1;
                let field = self.field(name.to_string(), first.span)?;
                model.fields.push(field);
                Ok(())
            }
            _ => Err(Diagnostic::error(
                format!("expected a field name, found {}", first.describe()),
                first.span,
                "expected a field name",
            )
            .with_help("a field line reads `name Type @attribute`, e.g. `text String`")),
        }
    }

    fn field(&mut self, name: String, name_span: Span) -> Result<Field, Diagnostic> {
        let Some(type_token) = self.peek() else {
            return Err(Diagnostic::error(
                format!("field `{name}` has no type"),
                name_span,
                "expected a type after the field name",
            )
            .with_help(format!(
                "write the type after the name, e.g. `{name} String`"
            )));
        };
        let TokenKind::Word(type_name) = &type_token.kind else {
            return Err(Diagnostic::error(
                format!(
                    "expected a type for field `{name}`, found {}",
                    type_token.describe()
                ),
                type_token.span,
                "expected a type",
            )
            .with_help(format!(
                "write the type after the name, e.g. `{name} String`"
            )));
        };
        let type_name = type_name.to_string();
        let mut type_span = type_token.span;
        self.position += 1;
        let mut optional = false;
        let mut list = false;
        if self.is_punct('?') {
            optional = true;
            type_span = type_span.to(self.tokens[self.position].span);
            self.position += 1;
        } else if self.is_punct('[') {
            let open = self.tokens[self.position].span;
            self.position += 1;
            if !self.is_punct(']') {
                return Err(Diagnostic::error(
                    format!("expected `]` after `{type_name}[` in field `{name}`"),
                    open,
                    "unclosed `[`",
                )
                .with_help(format!("a list type is written `{type_name}[]`")));
            }
            list = true;
            type_span = type_span.to(self.tokens[self.position].span);
            self.position += 1;
        }
        if self.is_punct('?') {
            return Err(Diagnostic::error(
                format!("field `{name}` cannot be both a list and optional"),
                self.tokens[self.position].span,
                "remove this `?`",
            )
            .with_help("a list is never missing, only empty: write `Type[]`"));
        }
        let mut attributes = Vec::new();
        while let Some(token) = self.peek() {
            if token.kind != TokenKind::At {
                return Err(Diagnostic::error(
                    format!(
                        "expected an attribute such as `@unique` after the type of field `{name}`, found {}",
                        token.describe()
                    ),
                    token.span,
                    "unexpected here",
                )
                .with_help("put one field per line; attributes start with `@`"));
            }
            let at = token.span;
            self.position += 1;
            attributes.push(self.attribute(at)?);
        }
        Ok(Field {
            name,
            name_span,
            type_name,
            type_span,
            optional,
            list,
            attributes,
        })
    }

    /// The rest of an attribute after its `@` or `@@` (whose span is `at`).
    fn attribute(&mut self, at: Span) -> Result<Attribute, Diagnostic> {
        let mut name = self.word("an attribute name", at)?;
        let mut span = at.to(self.tokens[self.position - 1].span);
        while self.is_punct('.') {
            self.position += 1;
            name.push('.');
            name.push_str(&self.word("a name after `.`", span)?);
            span = span.to(self.tokens[self.position - 1].span);
        }
        let mut arguments = Vec::new();
        if self.is_punct('(') {
            let open = self.tokens[self.position].span;
            self.position += 1;
            let (parsed, close) = self.arguments(open, ')')?;
            arguments = parsed;
            span = span.to(close);
        }
        Ok(Attribute {
            name,
            span,
            arguments,
        })
    }

    /// Arguments up to the closing `close` character; returns them and the closing token's span.
    fn arguments(&mut self, open: Span, close: char) -> Result<(Vec<Argument>, Span), Diagnostic> {
        let mut arguments = Vec::new();
        loop {
            if self.is_punct(close) {
                let span = self.tokens[self.position].span;
                self.position += 1;
                return Ok((arguments, span));
            }
            let start = self.current_span(open);
            let mut name = None;
            if let (Some(TokenKind::Word(word)), Some(TokenKind::Punct(':'))) = (
                self.tokens.get(self.position).map(|token| &token.kind),
                self.tokens.get(self.position + 1).map(|token| &token.kind),
            ) {
                name = Some(word.to_string());
                self.position += 2;
            }
            let value = self.value(open)?;
            arguments.push(Argument {
                name,
                span: start.to(value.span),
                value,
            });
            if self.is_punct(',') {
                self.position += 1;
            } else if !self.is_punct(close) {
                let found = self.peek().map_or_else(
                    || "the end of the line".to_string(),
                    |token| token.describe(),
                );
                return Err(Diagnostic::error(
                    format!("expected `,` or `{close}` in attribute arguments, found {found}"),
                    self.current_span(open),
                    format!("expected `,` or `{close}`"),
                )
                .with_secondary(open, "opened here"));
            }
        }
    }

    fn value(&mut self, open: Span) -> Result<Value, Diagnostic> {
        let Some(token) = self.peek().cloned() else {
            return Err(Diagnostic::error(
                "attribute arguments end in the middle of the line",
                open,
                "not closed on this line",
            )
            .with_help("close the parentheses on the same line"));
        };
        self.position += 1;
        let kind = match token.kind {
            TokenKind::String(text) => ValueKind::String(text),
            TokenKind::Number(number) => ValueKind::Number(number.to_string()),
            TokenKind::Word(word) => {
                if self.is_punct('(') {
                    let call_open = self.tokens[self.position].span;
                    self.position += 1;
                    let (arguments, close) = self.arguments(call_open, ')')?;
                    return Ok(Value {
                        kind: ValueKind::Call(word.to_string(), arguments),
                        span: token.span.to(close),
                    });
                }
                ValueKind::Word(word.to_string())
            }
            TokenKind::Punct('[') => {
                let (arguments, close) = self.arguments(token.span, ']')?;
                let mut items = Vec::new();
                for argument in arguments {
                    items.push(argument.value);
                }
                return Ok(Value {
                    kind: ValueKind::List(items),
                    span: token.span.to(close),
                });
            }
            _ => {
                return Err(Diagnostic::error(
                    format!("expected a value, found {}", token.describe()),
                    token.span,
                    "expected a value",
                ));
            }
        };
        Ok(Value {
            kind,
            span: token.span,
        })
    }

    fn word(&mut self, expected: &str, before: Span) -> Result<String, Diagnostic> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::Word(word),
                ..
            }) => {
                let word = word.to_string();
                self.position += 1;
                Ok(word)
            }
            other => {
                let (found, span) = other.map_or_else(
                    || ("the end of the line".to_string(), before),
                    |token| (token.describe(), token.span),
                );
                Err(Diagnostic::error(
                    format!("expected {expected}, found {found}"),
                    span,
                    format!("expected {expected}"),
                ))
            }
        }
    }

    fn expect_end(&self, what: &str) -> Result<(), Diagnostic> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(Diagnostic::error(
                format!("unexpected {} after the {what}", token.describe()),
                token.span,
                "unexpected here",
            )
            .with_help("put one attribute per line")),
        }
    }

    fn peek(&self) -> Option<&'t Token<'s>> {
        self.tokens.get(self.position)
    }

    fn is_punct(&self, character: char) -> bool {
        matches!(self.peek(), Some(Token { kind: TokenKind::Punct(found), .. }) if *found == character)
    }

    /// The span of the current token, or an empty span just after the line's last token.
    fn current_span(&self, fallback: Span) -> Span {
        match self.peek() {
            Some(token) => token.span,
            None => self
                .tokens
                .last()
                .map_or(fallback, |token| Span::new(token.span.end, token.span.end)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(content: &str) -> Model {
        let mut diagnostics = Vec::new();
        let model = parse(content, 0, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        model
    }

    #[test]
    fn parses_fields_modifiers_and_attributes() {
        let model = parse_ok(
            "\n  id Int @id @default(autoincrement())\n  text String? // a comment\n  tags Tag[]\n  user User @relation(fields: [userId], references: [id], onDelete: Cascade)\n  @@unique([text, id])\n",
        );
        assert_eq!(model.fields.len(), 4);
        let id = &model.fields[0];
        assert_eq!((id.name.as_str(), id.type_name.as_str()), ("id", "Int"));
        assert_eq!(id.attributes[0].name, "id");
        assert_eq!(
            id.attributes[1].arguments[0].value.kind,
            ValueKind::Call("autoincrement".to_string(), Vec::new())
        );
        assert!(model.fields[1].optional);
        assert!(model.fields[2].list);
        let relation = &model.fields[3].attributes[0];
        assert_eq!(relation.arguments.len(), 3);
        assert_eq!(relation.arguments[0].name.as_deref(), Some("fields"));
        assert_eq!(model.block_attributes[0].name, "unique");
    }

    #[test]
    fn spans_are_shifted_into_the_spec_file() {
        let mut diagnostics = Vec::new();
        let model = parse("\n  text String", 100, &mut diagnostics);
        assert_eq!(model.fields[0].name_span, Span::new(103, 107));
        assert_eq!(model.fields[0].type_span, Span::new(108, 114));
    }

    #[test]
    fn windows_line_endings_and_non_ascii_comments_are_fine() {
        let model =
            parse_ok("\r\n  id Int @id // clé primaire\r\n  name String @default(\"é\")\r\n");
        let names: Vec<&str> = model
            .fields
            .iter()
            .map(|field| field.name.as_str())
            .collect();
        assert_eq!(names, ["id", "name"]);
        assert_eq!(
            model.fields[1].attributes[0].arguments[0].value.kind,
            ValueKind::String("é".to_string())
        );
    }

    #[test]
    fn dotted_attributes_and_literal_defaults() {
        let model =
            parse_ok("name String @db.VarChar(255) @default(\"anon\")\nscore Float @default(-1.5)");
        assert_eq!(model.fields[0].attributes[0].name, "db.VarChar");
        assert_eq!(
            model.fields[1].attributes[0].arguments[0].value.kind,
            ValueKind::Number("-1.5".to_string())
        );
    }

    #[test]
    fn reports_errors_per_line_and_keeps_going() {
        let mut diagnostics = Vec::new();
        let model = parse("a\nb String #\nc Int[]?\nd Int", 0, &mut diagnostics);
        let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unexpected character `#` in entity body",
                "field `a` has no type",
                "field `c` cannot be both a list and optional",
            ]
        );
        let names: Vec<&str> = model
            .fields
            .iter()
            .map(|field| field.name.as_str())
            .collect();
        assert_eq!(names, ["b", "d"]);
    }
}
