//! Lexical helpers that work on raw text rather than on the grammar: finding the token at a syntax
//! error (so that messages can name what was found), bounding nesting depth before pest runs, and
//! finding where the next declaration starts after a syntax error.
//!
//! These helpers follow the token rules of `spec/wasp.pest`; they never decide whether a file is
//! valid (the grammar does), they only help to explain and to recover.

/// How deeply dicts, lists and tuples may nest. pest parses by recursive descent, so unbounded
/// nesting would exhaust the stack; real specs nest fewer than ten levels.
pub const MAX_NESTING_DEPTH: usize = 100;

/// What kind of token starts at some position of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenKind {
    EndOfFile,
    Identifier,
    /// `import`, `from`, `true` or `false`.
    Keyword,
    String {
        terminated: bool,
    },
    Number,
    /// One of `{ } [ ] ( ) , : ?`.
    Punctuation(char),
    /// `{=tag`, the opening of a quoter; `terminated` tells whether its closing `tag=}` exists.
    QuoterOpen {
        tag_len: usize,
        terminated: bool,
    },
    /// `tag=}` outside of a quoter.
    QuoterClose,
    BlockComment {
        terminated: bool,
    },
    /// A character that starts no token at all.
    Unrecognized(char),
}

/// A token found at a position: its kind and its byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FoundToken {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

pub(super) fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

pub(super) fn is_identifier_continue(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

pub(super) fn is_keyword(word: &str) -> bool {
    matches!(word, "import" | "from" | "true" | "false")
}

/// The end of the identifier that starts at `start` (or `start` itself when none starts there).
pub(super) fn identifier_end(bytes: &[u8], start: usize) -> usize {
    if start >= bytes.len() || !is_identifier_start(bytes[start]) {
        return start;
    }
    let mut end = start + 1;
    while end < bytes.len() && is_identifier_continue(bytes[end]) {
        end += 1;
    }
    end
}

/// Where the closing `tag=}` of a quoter whose content starts at `content_start` begins, following
/// the grammar's rule: the content is read identifier by identifier, and the first identifier that
/// equals the tag and is directly followed by `=}` closes the quoter.
///
/// Rather than reading every identifier, this jumps from one `=}` to the next and checks the text
/// before it: the tag, starting where the grammar starts an identifier.
pub(super) fn quoter_close_start(text: &str, content_start: usize, tag: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut search_from = content_start;
    while let Some(offset) = text.get(search_from..)?.find("=}") {
        let close = search_from + offset;
        if let Some(tag_start) = close.checked_sub(tag.len())
            && tag_start >= content_start
            && &bytes[tag_start..close] == tag.as_bytes()
            && starts_identifier_in_quoter(bytes, content_start, tag_start)
        {
            return Some(tag_start);
        }
        search_from = close + 2;
    }
    None
}

/// Whether the grammar, reading quoter content from `content_start`, starts an identifier at
/// `position` (which holds a letter or `_`): it does unless a letter or `_` comes earlier in the
/// same run of letters, digits and `_` (a run's leading digits are read as plain text).
fn starts_identifier_in_quoter(bytes: &[u8], content_start: usize, position: usize) -> bool {
    let mut before = position;
    while before > content_start && is_identifier_continue(bytes[before - 1]) {
        if is_identifier_start(bytes[before - 1]) {
            return false;
        }
        before -= 1;
    }
    true
}

/// Skips trivia from `position` exactly as the grammar's `WHITESPACE` reads it: space, `\t` to
/// `\r`, `// ...` up to the line feed and complete `/* ... */` comments. An unterminated block
/// comment is not trivia, so this stops at its `/*`.
pub(super) fn skip_trivia(text: &str, mut position: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        while position < bytes.len() && matches!(bytes[position], b' ' | b'\t'..=b'\r') {
            position += 1;
        }
        let rest = bytes.get(position..).unwrap_or_default();
        if rest.starts_with(b"//") {
            position = memchr_newline(bytes, position);
        } else if rest.starts_with(b"/*") {
            match text[position + 2..].find("*/") {
                Some(close) => position += 2 + close + 2,
                None => return position,
            }
        } else {
            return position;
        }
    }
}

