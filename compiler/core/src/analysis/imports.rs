//! External imports: resolving `@src/...` paths against the project and checking that they exist.
//!
//! A server import (`fn: import { chat_socket } from "@src/server/chat.rs"`) must name a `.rs` file
//! that defines `pub fn chat_socket` or `pub async fn chat_socket` at the top level. A light scan
//! that skips comments, strings and character literals finds those functions; it does not parse
//! Rust (compile time matters, and `rustc` reports real syntax errors later anyway). Client imports
//! must name an existing file with an allowed extension. Files are read through [`ProjectFiles`],
//! once each.

use super::ir::{ClientImport, ImportKind as IrImportKind, ServerFunction};
use super::project_files::ProjectFiles;
use super::suggest;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{ExtImport, ImportKind};
use std::collections::HashMap;
use std::fmt::Display;

/// The extensions of a React component file (`page.component`, `client.rootComponent`).
pub const COMPONENT_EXTENSIONS: [&str; 2] = [".tsx", ".jsx"];
/// The extensions of a client script (`client.setupFn`).
pub const SCRIPT_EXTENSIONS: [&str; 4] = [".ts", ".tsx", ".js", ".jsx"];

/// Reads project files for import checks, remembering what it read.
pub struct ImportChecker<'f> {
    files: &'f dyn ProjectFiles,
    /// The functions of each Rust file read so far; `None` when the file could not be read.
    rust_files: HashMap<String, Option<RustFile>>,
    /// Whether each client file read so far exists.
    client_files: HashMap<String, bool>,
}

/// What the scan found in one Rust file.
struct RustFile {
    functions: Vec<RustFunction>,
    /// The public functions by name, for quick lookups: one file often serves many imports.
    public: HashMap<String, RustFunction>,
}

impl RustFile {
    fn scan(source: &str) -> Self {
        let functions = rust_functions(source);
        let public = functions
            .iter()
            .filter(|function| function.public)
            .map(|function| (function.name.clone(), function.clone()))
            .collect();
        RustFile { functions, public }
    }
}

/// A top-level function found in a Rust file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustFunction {
    pub name: String,
    /// Declared `pub` (not `pub(crate)` or private).
    pub public: bool,
    /// Declared `async fn`.
    pub is_async: bool,
    /// The line of its name, counted from 1.
    pub line: usize,
}

impl<'f> ImportChecker<'f> {
    pub fn new(files: &'f dyn ProjectFiles) -> Self {
        ImportChecker {
            files,
            rust_files: HashMap::new(),
            client_files: HashMap::new(),
        }
    }

