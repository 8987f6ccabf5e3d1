//! Syntax error messages: turns pest's "expected one of these rules at this position" into a
//! specific, readable diagnostic that names what was expected and what was found.
//!
//! Problems with the token itself come first, whatever pest expected: an unrecognized character,
//! an unterminated string, block comment or quoter, a stray closing tag `tag=}`, an extra comma.
//! Otherwise the message is "expected <what the grammar wanted>, found <the token>".

use super::ast::Span;
use super::grammar::Rule;
use super::scan::{self, FoundToken, MAX_NESTING_DEPTH, TokenKind};
use crate::diagnostics::Diagnostic;
use pest::error::{Error, ErrorVariant, InputLocation};

/// The byte offset (relative to the parsed text) at which pest gave up.
pub(super) fn error_position(error: &Error<Rule>) -> usize {
    match error.location {
        InputLocation::Pos(position) => position,
        InputLocation::Span((start, _)) => start,
    }
}

/// The diagnostic for a syntax error at byte `error_at` of `source`, in the declaration whose
/// parse step started at `step_start`.
pub(super) fn describe(
    source: &str,
    step_start: usize,
    error_at: usize,
    error: &Error<Rule>,
) -> Diagnostic {
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => normalize(positives),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = found_token(source, error_at);
    if let Some(diagnostic) = token_problem(source, &found, &expected) {
        return diagnostic;
    }
    let span = Span::new(found.start, found.end);
    let found_text = describe_found(source, &found);
    if expected == [Expected::Declaration] {
        if let TokenKind::Punctuation(bracket @ ('}' | ']' | ')')) = found.kind {
            return Diagnostic::error(
                format!("unexpected `{bracket}`"),
                span,
                "nothing is open here to close",
            )
            .with_help("remove this extra closing bracket, or check the brackets before it");
        }
        return Diagnostic::error(
            format!("expected a declaration, found {found_text}"),
            span,
            found_label(source, &found),
        )
        .with_help("a declaration is `<type> <name> <value>`, e.g. `page MainPage { ... }`");
    }
    let expected_text = describe_expected(source, step_start, error_at, &expected);
    let mut diagnostic = Diagnostic::error(
        format!("expected {expected_text}, found {found_text}"),
        span,
        found_label(source, &found),
    );
    // At the end of the file, show which bracket is still open.
    if found.kind == TokenKind::EndOfFile
        && let Some(bracket) = scan::innermost_unclosed_bracket(source, step_start, error_at)
    {
        let character = &source[bracket..bracket + 1];
        diagnostic = diagnostic.with_secondary(
            Span::new(bracket, bracket + 1),
            format!("this `{character}` is never closed"),
        );
    }
    match help_for(&expected, &found) {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
}

/// What the grammar expected, in the terms messages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expected {
    Declaration,
    Identifier,
    Expression,
    Colon,
    DictComma,
    DictClose,
    ListComma,
    ListClose,
    TupleComma,
    TupleClose,
    From,
    ImportClose,
    String,
    EndOfFile,
}

/// Turns pest's expected rules into [`Expected`] items, sorted and without duplicates. Every rule
/// that starts a value stands for "an expression"; a `?` may follow any expression, so naming it
/// would only add noise.
fn normalize(positives: &[Rule]) -> Vec<Expected> {
    // Only after `from` is a string the one thing that may come.
    if positives == [Rule::string] {
        return vec![Expected::String];
    }
    let mut expected: Vec<Expected> = positives
        .iter()
        .filter_map(|rule| match rule {
            Rule::declaration_step | Rule::declaration | Rule::file => Some(Expected::Declaration),
            Rule::identifier | Rule::default_import | Rule::named_import => {
                Some(Expected::Identifier)
            }
            Rule::variable
            | Rule::string
            | Rule::dict
            | Rule::list
            | Rule::tuple
            | Rule::external_import
            | Rule::quoter
            | Rule::boolean
            | Rule::decimal
            | Rule::integer => Some(Expected::Expression),
            Rule::colon_token => Some(Expected::Colon),
            Rule::dict_comma_token => Some(Expected::DictComma),
            Rule::dict_close_token => Some(Expected::DictClose),
            Rule::list_comma_token => Some(Expected::ListComma),
            Rule::list_close_token => Some(Expected::ListClose),
            Rule::tuple_comma_token => Some(Expected::TupleComma),
            Rule::tuple_close_token => Some(Expected::TupleClose),
            Rule::from_keyword => Some(Expected::From),
            Rule::import_close_token => Some(Expected::ImportClose),
            Rule::string_content => Some(Expected::String),
            Rule::EOI => Some(Expected::EndOfFile),
            _ => None,
        })
        .collect();
    expected.sort();
    expected.dedup();
    // An expression may be a variable, whose identifier pest also reports; "an expression"
    // already says it.
    if expected.contains(&Expected::Expression) {
        expected.retain(|item| *item != Expected::Identifier);
    }
    expected
}