/// The token that starts at `position` (which should not be inside trivia).
pub(super) fn token_at(text: &str, position: usize) -> FoundToken {
    let bytes = text.as_bytes();
    let start = position.min(text.len());
    let token = |kind, end| FoundToken { kind, start, end };
    let Some(&first) = bytes.get(start) else {
        return token(TokenKind::EndOfFile, start);
    };
    let next = bytes.get(start + 1).copied();
    match first {
        b'{' if next == Some(b'=') && next_is_identifier(bytes, start + 2) => {
            let tag_end = identifier_end(bytes, start + 2);
            let terminated = quoter_close_start(text, tag_end, &text[start + 2..tag_end]).is_some();
            token(
                TokenKind::QuoterOpen {
                    tag_len: tag_end - start - 2,
                    terminated,
                },
                tag_end,
            )
        }
        b'{' | b'}' | b'[' | b']' | b'(' | b')' | b',' | b':' | b'?' => {
            token(TokenKind::Punctuation(first as char), start + 1)
        }
        b'"' => {
            let mut end = start + 1;
            while end < bytes.len() {
                match bytes[end] {
                    b'"' => return token(TokenKind::String { terminated: true }, end + 1),
                    b'\\' if end + 1 < bytes.len() && !matches!(bytes[end + 1], b'\n' | b'\r') => {
                        end += 2;
                    }
                    b'\n' | b'\r' => break,
                    _ => end += 1,
                }
            }
            token(
                TokenKind::String { terminated: false },
                end.min(bytes.len()),
            )
        }
        b'/' if next == Some(b'*') => match text[start + 2..].find("*/") {
            Some(close) => token(
                TokenKind::BlockComment { terminated: true },
                start + 2 + close + 2,
            ),
            None => token(TokenKind::BlockComment { terminated: false }, text.len()),
        },
        b'-' if next.is_some_and(|byte| byte.is_ascii_digit()) => {
            token(TokenKind::Number, number_end(bytes, start + 1))
        }
        b'0'..=b'9' => token(TokenKind::Number, number_end(bytes, start)),
        _ if is_identifier_start(first) => {
            let end = identifier_end(bytes, start);
            if bytes[end..].starts_with(b"=}") {
                token(TokenKind::QuoterClose, end + 2)
            } else if is_keyword(&text[start..end]) {
                token(TokenKind::Keyword, end)
            } else {
                token(TokenKind::Identifier, end)
            }
        }
        _ => {
            let character = text[start..].chars().next().unwrap_or('\u{FFFD}');
            token(
                TokenKind::Unrecognized(character),
                start + character.len_utf8(),
            )
        }
    }
}

fn next_is_identifier(bytes: &[u8], position: usize) -> bool {
    bytes
        .get(position)
        .is_some_and(|&byte| is_identifier_start(byte))
}

fn number_end(bytes: &[u8], digits_start: usize) -> usize {
    let mut end = digits_start;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    end
}

/// What a lexical pre-pass over the whole file found: where nesting first gets too deep, and the
/// multi-line regions (terminated quoters and block comments) whose text is raw, so that recovery
/// never resumes parsing inside them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Structure {
    pub too_deep_at: Option<usize>,
    pub raw_regions: Vec<(usize, usize)>,
}

/// The bytes that [`scan_structure`] has to look at: brackets and the first bytes of strings,
/// comments and quoters (`{` starts both a dict and a quoter).
const STRUCTURAL_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut index = 0;
    let structural = b"{}[]()\"/";
    while index < structural.len() {
        table[structural[index] as usize] = true;
        index += 1;
    }
    table
};