    /// Checks an import of a Rust function; `what` names the field, e.g. "`fn` of `webSocket`".
    pub fn server_function(
        &mut self,
        import: &ExtImport,
        what: &dyn Display,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<ServerFunction> {
        let file = resolve_path(import, diagnostics)?;
        let function = import.name.name.as_str();
        if import.kind == ImportKind::Default {
            diagnostics.push(
                Diagnostic::error(
                    format!("{what} imports a Rust function, which has no default export"),
                    import.name.span,
                    "default import",
                )
                .with_help(format!(
                    "import the function by name: `import {{ {function} }} from \"{}\"`",
                    import.path
                )),
            );
            return None;
        }
        if !file.ends_with(".rs") {
            diagnostics.push(
                Diagnostic::error(
                    format!("{what} must be a Rust function, but `{}` is not a `.rs` file", import.path),
                    import.path_span,
                    "not a Rust file",
                )
                .with_help(format!(
                    "appc servers are written in Rust: define `pub fn {rust_name}` in a `.rs` file in `src/server/` and import it, e.g. `import {{ {rust_name} }} from \"{rust_path}\"`",
                    rust_name = snake_case(function),
                    rust_path = server_file_for(&import.path),
                )),
            );
            return None;
        }
        // The generated server compiles the files directly in `src/server/`, each as a module,
        // so a function anywhere else would be a name rustc cannot find.
        if file.matches('/').count() != 2 || !file.starts_with("src/server/") {
            diagnostics.push(
                Diagnostic::error(
                    format!("{what} must be in a `.rs` file directly in `src/server/`, found `{file}`"),
                    import.path_span,
                    "not directly in src/server/",
                )
                .with_help(format!(
                    "the server is built from the `.rs` files directly in `src/server/`; move `{function}` to one of them and import it from there, e.g. `import {{ {function} }} from \"{}\"`",
                    server_file_for(&import.path)
                )),
            );
            return None;
        }
        let files = self.files;
        if !self.rust_files.contains_key(&file) {
            let scanned = files.read(&file).map(|text| RustFile::scan(&text));
            self.rust_files.insert(file.clone(), scanned);
        }
        let Some(rust_file) = &self.rust_files[&file] else {
            diagnostics.push(
                Diagnostic::error(
                    format!("cannot find file `{file}`"),
                    import.path_span,
                    format!("{file} does not exist or is not UTF-8 text"),
                )
                .with_help(format!(
                    "create `{file}` with `pub fn {function}`, or correct the path"
                )),
            );
            return None;
        };
        if let Some(found) = rust_file.public.get(function) {
            return Some(ServerFunction {
                file,
                function: function.to_string(),
                is_async: found.is_async,
                line: found.line,
            });
        }
        let functions = &rust_file.functions;
        let public: Vec<&str> = functions
            .iter()
            .filter(|found| found.public)
            .map(|found| found.name.as_str())
            .collect();
        let is_private = functions
            .iter()
            .any(|found| !found.public && found.name == function);
        let help = if is_private {
            format!("`{function}` is private: declare it `pub fn {function}`")
        } else if public.is_empty() {
            format!("`{file}` has no public functions; add `pub fn {function}` to it")
        } else {
            let mut sorted = public.clone();
            sorted.sort_unstable();
            let listed = suggest::quoted_list(sorted.iter().copied());
            match suggest::closest(function, sorted.iter().copied()) {
                Some(suggestion) => {
                    format!(
                        "did you mean `{suggestion}`? the public functions of `{file}` are {listed}"
                    )
                }
                None => format!("the public functions of `{file}` are {listed}"),
            }
        };
        diagnostics.push(
            Diagnostic::error(
                format!("cannot find public function `{function}` in `{file}`"),
                import.name.span,
                format!("not found in {file}"),
            )
            .with_help(help),
        );
        None
    }

    /// Checks an import of client code whose file must end with one of `extensions`.
    pub fn client_import(
        &mut self,
        import: &ExtImport,
        what: &dyn Display,
        extensions: &[&str],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<ClientImport> {
        let file = resolve_path(import, diagnostics)?;
        if !extensions.iter().any(|extension| file.ends_with(extension)) {
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "{what} must be a {} file, found `{}`",
                        suggest::quoted_alternatives(extensions.iter().copied()),
                        import.path
                    ),
                    import.path_span,
                    "unexpected file type",
                )
                .with_help(format!(
                    "point at a file ending in {}",
                    suggest::quoted_alternatives(extensions.iter().copied())
                )),
            );
            return None;
        }
        let files = self.files;
        let exists = *self
            .client_files
            .entry(file.clone())
            .or_insert_with(|| files.read(&file).is_some());
        if !exists {
            diagnostics.push(
                Diagnostic::error(
                    format!("cannot find file `{file}`"),
                    import.path_span,
                    format!("{file} does not exist or is not UTF-8 text"),
                )
                .with_help(format!(
                    "create `{file}` exporting `{}`, or correct the path",
                    import.name.name
                )),
            );
            return None;
        }
        Some(ClientImport {
            file,
            kind: match import.kind {
                ImportKind::Default => IrImportKind::Default,
                ImportKind::Named => IrImportKind::Named,
            },
            name: import.name.name.clone(),
        })
    }
}

