//! Decoding the escapes of double-quoted strings, the JSON way: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`,
//! `\r`, `\t` and `\uXXXX` (UTF-16 surrogate pairs combine into one character).

/// A bad escape inside a string: where it is (byte offsets into the string's content) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EscapeError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub label: &'static str,
    pub help: &'static str,
}

/// Decodes the content of a string literal (the text between its quotes).
pub(super) fn decode_string(content: &str) -> Result<String, EscapeError> {
    if !content.contains('\\') {
        return Ok(content.to_owned());
    }
    let mut decoded = String::with_capacity(content.len());
    let mut rest = content.char_indices().peekable();
    while let Some((index, character)) = rest.next() {
        if character != '\\' {
            decoded.push(character);
            continue;
        }
        let Some((_, escaped)) = rest.next() else {
            return Err(unknown_escape(index, index + 1, "\\"));
        };
        let simple = match escaped {
            '"' => Some('"'),
            '\\' => Some('\\'),
            '/' => Some('/'),
            'b' => Some('\u{08}'),
            'f' => Some('\u{0C}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            _ => None,
        };
        if let Some(simple) = simple {
            decoded.push(simple);
            continue;
        }
        if escaped != 'u' {
            let end = index + 1 + escaped.len_utf8();
            return Err(unknown_escape(index, end, &content[index..end]));
        }
        let first = hex_unit(content, index)?;
        rest.nth(3);
        let code_point = if (0xD800..0xDC00).contains(&first) {
            // A high surrogate must be followed by `\u` and a low surrogate.
            let low_start = index + 6;
            let low = if content[low_start..].starts_with("\\u") {
                hex_unit(content, low_start).ok()
            } else {
                None
            };
            match low {
                Some(low) if (0xDC00..0xE000).contains(&low) => {
                    rest.nth(5);
                    0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
                }
                _ => return Err(lone_surrogate(index)),
            }
        } else if (0xDC00..0xE000).contains(&first) {
            return Err(lone_surrogate(index));
        } else {
            first
        };
        match char::from_u32(code_point) {
            Some(character) => decoded.push(character),
            None => return Err(lone_surrogate(index)),
        }
    }
    Ok(decoded)
}

/// The 16-bit value of the four hex digits after the `\u` at `backslash`.
fn hex_unit(content: &str, backslash: usize) -> Result<u32, EscapeError> {
    let digits_start = backslash + 2;
    let digits = content.get(digits_start..digits_start + 4);
    match digits {
        Some(digits) if digits.bytes().all(|byte| byte.is_ascii_hexdigit()) => {
            u32::from_str_radix(digits, 16).map_err(|_| bad_unicode(content, backslash))
        }
        _ => Err(bad_unicode(content, backslash)),
    }
}

fn bad_unicode(content: &str, backslash: usize) -> EscapeError {
    let mut end = (backslash + 6).min(content.len());
    while !content.is_char_boundary(end) {
        end -= 1;
    }
    EscapeError {
        start: backslash,
        end,
        message: "a `\\u` escape needs exactly 4 hexadecimal digits".to_owned(),
        label: "invalid unicode escape",
        help: "write the code point as four hex digits, e.g. `\\u00e9`",
    }
}

fn lone_surrogate(backslash: usize) -> EscapeError {
    EscapeError {
        start: backslash,
        end: backslash + 6,
        message: "a `\\u` escape names a lone UTF-16 surrogate".to_owned(),
        label: "not a character on its own",
        help: "write a high surrogate `\\uD800`-`\\uDBFF` directly followed by a low surrogate `\\uDC00`-`\\uDFFF`, or the character itself",
    }
}

fn unknown_escape(start: usize, end: usize, escape: &str) -> EscapeError {
    EscapeError {
        start,
        end,
        message: format!("unknown escape `{escape}` in string"),
        label: "unknown escape",
        help: "the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; write \\\\ for a backslash",
    }
}

#[cfg(test)]
mod tests {
    use super::decode_string;

    #[test]
    fn decodes_json_escapes() {
        assert_eq!(
            decode_string(r#"a\"b\\c\/d\n\t\r\b\f"#).unwrap(),
            "a\"b\\c/d\n\t\r\u{8}\u{c}"
        );
        assert_eq!(decode_string(r"\u00e9\u20AC").unwrap(), "é€");
        assert_eq!(decode_string(r"\uD83D\uDE00!").unwrap(), "😀!");
        assert_eq!(decode_string("plain é").unwrap(), "plain é");
    }

    #[test]
    fn rejects_bad_escapes_with_their_position() {
        let error = decode_string(r"ab\q").unwrap_err();
        assert_eq!((error.start, error.end), (2, 4));
        assert_eq!(error.message, "unknown escape `\\q` in string");
        assert_eq!(decode_string(r"\u12").unwrap_err().start, 0);
        assert_eq!(decode_string(r"\u12é45").unwrap_err().start, 0);
        assert_eq!(decode_string(r"x\uD800").unwrap_err().start, 1);
        assert_eq!(decode_string(r"\uDC00").unwrap_err().start, 0);
    }
}