/// The "nesting is too deep" error at the first bracket beyond [`MAX_NESTING_DEPTH`].
pub(super) fn nesting_too_deep(bracket: usize) -> Diagnostic {
    Diagnostic::error(
        "nesting is too deep",
        Span::new(bracket, bracket + 1),
        format!("this is nested more than {MAX_NESTING_DEPTH} levels deep"),
    )
    .with_help(format!(
        "nest dicts, lists and tuples at most {MAX_NESTING_DEPTH} levels deep; the rest of the file was not parsed"
    ))
}

/// The note that parsing stopped early because of too many syntax errors.
pub(super) fn too_many_errors(position: usize) -> Diagnostic {
    Diagnostic::error(
        "too many syntax errors, parsing stopped here",
        Span::new(position, position),
        "the rest of the file was not checked",
    )
    .with_help("fix the errors above and check again")
}

/// The token at the error, backing up when pest stopped in the middle of one: at the `=` of a
/// quoter opening `{=tag`, or at the `=}` of a closing tag `tag=}`.
fn found_token(source: &str, error_at: usize) -> FoundToken {
    let bytes = source.as_bytes();
    if error_at > 0 && bytes.get(error_at) == Some(&b'=') && bytes[error_at - 1] == b'{' {
        let token = scan::token_at(source, error_at - 1);
        if matches!(token.kind, TokenKind::QuoterOpen { .. }) {
            return token;
        }
    }
    if bytes[error_at.min(bytes.len())..].starts_with(b"=}") {
        let mut start = error_at;
        while start > 0 && scan::is_identifier_continue(bytes[start - 1]) {
            start -= 1;
        }
        if start < error_at && scan::is_identifier_start(bytes[start]) {
            return scan::token_at(source, start);
        }
    }
    scan::token_at(source, error_at)
}

/// Errors that are about the found token itself, whatever the grammar expected there.
fn token_problem(source: &str, found: &FoundToken, expected: &[Expected]) -> Option<Diagnostic> {
    let span = Span::new(found.start, found.end);
    let diagnostic = match &found.kind {
        TokenKind::Unrecognized(character) => Diagnostic::error(
            format!("unrecognized character `{}`", character.escape_debug()),
            span,
            "this character is not part of the language",
        )
        .with_help(
            "remove it; strings go in double quotes and raw text in a quoter `{=tag ... tag=}`",
        ),
        TokenKind::String { terminated: false } => Diagnostic::error(
            "unterminated string",
            Span::new(found.end, found.end),
            "the line ends before the closing `\"`",
        )
        .with_secondary(
            Span::new(found.start, found.start + 1),
            "the string starts here",
        )
        .with_help("close the string with `\"` on the same line; write `\\n` for a line break"),
        TokenKind::BlockComment { terminated: false } => Diagnostic::error(
            "unterminated block comment",
            Span::new(found.end, found.end),
            "the file ends before the closing `*/`",
        )
        .with_secondary(
            Span::new(found.start, found.start + 2),
            "the comment starts here",
        )
        .with_help("close the comment with `*/` (block comments do not nest)"),
        TokenKind::QuoterOpen {
            tag_len,
            terminated: false,
        } => {
            let tag = &source[found.start + 2..found.start + 2 + tag_len];
            Diagnostic::error(
                format!("unterminated quoter `{{={tag}`"),
                Span::new(source.len(), source.len()),
                format!("the file ends before the closing `{tag}=}}`"),
            )
            .with_secondary(
                Span::new(found.start, found.end),
                format!("the quoter `{{={tag}` opens here"),
            )
            .with_help(format!(
                "end the quoted text with `{tag}=}}`; only a closing tag with the same name `{tag}` closes it"
            ))
        }
        TokenKind::QuoterClose => {
            let tag = &source[found.start..found.end - 2];
            Diagnostic::error(
                format!("unexpected closing tag `{tag}=}}`"),
                span,
                "no quoter is open here",
            )
            .with_help(format!(
                "a quoter ends at the first `{tag}=}}` after `{{={tag}` (quoters do not nest); remove this extra closing tag"
            ))
        }
        TokenKind::Punctuation(',') if !expects_comma(expected) => {
            Diagnostic::error("unexpected `,`", span, "extra comma")
                .with_help("remove this extra comma")
        }
        _ => return None,
    };
    Some(diagnostic)
}

fn expects_comma(expected: &[Expected]) -> bool {
    expected.iter().any(|item| {
        matches!(
            item,
            Expected::DictComma | Expected::ListComma | Expected::TupleComma
        )
    })
}

