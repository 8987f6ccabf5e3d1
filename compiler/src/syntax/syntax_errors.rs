//! Syntax error messages: turns pest's "expected one of these rules at this position" into a
//! specific, readable diagnostic that names what was expected and what was found.
//!
//! Problems with the token itself come first, whatever pest expected: an unrecognized character,
//! an unterminated string, block comment or quoter, a stray closing tag `tag=}`, an extra comma.
//! Otherwise the message is "expected <what the grammar wanted>, found <the token>".

use super::MAX_NESTING_DEPTH;
use super::ast::Span;
use super::grammar::Rule;
use super::scan::{self, FoundToken, TokenKind};
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
    let mut expected: Vec<Rule> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    // A `?` may follow any expression, so it is always possible; naming it would only add noise.
    expected.retain(|rule| *rule != Rule::optional_mark);
    let found = found_token(source, error_at);
    if let Some(diagnostic) = token_problem(source, &found, &expected) {
        return diagnostic;
    }
    let span = Span::new(found.start, found.end);
    let found_text = describe_found(source, &found);
    if expected == [Rule::declaration_step] {
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
    let diagnostic = Diagnostic::error(
        format!("expected {expected_text}, found {found_text}"),
        span,
        found_label(source, &found),
    );
    match help_for(&expected, &found) {
        Some(help) => diagnostic.with_help(help),
        None => diagnostic,
    }
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
fn token_problem(source: &str, found: &FoundToken, expected: &[Rule]) -> Option<Diagnostic> {
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

fn expects_comma(expected: &[Rule]) -> bool {
    expected.iter().any(|rule| {
        matches!(
            rule,
            Rule::dict_comma_token | Rule::list_comma_token | Rule::tuple_comma_token
        )
    })
}

/// What the grammar wanted, in words. Known combinations get a specific phrase; anything else
/// lists the readable name of each expected rule.
fn describe_expected(
    source: &str,
    step_start: usize,
    error_at: usize,
    expected: &[Rule],
) -> String {
    let has = |rule: Rule| expected.contains(&rule);
    if has(Rule::dict_comma_token) && has(Rule::dict_close_token) {
        return "`}` or `,` after dict entry".to_owned();
    }
    if has(Rule::list_comma_token) && has(Rule::list_close_token) {
        return "`]` or `,` after list item".to_owned();
    }
    if has(Rule::tuple_comma_token) && has(Rule::tuple_close_token) {
        return "`)` or `,` after tuple item".to_owned();
    }
    if has(Rule::identifier) && has(Rule::dict_close_token) {
        return "a dict key or `}`".to_owned();
    }
    if has(Rule::expression) && has(Rule::list_close_token) {
        return "a list item or `]`".to_owned();
    }
    if has(Rule::expression) && has(Rule::tuple_close_token) {
        return "a tuple item or `)`".to_owned();
    }
    if expected == [Rule::identifier] {
        return match identifiers_before(source, step_start, error_at) {
            1 => "a declaration name".to_owned(),
            _ => "an identifier".to_owned(),
        };
    }
    if expected == [Rule::expression] && identifiers_before(source, step_start, error_at) == 2 {
        return "a value for the declaration".to_owned();
    }
    let mut names: Vec<&str> = expected.iter().map(|rule| rule_name(*rule)).collect();
    names.dedup();
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

fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::dict_open_token | Rule::import_open_token => "`{`",
        Rule::dict_close_token | Rule::import_close_token => "`}`",
        Rule::list_open_token => "`[`",
        Rule::list_close_token => "`]`",
        Rule::tuple_open_token => "`(`",
        Rule::tuple_close_token => "`)`",
        Rule::dict_comma_token | Rule::list_comma_token | Rule::tuple_comma_token => "`,`",
        Rule::colon_token => "`:` after dict key",
        Rule::from_keyword => "`from`",
        Rule::import_keyword => "`import`",
        Rule::identifier
        | Rule::declaration_type
        | Rule::declaration_name
        | Rule::dict_key
        | Rule::default_import
        | Rule::variable => "an identifier",
        Rule::named_import => "`{ name }`",
        Rule::string | Rule::import_path => "a string",
        Rule::integer | Rule::decimal => "a number",
        Rule::declaration | Rule::declaration_step | Rule::file => "a declaration",
        Rule::EOI => "the end of the file",
        _ => "an expression",
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
fn help_for(expected: &[Rule], found: &FoundToken) -> Option<&'static str> {
    let has = |rule: Rule| expected.contains(&rule);
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
    if has(Rule::dict_comma_token) && starts_value {
        return Some("separate dict entries with `,`");
    }
    if has(Rule::list_comma_token) && starts_value {
        return Some("separate list items with `,`");
    }
    if has(Rule::tuple_comma_token) && starts_value {
        return Some("separate tuple items with `,`");
    }
    let closes_something = expected.iter().any(|rule| {
        matches!(
            rule,
            Rule::dict_close_token | Rule::list_close_token | Rule::tuple_close_token
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
    if has(Rule::colon_token) {
        return Some("write dict entries as `key: value`");
    }
    if has(Rule::from_keyword) || has(Rule::import_close_token) {
        return Some(
            "write `import { name } from \"@src/...\"` or `import name from \"@src/...\"`",
        );
    }
    if expected == [Rule::identifier] {
        return Some("names are identifiers: letters, digits and `_`, not starting with a digit");
    }
    None
}