/// The project-relative path of an import: `@src/x` is `src/x`; Wasp's older `@server/x` and
/// `@client/x` are `src/server/x` and `src/client/x`.
fn resolve_path(import: &ExtImport, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    let path = import.path.as_str();
    let relative = [
        ("@src/", "src/"),
        ("@server/", "src/server/"),
        ("@client/", "src/client/"),
    ]
    .iter()
    .find_map(|(prefix, folder)| {
        path.strip_prefix(prefix)
            .map(|rest| format!("{folder}{rest}"))
    });
    let Some(relative) = relative else {
        diagnostics.push(
            Diagnostic::error(
                format!("import path `{path}` must start with `@src/`"),
                import.path_span,
                "not under `@src/`",
            )
            .with_help(
                "write the path from the project's `src/` folder, e.g. `@src/server/chat.rs`",
            ),
        );
        return None;
    };
    let bad_segment = relative.split('/').any(|segment| {
        segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\')
    });
    if bad_segment {
        diagnostics.push(
            Diagnostic::error(
                format!("import path `{path}` is not a plain path inside `src/`"),
                import.path_span,
                "empty, `.` or `..` segment, or a backslash",
            )
            .with_help("write a path such as `@src/server/chat.rs`, with `/` between folder names"),
        );
        return None;
    }
    Some(relative)
}

/// `webSocketFn` as a Rust function name: `web_socket_fn` (and `URLSetup`: `url_setup`).
pub fn snake_case(name: &str) -> String {
    let characters: Vec<char> = name.chars().collect();
    let mut snake = String::with_capacity(name.len() + 4);
    for (index, character) in characters.iter().enumerate() {
        if character.is_uppercase() && index > 0 {
            let previous = characters[index - 1];
            let next_is_lower = characters
                .get(index + 1)
                .is_some_and(|next| next.is_lowercase());
            // A new word starts after a lower-case letter or digit, or where an acronym ends.
            let starts_word = previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower);
            if starts_word && !snake.ends_with('_') {
                snake.push('_');
            }
        }
        snake.extend(character.to_lowercase());
    }
    snake
}

/// Where a server function imported from `path` belongs: a file named after the import's file,
/// in Rust's spelling, directly in `src/server/` (`@src/ws-server.js` gives
/// `@src/server/ws_server.rs`, `@src/features/apis/apis` gives `@src/server/apis.rs`).
pub fn server_file_for(path: &str) -> String {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let stem = match file_name.rfind('.') {
        Some(dot) if dot > 0 => &file_name[..dot],
        _ => file_name,
    };
    let rust_stem: String = snake_case(stem)
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character
            } else {
                '_'
            }
        })
        .collect();
    let rust_stem = if rust_stem.is_empty() {
        "server".to_string()
    } else {
        rust_stem
    };
    format!("@src/server/{rust_stem}.rs")
}

/// The top-level functions of a Rust source file, in order.
pub fn rust_functions(source: &str) -> Vec<RustFunction> {
    let tokens = code_tokens(source);
    let mut functions = Vec::new();
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate() {
        match *token {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => depth = depth.saturating_sub(1),
            Token::Word("fn") if depth == 0 => {
                if let Some(Token::Word(name)) = tokens.get(index + 1) {
                    let qualifiers = &tokens[..index];
                    functions.push(RustFunction {
                        name: (*name).to_string(),
                        public: preceded_by_pub(qualifiers),
                        is_async: declared_async(qualifiers),
                        line: line_of(source, name),
                    });
                }
            }
            _ => {}
        }
    }
    functions
}

/// The line (from 1) of `word`, a slice of `source` that `code_tokens` returned.
fn line_of(source: &str, word: &str) -> usize {
    let offset = word.as_ptr() as usize - source.as_ptr() as usize;
    source[..offset].matches('\n').count() + 1
}

/// True when the qualifiers right before `fn` (`pub async unsafe fn`) include `async`.
fn declared_async(before: &[Token]) -> bool {
    before
        .iter()
        .rev()
        .take_while(|token| {
            matches!(
                token,
                Token::Word("const" | "async" | "unsafe" | "extern") | Token::Literal
            )
        })
        .any(|token| *token == Token::Word("async"))
}