/// Scans the text the way the grammar reads it (terminated strings, comments and quoters are raw
/// text; an unterminated one is not a string, comment or quoter for the grammar either) and finds
/// the first opening bracket (`{`, `[` or `(`) that is nested more than `max_depth` levels.
///
/// Depth is measured as the largest rise of the bracket count from ANY earlier point, not only
/// from the start of the file: after a syntax error the parser resumes at a later line, and a
/// stray `}` before that line must not let deeper nesting through. Cutting the text before that
/// bracket bounds pest's recursion wherever parsing starts.
pub(super) fn scan_structure(text: &str, max_depth: usize) -> Structure {
    let bytes = text.as_bytes();
    let mut structure = Structure::default();
    let mut depth: isize = 0;
    let mut lowest: isize = 0;
    let mut position = 0;
    while position < bytes.len() {
        // Most bytes are neither brackets nor the start of a string, comment or quoter; skipping
        // them in a tight loop makes this pre-pass a small fraction of the parse.
        if !STRUCTURAL_BYTES[usize::from(bytes[position])] {
            position += 1;
            continue;
        }
        match bytes[position] {
            b'{' if bytes.get(position + 1) == Some(&b'=')
                && next_is_identifier(bytes, position + 2) =>
            {
                let tag_end = identifier_end(bytes, position + 2);
                // Unterminated, the grammar does not read a quoter here, so neither does this.
                if let Some(close_start) =
                    quoter_close_start(text, tag_end, &text[position + 2..tag_end])
                {
                    let end = close_start + (tag_end - position - 2) + 2;
                    structure.raw_regions.push((position, end));
                    position = end;
                    continue;
                }
            }
            b'"' => {
                let token = token_at(text, position);
                if token.kind == (TokenKind::String { terminated: true }) {
                    position = token.end;
                    continue;
                }
            }
            b'/' if bytes.get(position + 1) == Some(&b'/') => {
                position = memchr_newline(bytes, position);
                continue;
            }
            b'/' if bytes.get(position + 1) == Some(&b'*') => {
                if let Some(close) = text[position + 2..].find("*/") {
                    let end = position + 2 + close + 2;
                    structure.raw_regions.push((position, end));
                    position = end;
                    continue;
                }
            }
            _ => {}
        }
        match bytes[position] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth - lowest > max_depth as isize {
                    structure.too_deep_at = Some(position);
                    return structure;
                }
            }
            b'}' | b']' | b')' => {
                depth -= 1;
                lowest = lowest.min(depth);
            }
            _ => {}
        }
        position += 1;
    }
    structure
}

/// The innermost bracket opened in `text[from..to]` and not closed before `to`, read the way the
/// grammar reads the text (brackets inside terminated strings, comments and quoters do not count).
pub(super) fn innermost_unclosed_bracket(text: &str, from: usize, to: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let to = to.min(bytes.len());
    let mut open = Vec::new();
    let mut position = from;
    while position < to {
        let token = token_at(text, position);
        match token.kind {
            TokenKind::Punctuation('{' | '[' | '(') => open.push(position),
            TokenKind::Punctuation('}' | ']' | ')') => {
                open.pop();
            }
            _ => {}
        }
        let skip_whole_token = matches!(
            token.kind,
            TokenKind::String { terminated: true }
                | TokenKind::BlockComment { terminated: true }
                | TokenKind::QuoterOpen {
                    terminated: true,
                    ..
                }
        );
        position = if bytes[position..].starts_with(b"//") {
            memchr_newline(bytes, position)
        } else if skip_whole_token {
            match token.kind {
                TokenKind::QuoterOpen { tag_len, .. } => {
                    let tag = &text[position + 2..position + 2 + tag_len];
                    quoter_close_start(text, token.end, tag).map_or(to, |close| close + tag_len + 2)
                }
                _ => token.end,
            }
        } else if matches!(
            token.kind,
            TokenKind::String { terminated: false }
                | TokenKind::BlockComment { terminated: false }
                | TokenKind::QuoterOpen {
                    terminated: false,
                    ..
                }
        ) {
            // The grammar does not read an unterminated construct as one; neither does this.
            position + 1
        } else {
            token.end.max(position + 1)
        };
    }
    open.pop()
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(bytes.len(), |offset| from + offset)
}

/// After a syntax error at `from`, where parsing should resume: the start of the first line at or
/// after `from` that begins, in its first column, with two identifiers (`page MainPage ...`), which
/// is how every declaration in a real spec starts. Indented lines (dict entries, PSL fields) never
/// match, and neither do lines inside `raw_regions` (quoters and block comments, which are text).
pub(super) fn next_declaration_start(
    text: &str,
    from: usize,
    raw_regions: &[(usize, usize)],
) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut line_start = if from == 0 || bytes.get(from - 1) == Some(&b'\n') {
        from
    } else {
        memchr_newline(bytes, from) + 1
    };
    while line_start < bytes.len() {
        if !inside_region(raw_regions, line_start) && starts_declaration(text, line_start) {
            return Some(line_start);
        }
        line_start = memchr_newline(bytes, line_start) + 1;
    }
    None
}