/// What the grammar wanted, in words. Known combinations get a specific phrase; anything else
/// lists the readable name of each expected item.
fn describe_expected(
    source: &str,
    step_start: usize,
    error_at: usize,
    expected: &[Expected],
) -> String {
    let has = |item: Expected| expected.contains(&item);
    if has(Expected::DictComma) && has(Expected::DictClose) {
        return "`}` or `,` after dict entry".to_owned();
    }
    if has(Expected::ListComma) && has(Expected::ListClose) {
        return "`]` or `,` after list item".to_owned();
    }
    if has(Expected::TupleComma) && has(Expected::TupleClose) {
        return "`)` or `,` after tuple item".to_owned();
    }
    if has(Expected::Identifier) && has(Expected::DictClose) {
        return "a dict key or `}`".to_owned();
    }
    if has(Expected::Expression) && has(Expected::ListClose) {
        return "a list item or `]`".to_owned();
    }
    if has(Expected::Expression) && has(Expected::TupleClose) {
        return "a tuple item or `)`".to_owned();
    }
    if expected == [Expected::Identifier] {
        return match identifiers_before(source, step_start, error_at) {
            1 => "a declaration name".to_owned(),
            _ => "an identifier".to_owned(),
        };
    }
    if expected == [Expected::Expression] && identifiers_before(source, step_start, error_at) == 2 {
        return "a value for the declaration".to_owned();
    }
    let names: Vec<&str> = expected.iter().map(|item| expected_name(*item)).collect();
    match names.as_slice() {
        [] => "something else".to_owned(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// How many identifiers (and nothing else but trivia) lie between the start of the declaration
/// and the error; 1 means the error is where the declaration's name belongs, 2 where its value does.
fn identifiers_before(source: &str, step_start: usize, error_at: usize) -> usize {
    let text = &source[step_start..error_at.min(source.len())];
    let words: Vec<&str> = text
        .split(|character: char| character.is_ascii_whitespace())
        .filter(|word| !word.is_empty())
        .collect();
    let all_identifiers = words.iter().all(|word| {
        let bytes = word.as_bytes();
        scan::identifier_end(bytes, 0) == bytes.len() && !scan::is_keyword(word)
    });
    if all_identifiers { words.len() } else { 0 }
}

fn expected_name(item: Expected) -> &'static str {
    match item {
        Expected::Declaration => "a declaration",
        Expected::Identifier => "an identifier",
        Expected::Expression => "an expression",
        Expected::Colon => "`:` after dict key",
        Expected::DictComma | Expected::ListComma | Expected::TupleComma => "`,`",
        Expected::DictClose | Expected::ImportClose => "`}`",
        Expected::ListClose => "`]`",
        Expected::TupleClose => "`)`",
        Expected::From => "`from`",
        Expected::String => "a string",
        Expected::EndOfFile => "the end of the file",
    }
}

fn describe_found(source: &str, found: &FoundToken) -> String {
    let text = &source[found.start..found.end];
    match &found.kind {
        TokenKind::EndOfFile => "the end of the file".to_owned(),
        TokenKind::Identifier | TokenKind::Punctuation(_) => format!("`{text}`"),
        TokenKind::Keyword => format!("keyword `{text}`"),
        TokenKind::String { .. } => "a string".to_owned(),
        TokenKind::Number => format!("number `{text}`"),
        TokenKind::QuoterOpen { .. } => format!("quoter `{text}`"),
        TokenKind::QuoterClose => format!("closing tag `{text}`"),
        TokenKind::BlockComment { .. } => "a comment".to_owned(),
        TokenKind::Unrecognized(character) => format!("`{}`", character.escape_debug()),
    }
}

/// The primary label under the found token.
fn found_label(source: &str, found: &FoundToken) -> String {
    match &found.kind {
        TokenKind::EndOfFile => "the file ends here".to_owned(),
        TokenKind::String { .. } => "unexpected string".to_owned(),
        TokenKind::BlockComment { .. } => "unexpected comment".to_owned(),
        _ => format!("unexpected {}", describe_found(source, found)),
    }
}

/// What to do, for the common mistakes.
fn help_for(expected: &[Expected], found: &FoundToken) -> Option<&'static str> {
    let has = |item: Expected| expected.contains(&item);
    // A value where a separator belongs is most often a forgotten comma.
    let starts_value = matches!(
        found.kind,
        TokenKind::Identifier
            | TokenKind::Keyword
            | TokenKind::String { .. }
            | TokenKind::Number
            | TokenKind::QuoterOpen { .. }
            | TokenKind::Punctuation('{' | '[' | '(')
    );
    if has(Expected::DictComma) && starts_value {
        return Some("separate dict entries with `,`");
    }
    if has(Expected::ListComma) && starts_value {
        return Some("separate list items with `,`");
    }
    if has(Expected::TupleComma) && starts_value {
        return Some("separate tuple items with `,`");
    }
    let closes_something = expected.iter().any(|item| {
        matches!(
            item,
            Expected::DictClose | Expected::ListClose | Expected::TupleClose
        )
    });
    if found.kind == TokenKind::EndOfFile && closes_something {
        return Some("the file ended too early: close every `{`, `[` and `(` that is still open");
    }
    if found.kind == TokenKind::EndOfFile {
        return Some(
            "complete the declaration: `<type> <name> <value>`, e.g. `page MainPage { ... }`",
        );
    }
    if has(Expected::Colon) {
        return Some("write dict entries as `key: value`");
    }
    if has(Expected::From) || has(Expected::ImportClose) {
        return Some(
            "write `import { name } from \"@src/...\"` or `import name from \"@src/...\"`",
        );
    }
    if expected == [Expected::Identifier] {
        return Some("names are identifiers: letters, digits and `_`, not starting with a digit");
    }
    None
}