/// True when the tokens before `fn` are `pub` followed only by qualifiers (`const`, `async`,
/// `unsafe`, `extern "C"`).
fn preceded_by_pub(before: &[Token]) -> bool {
    for token in before.iter().rev() {
        match token {
            Token::Word("const" | "async" | "unsafe" | "extern") | Token::Literal => continue,
            Token::Word("pub") => return true,
            _ => return false,
        }
    }
    false
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token<'s> {
    Word(&'s str),
    Punct(char),
    /// A string, character or number literal (contents are irrelevant to the scan).
    Literal,
}

/// Splits Rust source into words, punctuation and literals, dropping comments and whitespace.
fn code_tokens(source: &str) -> Vec<Token<'_>> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        if byte.is_ascii_whitespace() {
            position += 1;
        } else if source[position..].starts_with("//") {
            position = source[position..]
                .find('\n')
                .map_or(bytes.len(), |newline| position + newline);
        } else if source[position..].starts_with("/*") {
            position = skip_block_comment(bytes, position);
        } else if let Some(end) = raw_string_end(bytes, position) {
            tokens.push(Token::Literal);
            position = end;
        } else if byte == b'"' || (byte == b'b' && bytes.get(position + 1) == Some(&b'"')) {
            let quote = if byte == b'"' { position } else { position + 1 };
            position = skip_quoted(bytes, quote, b'"');
            tokens.push(Token::Literal);
        } else if byte == b'\'' {
            match char_literal_end(source, position) {
                Some(end) => {
                    tokens.push(Token::Literal);
                    position = end;
                }
                // A lifetime such as `'a`: the quote is punctuation and the name follows.
                None => {
                    tokens.push(Token::Punct('\''));
                    position += 1;
                }
            }
        } else if byte == b'_' || byte.is_ascii_alphanumeric() || byte >= 0x80 {
            let start = position;
            while position < bytes.len()
                && (bytes[position] == b'_'
                    || bytes[position].is_ascii_alphanumeric()
                    || bytes[position] >= 0x80)
            {
                position += 1;
            }
            let word = &source[start..position];
            if word.as_bytes()[0].is_ascii_digit() {
                tokens.push(Token::Literal);
            } else {
                // `r#name` raw identifiers are the name itself.
                tokens.push(Token::Word(word));
            }
        } else {
            let character = source[position..].chars().next().unwrap_or(' ');
            tokens.push(Token::Punct(character));
            position += character.len_utf8();
        }
    }
    tokens
}

/// The end of a (possibly nested) block comment starting at `start`.
fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut position = start;
    while position < bytes.len() {
        if bytes[position..].starts_with(b"/*") {
            depth += 1;
            position += 2;
        } else if bytes[position..].starts_with(b"*/") {
            depth -= 1;
            position += 2;
            if depth == 0 {
                return position;
            }
        } else {
            position += 1;
        }
    }
    bytes.len()
}

/// The position after a quoted literal opened at `open`, honouring backslash escapes.
fn skip_quoted(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut position = open + 1;
    while position < bytes.len() {
        match bytes[position] {
            b'\\' => position += 2,
            byte if byte == quote => return position + 1,
            _ => position += 1,
        }
    }
    bytes.len()
}

/// When a raw string (`r"..."`, `r#"..."#`, `br"..."`) starts at `start`, the position after it.
fn raw_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut position = start;
    if bytes.get(position) == Some(&b'b') {
        position += 1;
    }
    if bytes.get(position) != Some(&b'r') {
        return None;
    }
    // Only a word boundary can start a literal: `for"` is not a raw string.
    if start > 0 && (bytes[start - 1] == b'_' || bytes[start - 1].is_ascii_alphanumeric()) {
        return None;
    }
    position += 1;
    let mut hashes = 0;
    while bytes.get(position) == Some(&b'#') {
        hashes += 1;
        position += 1;
    }
    if bytes.get(position) != Some(&b'"') {
        return None;
    }
    position += 1;
    while position < bytes.len() {
        if bytes[position] == b'"'
            && bytes[position + 1..]
                .iter()
                .take(hashes)
                .filter(|byte| **byte == b'#')
                .count()
                == hashes
        {
            return Some(position + 1 + hashes);
        }
        position += 1;
    }
    Some(bytes.len())
}