/// The start of the key of the first line in `from..to` (the key at or after `from`) that starts,
/// indented and outside `raw_regions`, with `key:`, i.e. looks like a dict entry on its own line.
pub(super) fn next_indented_entry(
    text: &str,
    from: usize,
    to: usize,
    raw_regions: &[(usize, usize)],
) -> Option<usize> {
    let bytes = text.as_bytes();
    let to = to.min(bytes.len());
    let mut line_start = match text[..from.min(bytes.len())].rfind('\n') {
        Some(newline) => newline + 1,
        None => 0,
    };
    while line_start < to {
        let mut key_start = line_start;
        while key_start < to && matches!(bytes[key_start], b' ' | b'\t') {
            key_start += 1;
        }
        let key_end = identifier_end(bytes, key_start);
        let mut colon = key_end;
        while colon < to && matches!(bytes[colon], b' ' | b'\t') {
            colon += 1;
        }
        let looks_like_entry = key_start > line_start
            && key_start >= from
            && key_end > key_start
            && colon < to
            && bytes[colon] == b':'
            && !is_keyword(&text[key_start..key_end])
            && !inside_region(raw_regions, key_start);
        if looks_like_entry {
            return Some(key_start);
        }
        line_start = memchr_newline(bytes, line_start) + 1;
    }
    None
}

/// Whether `position` lies strictly inside one of the sorted, non-overlapping `regions`.
fn inside_region(regions: &[(usize, usize)], position: usize) -> bool {
    let after = regions.partition_point(|&(start, _)| start < position);
    after > 0 && position < regions[after - 1].1
}

/// The two identifiers (type and name) at `position` when the text there starts a declaration.
pub(super) fn declaration_head(
    text: &str,
    position: usize,
) -> Option<((usize, usize), (usize, usize))> {
    let bytes = text.as_bytes();
    let type_end = identifier_end(bytes, position);
    if type_end == position || is_keyword(&text[position..type_end]) {
        return None;
    }
    let mut name_start = type_end;
    while name_start < bytes.len() && matches!(bytes[name_start], b' ' | b'\t') {
        name_start += 1;
    }
    if name_start == type_end {
        return None;
    }
    let name_end = identifier_end(bytes, name_start);
    if name_end == name_start || is_keyword(&text[name_start..name_end]) {
        return None;
    }
    Some(((position, type_end), (name_start, name_end)))
}