/// When a character literal (`'x'`, `'\n'`, `'\u{1F600}'`) starts at `start`, the position after it;
/// `None` for a lifetime or label such as `'a`.
fn char_literal_end(source: &str, start: usize) -> Option<usize> {
    let rest = &source[start + 1..];
    let mut characters = rest.char_indices();
    let (_, first) = characters.next()?;
    if first == '\\' {
        let close = rest[1..].find('\'')?;
        return Some(start + 1 + 1 + close + 1);
    }
    let (second_offset, second) = characters.next()?;
    (second == '\'').then_some(start + 1 + second_offset + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_names(source: &str) -> Vec<String> {
        rust_functions(source)
            .into_iter()
            .filter(|function| function.public)
            .map(|function| function.name)
            .collect()
    }

    #[test]
    fn finds_public_and_public_async_functions() {
        let source = "pub fn chat_socket() {}\npub async fn greet(name: &str) -> String { name.into() }\nfn helper() {}";
        assert_eq!(public_names(source), ["chat_socket", "greet"]);
        let all = rust_functions(source);
        assert_eq!(all.len(), 3);
        assert!(!all[2].public);
        let asyncness: Vec<bool> = all.iter().map(|function| function.is_async).collect();
        assert_eq!(asyncness, [false, true, false]);
        let lines: Vec<usize> = all.iter().map(|function| function.line).collect();
        assert_eq!(lines, [1, 2, 3]);
        let qualified = rust_functions(
            "pub async unsafe fn a() {}
pub const fn b() {}",
        );
        assert!(qualified[0].is_async && !qualified[1].is_async);
    }

    #[test]
    fn ignores_functions_in_comments_strings_and_impl_blocks() {
        let source = r##"
// pub fn in_line_comment() {}
/* pub fn in_block /* nested */ pub fn still_comment() {} */
const TEXT: &str = "pub fn in_string() {";
const RAW: &str = r#"pub fn in_raw_string() { "#;
const BRACE: char = '{';
struct Thing<'a>(&'a str);
impl<'a> Thing<'a> { pub fn method(&self) {} }
pub(crate) fn crate_only() {}
pub unsafe extern "C" fn exported() {}
pub fn real() {}
"##;
        assert_eq!(public_names(source), ["exported", "real"]);
    }

    #[test]
    fn javascript_names_and_paths_become_rust_ones_in_help() {
        assert_eq!(snake_case("webSocketFn"), "web_socket_fn");
        assert_eq!(snake_case("chat_socket"), "chat_socket");
        assert_eq!(snake_case("URLSetup"), "url_setup");
        assert_eq!(snake_case("setupV2Server"), "setup_v2_server");
        assert_eq!(
            server_file_for("@src/ws-server.js"),
            "@src/server/ws_server.rs"
        );
        assert_eq!(server_file_for("@src/server/setup"), "@src/server/setup.rs");
        assert_eq!(server_file_for("@src/v1.2/x"), "@src/server/x.rs");
        assert_eq!(
            server_file_for("@src/features/apis/webhookApis.ts"),
            "@src/server/webhook_apis.rs"
        );
        assert_eq!(server_file_for("@src/.js"), "@src/server/_js.rs");
    }

    #[test]
    fn lifetimes_do_not_swallow_code() {
        let source = "pub fn first<'a>(x: &'a str) -> &'a str { x }\npub fn second() {}";
        assert_eq!(public_names(source), ["first", "second"]);
    }
}