fn starts_declaration(text: &str, position: usize) -> bool {
    declaration_head(text, position).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::grammar::{Rule, WaspGrammar};
    use pest::Parser;
    use proptest::prelude::*;

    proptest! {
        /// The scan finds a quoter's end exactly where the normative grammar does, for contents
        /// made of the characters that matter: tag letters, other letters, digits, `_`, `=}`. The
        /// content never starts with a letter, digit or `_`: that would lengthen the tag itself
        /// (`{=ab_` opens with the tag `ab_`).
        #[test]
        fn quoter_close_agrees_with_the_grammar(content in "([ =}{\n][abc1_ =}{\n]{0,23})?") {
            let text = format!("{{=ab{content}");
            let by_scan = quoter_close_start(&text, 4, "ab").map(|tag_start| tag_start + 4);
            let by_grammar = WaspGrammar::parse(Rule::quoter, &text)
                .ok()
                .and_then(|mut pairs| pairs.next())
                .map(|quoter| quoter.as_span().end());
            prop_assert_eq!(by_scan, by_grammar);
        }
    }

    #[test]
    fn quoter_closes_at_the_first_matching_tag_read_identifier_by_identifier() {
        let text = "{=foo {=bar foo=}";
        assert_eq!(quoter_close_start(text, 5, "foo"), Some(12));
        assert_eq!(quoter_close_start("{=foo xfoo=} foo=}", 5, "foo"), Some(13));
        assert_eq!(quoter_close_start("{=a b=}", 3, "a"), None);
        // Leading digits of a run are plain text, so the identifier starts after them.
        assert_eq!(quoter_close_start("{=foo 12foo=}", 5, "foo"), Some(8));
        // A letter or `_` earlier in the run starts a longer identifier.
        assert_eq!(
            quoter_close_start("{=foo a1foo=} foo=}", 5, "foo"),
            Some(14)
        );
        assert_eq!(quoter_close_start("{=foo _foo=} foo=}", 5, "foo"), Some(13));
        assert_eq!(
            quoter_close_start("{=foo foofoo=} foo=}", 5, "foo"),
            Some(15)
        );
        assert_eq!(quoter_close_start("{=foo bar=}foo=}", 5, "foo"), Some(11));
        assert_eq!(quoter_close_start("{=foo foo =}", 5, "foo"), None);
    }

    fn too_deep_at(text: &str, max_depth: usize) -> Option<usize> {
        scan_structure(text, max_depth).too_deep_at
    }

    #[test]
    fn nesting_depth_ignores_brackets_in_strings_comments_and_quoters() {
        assert_eq!(too_deep_at("[[[", 2), Some(2));
        assert_eq!(too_deep_at("[[ \"[[[\" ]]", 2), None);
        assert_eq!(too_deep_at("[[ // [[[\n ]]", 2), None);
        assert_eq!(too_deep_at("[[ /* [[[ */ ]]", 2), None);
        assert_eq!(too_deep_at("[ {=x [[[ x=} ]", 2), None);
        assert_eq!(too_deep_at("[]\n[]\n[[]]", 2), None);
    }

    #[test]
    fn nesting_depth_counts_brackets_after_unterminated_constructs_and_stray_closers() {
        // The grammar reads none of these as a comment, quoter or string, so their brackets count.
        assert_eq!(too_deep_at("/* [[[", 2), Some(5));
        assert_eq!(too_deep_at("{=x [[", 2), Some(5));
        assert_eq!(too_deep_at("\"[[[\n", 2), Some(3));
        // Parsing may resume after the stray closers, so the rise from their low point counts.
        assert_eq!(too_deep_at("]]]] [[[", 2), Some(7));
    }

    #[test]
    fn raw_regions_cover_quoters_and_block_comments() {
        let text = "a {=x\nb c\nx=} /* d\ne f */ g";
        let structure = scan_structure(text, 10);
        assert_eq!(structure.raw_regions, vec![(2, 13), (14, 25)]);
        // `b c` and `e f` start lines but lie inside the quoter and the comment.
        assert_eq!(
            next_declaration_start(text, 0, &structure.raw_regions),
            None
        );
        assert_eq!(next_declaration_start(text, 0, &[]), Some(6));
    }

    #[test]
    fn recovery_resumes_at_lines_that_start_with_two_identifiers() {
        let text = "app A {\n  a: b c\n}\npage P {}\n";
        assert_eq!(next_declaration_start(text, 10, &[]), Some(19));
        assert_eq!(next_declaration_start(text, 19, &[]), Some(19));
        assert_eq!(next_declaration_start(text, 20, &[]), None);
    }

    #[test]
    fn innermost_unclosed_bracket_skips_strings_and_closed_pairs() {
        let text = "app A { a: [1, 2], b: \"{\", c: ( {=x ( x=}";
        assert_eq!(innermost_unclosed_bracket(text, 0, text.len()), Some(30));
        assert_eq!(innermost_unclosed_bracket(text, 0, 20), Some(6));
        assert_eq!(innermost_unclosed_bracket("a b []", 0, 6), None);
    }

    #[test]
    fn tokens_are_named_by_kind() {
        assert_eq!(
            token_at("\"abc", 0).kind,
            TokenKind::String { terminated: false }
        );
        assert_eq!(token_at("-12.5,", 0).end, 5);
        assert_eq!(token_at("é", 0).kind, TokenKind::Unrecognized('é'));
        assert_eq!(token_at("foo=} x", 0).kind, TokenKind::QuoterClose);
        assert_eq!(token_at("", 0).kind, TokenKind::EndOfFile);
    }
}
