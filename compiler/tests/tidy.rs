//! Repository-wide rules that no compiler checks, in the manner of rust-analyzer's `tidy.rs`:
//!
//! - every Rust module of the workspace crates (their `src/` trees and build scripts) starts
//!   with a `//!` doc saying what it owns;
//! - every language case directory under `tests/cases/` is named in `spec/semantics.md`;
//! - every repository path the documentation cites exists (see [`cited_paths`] for what counts
//!   as a path), and every `.rs` file a test's or benchmark's module doc names exists;
//! - the workspace's `rust-version` is at least what every dependency declares (read from
//!   `cargo metadata`), and the README's "Rust X or newer" says the same version;
//! - no file module of the workspace crates imports, directly or through others, a module that
//!   imports it back (see [`ModuleGraph`] for what counts as importing).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate is inside the workspace")
        .to_path_buf()
}

/// The workspace crates whose modules must carry a `//!` doc, relative to the repository.
const CRATE_DIRECTORIES: &[&str] = &["compiler", "compiler/core", "runtime", "bench"];

/// The documents whose cited paths must exist, relative to the repository, plus every `spec/*.md`.
const DOCUMENTS: &[&str] = &[
    "README.md",
    "ARCHITECTURE.md",
    "BENCHMARKS.md",
    "runtime/README.md",
    "docs/deploy.md",
];

/// Every `.rs` file below `directory`, sorted, leaving out what builds and installs put there
/// (`.appc/` of fixtures built by the tests, `target/`, `node_modules/`): those are not ours.
fn rust_files(directory: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            let name = path.file_name().unwrap_or_default();
            if path.is_dir() {
                if name != ".appc" && name != "target" && name != "node_modules" {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repository_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let root = repository_root();
    let mut undocumented = Vec::new();
    for crate_directory in CRATE_DIRECTORIES {
        let crate_directory = root.join(crate_directory);
        let mut files = rust_files(&crate_directory.join("src"));
        let build_script = crate_directory.join("build.rs");
        if build_script.is_file() {
            files.push(build_script);
        }
        assert!(
            !files.is_empty(),
            "{} has no Rust files",
            relative(&crate_directory)
        );
        for file in files {
            let text = fs::read_to_string(&file).expect("Rust files are UTF-8");
            if !text.starts_with("//!") {
                undocumented.push(relative(&file));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "these modules do not start with a `//!` doc saying what they own; add one:\n  {}",
        undocumented.join("\n  ")
    );
}

/// Whether `text` contains `word` with no identifier character on either side.
fn contains_word(text: &str, word: &str) -> bool {
    let is_identifier = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
    })
}

#[test]
fn every_case_directory_is_named_in_the_semantics() {
    let root = repository_root();
    let semantics = fs::read_to_string(root.join("spec/semantics.md")).expect("spec/semantics.md");
    let mut cases: Vec<String> = fs::read_dir(root.join("tests/cases"))
        .expect("tests/cases exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.join("main.wasp").is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case directories found");
    let unnamed: Vec<&String> = cases
        .iter()
        .filter(|case| !contains_word(&semantics, case))
        .collect();
    assert!(
        unnamed.is_empty(),
        "these case directories are not named in spec/semantics.md; cite each in brackets after \
         the rule it shows:\n  {}",
        unnamed
            .iter()
            .map(|case| case.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The inline code spans of a Markdown text, outside fenced code blocks.
fn inline_code_spans(markdown: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Between odd and even backticks; a line's spans do not cross lines in these documents.
        spans.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
    }
    spans
}

/// The targets of the Markdown links of a text that are neither URLs nor anchors.
fn relative_link_targets(markdown: &str) -> Vec<String> {
    markdown
        .match_indices("](")
        .filter_map(|(start, _)| {
            let rest = &markdown[start + 2..];
            let target = &rest[..rest.find(')')?];
            let target = target.split('#').next().unwrap_or_default();
            let is_local = !target.is_empty() && !target.contains("://") && !target.contains(':');
            is_local.then(|| target.to_string())
        })
        .collect()
}

/// `a/{b,c}/d` as `a/b/d` and `a/c/d` (one pair of braces, as the documents write them).
fn expand_braces(token: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (token.find('{'), token.find('}')) else {
        return vec![token.to_string()];
    };
    if close < open {
        return vec![token.to_string()];
    }
    token[open + 1..close]
        .split(',')
        .map(|choice| format!("{}{choice}{}", &token[..open], &token[close + 1..]))
        .collect()
}

/// Where a document's cited token is a path of the repository, the file or folder it names.
///
/// A token counts as a repository path when it has no spaces, contains `/`, and its first segment
/// is a top-level folder of the repository (`compiler`, `runtime`, `spec`, ...) or, for a
/// document inside a crate (`runtime/README.md`), a folder of that crate or of its `src/`. Skipped:
/// placeholders (`<case>`, `*`, `...`), and generated or installed folders (`.appc`, `target`,
/// `node_modules`), which exist only after a build. Project paths such as `src/server/` are not
/// repository paths (`src` is not a top-level folder) and are not checked.
fn cited_paths(document: &Path, token: &str) -> Vec<PathBuf> {
    let root = repository_root();
    let token = token.trim_end_matches(['.', ',', ':', ';']);
    let is_placeholder = token.contains(['<', '>', '*', ' ', '$', '|']) || token.contains("...");
    let is_generated = token
        .split('/')
        .any(|segment| segment == ".appc" || segment == "target" || segment == "node_modules");
    if !token.contains('/') || is_placeholder || is_generated || token.starts_with('/') {
        return Vec::new();
    }
    // A crate's own document may cite paths from the crate (`tests/...`) or its `src/` (`db/...`).
    let document_directory = document
        .parent()
        .expect("documents are files")
        .to_path_buf();
    let mut bases = Vec::new();
    if document_directory != root && document_directory.join("Cargo.toml").is_file() {
        bases.push(document_directory.clone());
        bases.push(document_directory.join("src"));
    }
    bases.push(root.clone());
    let mut paths = Vec::new();
    for token in expand_braces(token) {
        let first_segment = token.split('/').next().unwrap_or_default();
        // `..` leaves the repository; `@appc/...` and `@src/...` are import paths.
        if matches!(first_segment, "" | "." | "..") || first_segment.starts_with('@') {
            continue;
        }
        let base = bases.iter().find(|base| base.join(first_segment).is_dir());
        if let Some(base) = base {
            paths.push(base.join(&token));
        }
    }
    paths
}

fn documents() -> Vec<PathBuf> {
    let root = repository_root();
    let mut documents: Vec<PathBuf> = DOCUMENTS.iter().map(|path| root.join(path)).collect();
    for entry in fs::read_dir(root.join("spec")).expect("spec/ exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_some_and(|extension| extension == "md") {
            documents.push(path);
        }
    }
    documents.sort();
    documents
}

#[test]
fn every_repository_path_cited_in_the_docs_exists() {
    let mut missing = BTreeSet::new();
    let mut checked = 0;
    for document in documents() {
        let text = fs::read_to_string(&document).expect("documents are UTF-8");
        for token in inline_code_spans(&text) {
            for path in cited_paths(&document, &token) {
                checked += 1;
                if !path.exists() {
                    missing.insert(format!("{}: `{token}`", relative(&document)));
                }
            }
        }
        for target in relative_link_targets(&text) {
            checked += 1;
            let path = document.parent().unwrap().join(&target);
            if !path.exists() {
                missing.insert(format!("{}: link to {target}", relative(&document)));
            }
        }
    }
    // The rule must keep finding paths, or it checks nothing.
    assert!(checked > 50, "only {checked} cited paths were found");
    assert!(
        missing.is_empty(),
        "these documents cite repository paths that do not exist; fix the path or the text:\n  {}",
        missing.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

#[test]
fn test_and_benchmark_docs_name_files_that_exist() {
    let root = repository_root();
    let mut missing = Vec::new();
    let mut checked = 0;
    for folder in [
        "compiler/tests",
        "compiler/benches",
        "runtime/tests",
        "bench/tests",
    ] {
        let folder = root.join(folder);
        let crate_directory = folder.parent().expect("test folders are inside a crate");
        for file in rust_files(&folder) {
            let text = fs::read_to_string(&file).expect("Rust files are UTF-8");
            let module_doc = text
                .lines()
                .take_while(|line| line.starts_with("//!"))
                .collect::<Vec<_>>()
                .join("\n");
            let words = module_doc.split(|c: char| {
                !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
            });
            for word in words {
                let word = word.trim_end_matches('.');
                let names_a_file = word.ends_with(".rs")
                    && word.starts_with(|first: char| first.is_ascii_alphanumeric());
                if !names_a_file || word.starts_with("src/") {
                    // `src/...` in a test's doc is a path inside the project under test.
                    continue;
                }
                checked += 1;
                let candidates = [
                    file.parent().unwrap().join(word),
                    folder.join(word),
                    crate_directory.join(word),
                    root.join(word),
                ];
                if !candidates.iter().any(|candidate| candidate.is_file()) {
                    missing.push(format!("{}: {word}", relative(&file)));
                }
            }
        }
    }
    assert!(checked > 0, "no file names were found in the tests' docs");
    assert!(
        missing.is_empty(),
        "these test docs name files that do not exist (beside the test, in its crate or in the \
         repository); fix the name:\n  {}",
        missing.join("\n  ")
    );
}

/// `1.94` or `1.94.0` as `(1, 94, 0)`.
fn parse_version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|part| {
        part.parse::<u64>()
            .unwrap_or_else(|_| panic!("`{text}` is not a version"))
    });
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn the_declared_rust_version_covers_every_dependency_and_the_readme_says_it() {
    let root = repository_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"]
        .as_array()
        .expect("metadata lists packages");
    let members: BTreeSet<&str> = metadata["workspace_members"]
        .as_array()
        .expect("metadata lists the workspace members")
        .iter()
        .filter_map(|member| member.as_str())
        .collect();
    let rust_version_of = |package: &serde_json::Value| {
        package["rust_version"].as_str().map(|version| {
            (
                parse_version(version),
                version.to_string(),
                format!(
                    "{} {}",
                    package["name"].as_str().unwrap_or_default(),
                    package["version"].as_str().unwrap_or_default()
                ),
            )
        })
    };
    let needed = packages
        .iter()
        .filter(|package| !members.contains(package["id"].as_str().unwrap_or_default()))
        .filter_map(rust_version_of)
        .max()
        .expect("some dependency declares a rust-version");
    let declared: BTreeSet<String> = packages
        .iter()
        .filter(|package| members.contains(package["id"].as_str().unwrap_or_default()))
        .map(|package| {
            rust_version_of(package)
                .unwrap_or_else(|| panic!("{} declares no rust-version", package["name"]))
                .1
        })
        .collect();
    assert_eq!(
        declared.len(),
        1,
        "the workspace crates declare different rust-versions: {declared:?}; use `rust-version.workspace = true`"
    );
    let declared = declared.into_iter().next().unwrap();
    assert!(
        parse_version(&declared) >= needed.0,
        "the workspace declares rust-version {declared}, but {} needs Rust {}: raise \
         `rust-version` in Cargo.toml and the README's \"Rust X or newer\"",
        needed.2,
        needed.1
    );

    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let stated: Vec<&str> = readme
        .match_indices(" or newer")
        .filter_map(|(end, _)| {
            let before = &readme[..end];
            let version_start = before.rfind("Rust ")? + "Rust ".len();
            let version = &before[version_start..];
            version
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
                .then_some(version)
        })
        .collect();
    assert_eq!(
        stated,
        [declared.as_str()],
        "the README must say \"Rust {declared} or newer\" exactly once, the workspace's rust-version"
    );
}

// Import cycles between file modules.
//
// Each crate's module tree is found the way rustc finds it: from the crate root (`lib.rs`,
// `main.rs`, `bin/*.rs`) through its `mod name;` declarations. The text of every file is stripped
// of comments and literals, `#[cfg(test)]` items are dropped, and every path the rest names
// (`crate::a::B`, `super::B`, `self::child::C`, `child::C`, `use` trees with brace groups) is
// resolved to the longest prefix that is a file module. A module naming another one is an edge;
// an edge whose target reaches back to its source is part of a cycle.

/// The crate source trees whose file modules must not import each other in a circle.
const SOURCE_TREES: &[&str] = &[
    "compiler/core/src",
    "compiler/src",
    "runtime/src",
    "bench/src",
];

/// Cycles another branch is removing right now, so that main stays green until it lands; every
/// other cycle fails the test. Each entry is written as the test prints it. The test also fails
/// when an entry no longer exists, so the list only shrinks.
const CYCLES_BEING_REMOVED: &[&str] = &[];

/// Blanks out comments, string literals and character literals, keeping every newline so that
/// line numbers stay right: what is left is code, whose paths are references.
fn strip_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let length = chars.len();
    let is_identifier = |c: char| c.is_alphanumeric() || c == '_';
    let mut code = String::with_capacity(source.len());
    let mut index = 0;
    while index < length {
        let c = chars[index];
        let next = chars.get(index + 1).copied();
        // Where the comment or literal that starts here ends; `None` when none starts here.
        let end = if c == '/' && next == Some('/') {
            Some(
                (index..length)
                    .find(|&at| chars[at] == '\n')
                    .unwrap_or(length),
            )
        } else if c == '/' && next == Some('*') {
            // Block comments nest.
            let (mut at, mut depth) = (index + 2, 1);
            while at < length && depth > 0 {
                match (chars[at], chars.get(at + 1)) {
                    ('/', Some('*')) => (depth, at) = (depth + 1, at + 2),
                    ('*', Some('/')) => (depth, at) = (depth - 1, at + 2),
                    _ => at += 1,
                }
            }
            Some(at.min(length))
        } else if c == '"' {
            let mut at = index + 1;
            while at < length && chars[at] != '"' {
                at += if chars[at] == '\\' { 2 } else { 1 };
            }
            Some((at + 1).min(length))
        } else if c == '\'' && next == Some('\\') {
            // `'\n'`, `'\''`, `'\u{7b}'`.
            let closing = (index + 3..length).find(|&at| chars[at] == '\'');
            Some(closing.map_or(length, |at| at + 1))
        } else if c == '\'' && chars.get(index + 2) == Some(&'\'') {
            // `'x'`; a lifetime or a label (`'a`) has no closing quote, and stays.
            Some(index + 3)
        } else if is_identifier(c) {
            // A whole word at once, so that the `r` ending `bar` never starts a raw string.
            let word_end = (index..length)
                .find(|&at| !is_identifier(chars[at]))
                .unwrap_or(length);
            let word = String::from_iter(&chars[index..word_end]);
            let hashes = chars[word_end..].iter().take_while(|&&c| c == '#').count();
            let is_raw_string = matches!(word.as_str(), "r" | "br" | "cr")
                && chars.get(word_end + hashes) == Some(&'"');
            if !is_raw_string {
                code.push_str(&word);
                index = word_end;
                continue;
            }
            // `r#"..."#` ends at a quote followed by as many hashes as it starts with.
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let body = word_end + hashes + 1;
            let closing_at = (body..length).find(|&at| chars[at..].starts_with(&closing));
            Some(closing_at.map_or(length, |at| at + closing.len()))
        } else {
            None
        };
        match end {
            Some(end) => {
                for &stripped in &chars[index..end] {
                    code.push(if stripped == '\n' { '\n' } else { ' ' });
                }
                index = end;
            }
            None => {
                code.push(c);
                index += 1;
            }
        }
    }
    code
}

/// A word (`crate`, `Query`, `42u8`), `::` or one other character of stripped code, with its line.
#[derive(Clone, Debug)]
struct Token {
    text: String,
    line: usize,
}

fn tokenize(code: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        let mut text = c.to_string();
        if c == '\n' {
            line += 1;
            continue;
        } else if c.is_whitespace() {
            continue;
        } else if c.is_alphanumeric() || c == '_' {
            while let Some(&next) = chars
                .peek()
                .filter(|&&next| next.is_alphanumeric() || next == '_')
            {
                text.push(next);
                chars.next();
            }
        } else if c == ':' && chars.peek() == Some(&':') {
            text.push(chars.next().unwrap());
        }
        tokens.push(Token { text, line });
    }
    tokens
}

/// The index after the bracket group that opens at `open` (`(`, `[` or `{`).
fn after_group(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (at, token) in tokens.iter().enumerate().skip(open) {
        match token.text.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

fn texts_at(tokens: &[Token], at: usize, expected: &[&str]) -> bool {
    tokens.len() >= at + expected.len()
        && expected
            .iter()
            .enumerate()
            .all(|(offset, text)| tokens[at + offset].text == *text)
}

/// The tokens without the items marked `#[cfg(test)]` (test modules, inline or `mod tests;`,
/// and test-only functions or imports): tests may import anything.
fn without_test_items(tokens: Vec<Token>) -> Vec<Token> {
    let mut kept = Vec::with_capacity(tokens.len());
    let mut at = 0;
    while at < tokens.len() {
        if !texts_at(&tokens, at, &["#", "[", "cfg", "(", "test", ")", "]"]) {
            kept.push(tokens[at].clone());
            at += 1;
            continue;
        }
        at += 7;
        while texts_at(&tokens, at, &["#", "["]) {
            at = after_group(&tokens, at + 1);
        }
        // The item ends at a `;` or with the `}` of its body, outside any other brackets; a `)`
        // or `}` that closes what the item sits in ends it too (a field, say).
        let mut depth = 0usize;
        while at < tokens.len() {
            let text = tokens[at].text.as_str();
            match text {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" if depth == 0 => break,
                ")" | "]" | "}" => depth -= 1,
                _ => {}
            }
            at += 1;
            if depth == 0 && (text == ";" || text == "}") {
                break;
            }
        }
    }
    kept
}

/// A path as written in a module: `segments` from where it is written, `inline` being the names
/// of the inline modules (`mod name { ... }`) around it inside the file.
#[derive(Debug)]
struct WrittenPath {
    inline: Vec<String>,
    segments: Vec<String>,
    line: usize,
}

/// A `mod name;` declaration: the inline modules around it, the name, and how many levels up
/// the module that may name it is (1 for a private module, 2 for `pub(super)`, `usize::MAX` for
/// `pub` and `pub(crate)`).
#[derive(Debug)]
struct Declaration {
    inline: Vec<String>,
    name: String,
    visible_levels_up: usize,
}

/// What one file says about the module tree: the files it declares and every qualified path it
/// names.
#[derive(Debug, Default)]
struct ModuleText {
    declared: Vec<Declaration>,
    paths: Vec<WrittenPath>,
}

/// How many levels up from a module declared at `tokens[at]` (`mod`) its visibility reaches.
fn visible_levels_up(tokens: &[Token], at: usize) -> usize {
    let before = |back: usize| {
        at.checked_sub(back)
            .map(|index| tokens[index].text.as_str())
    };
    match (before(4), before(3), before(2), before(1)) {
        (_, _, _, Some("pub")) => usize::MAX,
        (Some("pub"), Some("("), Some("super"), Some(")")) => 2,
        (Some("pub"), Some("("), Some("self"), Some(")")) => 1,
        // `pub(crate)`, and `pub(in path)` taken as the widest it can be.
        (_, _, _, Some(")")) => usize::MAX,
        _ => 1,
    }
}

fn is_word(text: &str) -> bool {
    text.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// Reads the use tree or path that starts at `at` (`a::b::{c, d::E}`, `a::*`, `a::b::C::new`)
/// into `found`, one full path per leaf, and returns the index after it. `{self}` stands for the
/// path before the braces, and `*` too.
fn read_use_tree(
    tokens: &[Token],
    mut at: usize,
    mut prefix: Vec<String>,
    found: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        let Some(token) = tokens.get(at) else {
            found.push(prefix);
            return at;
        };
        match token.text.as_str() {
            "{" => {
                at += 1;
                while at < tokens.len() && tokens[at].text != "}" {
                    if tokens[at].text == "," {
                        at += 1;
                    } else {
                        let next = read_use_tree(tokens, at, prefix.clone(), found);
                        // Skip what the tree does not read, such as `as Alias`.
                        at = if next == at { at + 1 } else { next };
                        while at < tokens.len() && !matches!(tokens[at].text.as_str(), "," | "}") {
                            at += 1;
                        }
                    }
                }
                return at + 1;
            }
            "*" => {
                found.push(prefix);
                return at + 1;
            }
            "self" if !prefix.is_empty() => {
                found.push(prefix);
                return at + 1;
            }
            text if is_word(text) => {
                prefix.push(text.to_string());
                if tokens.get(at + 1).is_some_and(|next| next.text == "::") {
                    at += 2;
                } else {
                    found.push(prefix);
                    return at + 1;
                }
            }
            _ => {
                // `a::<T>` or a stray `::`: the path ends before this token.
                if !prefix.is_empty() {
                    found.push(prefix);
                }
                return at;
            }
        }
    }
}

/// Reads the declarations and the qualified paths of a file's tokens (tests already dropped).
fn read_module_text(tokens: &[Token]) -> ModuleText {
    let mut text = ModuleText::default();
    // The inline modules open at this point, with the brace depth inside each.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut at = 0;
    while at < tokens.len() {
        let token = tokens[at].text.as_str();
        match token {
            "{" => depth += 1,
            "}" => {
                if inline.last().is_some_and(|(_, inside)| *inside == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        let inline_names = || inline.iter().map(|(name, _)| name.clone()).collect();
        if token == "mod" && tokens.get(at + 1).is_some_and(|name| is_word(&name.text)) {
            let name = tokens[at + 1].text.clone();
            match tokens.get(at + 2).map(|token| token.text.as_str()) {
                Some(";") => text.declared.push(Declaration {
                    inline: inline_names(),
                    name,
                    visible_levels_up: visible_levels_up(tokens, at),
                }),
                Some("{") => inline.push((name, depth + 1)),
                _ => {}
            }
            at += 2;
            continue;
        }
        // Where a path starts: at a word followed by `::`, or at the braces of `use {a::b, c};`.
        // A path after `::` continues another one (`Type::<T>::new`, `::std::x`): it is read
        // and dropped.
        let next = tokens.get(at + 1).map(|next| next.text.as_str());
        let path_start = match (token, next) {
            ("::", _) => Some((at + 1, false)),
            ("use", Some("{")) => Some((at + 1, true)),
            (word, Some("::")) if is_word(word) => Some((at, true)),
            _ => None,
        };
        if let Some((start, kept)) = path_start {
            let mut found = Vec::new();
            let line = tokens[at].line;
            at = read_use_tree(tokens, start, Vec::new(), &mut found).max(at + 1);
            if kept {
                text.paths
                    .extend(found.into_iter().map(|segments| WrittenPath {
                        inline: inline_names(),
                        segments,
                        line,
                    }));
            }
            continue;
        }
        at += 1;
    }
    text
}

/// The module a path written in `location` (a file module plus the inline modules around the
/// path) names: the longest prefix of its full path that is a file module `location` may name,
/// or `None` for a path into another crate or into something local (`Type::new`). `modules` maps
/// each file module to the module whose code may name it (its parent, for a private module).
///
/// Visibility matters where a parent re-exports an item named like a private child module
/// (`pub use migrate::migrate;`): from outside, `crate::db::migrate` is the item in `db`.
fn resolve(
    location: &[String],
    segments: &[String],
    modules: &BTreeMap<Vec<String>, Vec<String>>,
) -> Option<Vec<String>> {
    let may_name = |module: &[String]| {
        (1..=module.len()).all(|length| {
            modules
                .get(&module[..length])
                .is_none_or(|scope| location.starts_with(scope))
        })
    };
    let mut full: Vec<String> = match segments.first()?.as_str() {
        "crate" => Vec::new(),
        "self" | "super" => location.to_vec(),
        // `child::Item` names a module declared here; any other first name is another crate's
        // or a local one.
        first => {
            let mut child = location.to_vec();
            child.push(first.to_string());
            if !modules.contains_key(&child) {
                return None;
            }
            location.to_vec()
        }
    };
    let mut rest = segments;
    if matches!(segments[0].as_str(), "crate" | "self") {
        rest = &segments[1..];
    }
    while rest.first().is_some_and(|segment| segment == "super") {
        // `super` past the crate root does not compile; it names nothing here.
        full.pop()?;
        rest = &rest[1..];
    }
    full.extend(rest.iter().cloned());
    (0..=full.len())
        .rev()
        .map(|length| full[..length].to_vec())
        .find(|prefix| modules.contains_key(prefix) && may_name(prefix))
}

/// A file module: where it is in the crate (`["db", "entity"]`), its file, relative to the
/// source tree (`db/entity.rs`), and the module whose code may name it (`["db"]` if private).
#[derive(Debug)]
struct FileModule {
    path: Vec<String>,
    file: String,
    scope: Vec<String>,
}

/// The first place one module names another.
#[derive(Debug)]
struct Reference {
    line: usize,
    written: String,
}

/// The file modules of one crate and the references between them.
///
/// A file is a module (`a/b.rs` and `a/b/mod.rs` are `a::b`, the crate root is `crate`), found
/// from the crate root through `mod name;` declarations. Module `m` references module `n` when
/// `m`'s code, without comments, literals and `#[cfg(test)]` items, names a path that resolves to
/// `n` or to an item in it: `crate::n::Item`, `super::Item` (the parent), `self::child::Item`,
/// `child::Item`, each leaf of `use` trees, `pub use` re-exports and paths inside code alike.
/// `mod child;` itself is containment, not a reference, and paths into other crates are ignored.
#[derive(Debug)]
struct ModuleGraph {
    modules: Vec<FileModule>,
    /// `(from, to)` module indices, with where `from` first names `to`.
    references: BTreeMap<(usize, usize), Reference>,
}

impl ModuleGraph {
    /// Reads the crate whose root is `root_file`, from `files` (its source tree, by path
    /// relative to the tree, with `/` separators).
    fn read(files: &BTreeMap<String, String>, root_file: &str) -> Result<ModuleGraph, String> {
        let mut modules = Vec::new();
        let mut texts = Vec::new();
        let mut pending = vec![(Vec::<String>::new(), root_file.to_string(), Vec::new())];
        while let Some((path, file, scope)) = pending.pop() {
            let source = &files[&file];
            let text = read_module_text(&without_test_items(tokenize(
                &strip_comments_and_literals(source),
            )));
            // A crate root and a `mod.rs` keep their children beside them; `a/b.rs` in `a/b/`.
            let directory = if path.is_empty() || file == "mod.rs" || file.ends_with("/mod.rs") {
                file.rsplit_once('/')
                    .map_or(String::new(), |(directory, _)| format!("{directory}/"))
            } else {
                format!("{}/", file.trim_end_matches(".rs"))
            };
            for declaration in &text.declared {
                let (inline, name) = (&declaration.inline, &declaration.name);
                let mut child_path = path.clone();
                child_path.extend(inline.iter().cloned());
                child_path.push(name.clone());
                let child_scope = child_path[..child_path
                    .len()
                    .saturating_sub(declaration.visible_levels_up)]
                    .to_vec();
                let base = format!(
                    "{directory}{}",
                    inline
                        .iter()
                        .map(|name| format!("{name}/"))
                        .collect::<String>()
                );
                let flat = format!("{base}{name}.rs");
                let nested = format!("{base}{name}/mod.rs");
                let child_file = if files.contains_key(&flat) {
                    flat
                } else if files.contains_key(&nested) {
                    nested
                } else {
                    return Err(format!(
                        "module `{}` is declared in {file}, but neither {flat} nor {nested} \
                         exists; this check follows modules at their default paths only, so \
                         move the file there instead of using `#[path]`",
                        module_name(&child_path)
                    ));
                };
                pending.push((child_path, child_file, child_scope));
            }
            modules.push(FileModule { path, file, scope });
            texts.push(text);
        }
        let index_of: BTreeMap<Vec<String>, usize> = modules
            .iter()
            .enumerate()
            .map(|(index, module)| (module.path.clone(), index))
            .collect();
        let known: BTreeMap<Vec<String>, Vec<String>> = modules
            .iter()
            .map(|module| (module.path.clone(), module.scope.clone()))
            .collect();
        let mut references = BTreeMap::new();
        for (from, text) in texts.iter().enumerate() {
            for written in &text.paths {
                let mut location = modules[from].path.clone();
                location.extend(written.inline.iter().cloned());
                let Some(target) = resolve(&location, &written.segments, &known) else {
                    continue;
                };
                let to = index_of[&target];
                if to != from {
                    references.entry((from, to)).or_insert_with(|| Reference {
                        line: written.line,
                        written: written.segments.join("::"),
                    });
                }
            }
        }
        Ok(ModuleGraph {
            modules,
            references,
        })
    }

    /// The shortest chain of references from `start` to `goal`, both included.
    fn shortest_chain(&self, start: usize, goal: usize) -> Option<Vec<usize>> {
        let mut came_from = vec![None; self.modules.len()];
        let mut queue = VecDeque::from([start]);
        came_from[start] = Some(start);
        while let Some(current) = queue.pop_front() {
            if current == goal {
                let mut chain = vec![goal];
                while *chain.last().unwrap() != start {
                    chain.push(came_from[*chain.last().unwrap()].unwrap());
                }
                chain.reverse();
                return Some(chain);
            }
            for &(_, next) in self
                .references
                .range((current, 0)..(current + 1, 0))
                .map(|(edge, _)| edge)
            {
                if came_from[next].is_none() {
                    came_from[next] = Some(current);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Every cycle, as module indices from the first file in sorted order round to it again:
    /// for each reference that takes part in one, the shortest cycle through it. So each
    /// import that closes a circle is shown once, however many circles share it.
    fn cycles(&self) -> Vec<Vec<usize>> {
        let mut cycles = BTreeSet::new();
        for &(from, to) in self.references.keys() {
            let Some(mut cycle) = self.shortest_chain(to, from) else {
                continue;
            };
            // `to -> ... -> from` plus the reference itself; start at the smallest file.
            cycle.insert(0, from);
            cycle.pop();
            let first = (0..cycle.len())
                .min_by_key(|&at| &self.modules[cycle[at]].file)
                .unwrap();
            cycle.rotate_left(first);
            cycle.push(cycle[0]);
            cycles.insert(cycle);
        }
        cycles.into_iter().collect()
    }

    /// A cycle as `a.rs -> b.rs -> a.rs` (files below `tree`), and what each module names.
    fn describe(&self, tree: &str, cycle: &[usize]) -> (String, String) {
        let file = |index: usize| format!("{tree}{}", self.modules[index].file);
        let line = cycle
            .iter()
            .map(|&index| file(index))
            .collect::<Vec<_>>()
            .join(" -> ");
        let details = cycle
            .windows(2)
            .map(|pair| {
                let reference = &self.references[&(pair[0], pair[1])];
                format!(
                    "      {}:{} names `{}` (module `{}`)",
                    file(pair[0]),
                    reference.line,
                    reference.written,
                    module_name(&self.modules[pair[1]].path)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        (line, details)
    }
}

fn module_name(path: &[String]) -> String {
    std::iter::once("crate")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::")
}

/// The crate roots of a source tree: `lib.rs`, `main.rs` and `bin/*.rs`.
fn crate_roots(files: &BTreeMap<String, String>) -> Vec<String> {
    files
        .keys()
        .filter(|file| {
            *file == "lib.rs"
                || *file == "main.rs"
                || file
                    .strip_prefix("bin/")
                    .is_some_and(|name| !name.contains('/'))
        })
        .cloned()
        .collect()
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = repository_root();
    let mut found = Vec::new();
    let mut module_count = 0;
    let mut reference_count = 0;
    for tree in SOURCE_TREES {
        let directory = root.join(tree);
        let files: BTreeMap<String, String> = rust_files(&directory)
            .into_iter()
            .map(|file| {
                let name = file
                    .strip_prefix(&directory)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                (
                    name,
                    fs::read_to_string(&file).expect("Rust files are UTF-8"),
                )
            })
            .collect();
        let roots = crate_roots(&files);
        assert!(
            !roots.is_empty(),
            "{tree} has no lib.rs, main.rs or bin/*.rs"
        );
        for crate_root in roots {
            let graph = ModuleGraph::read(&files, &crate_root)
                .unwrap_or_else(|message| panic!("{tree}/{crate_root}: {message}"));
            module_count += graph.modules.len();
            reference_count += graph.references.len();
            for cycle in graph.cycles() {
                found.push(graph.describe(&format!("{tree}/"), &cycle));
            }
        }
    }
    found.sort();
    // The rule must keep reading modules and references, or it checks nothing.
    assert!(
        module_count > 50 && reference_count > 50,
        "only {module_count} modules and {reference_count} references between them were found"
    );
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(line, _)| !CYCLES_BEING_REMOVED.contains(&line.as_str()))
        .map(|(line, details)| format!("  {line}\n{details}"))
        .collect();
    let gone: Vec<&str> = CYCLES_BEING_REMOVED
        .iter()
        .copied()
        .filter(|allowed| !found.iter().any(|(line, _)| line == allowed))
        .collect();
    assert!(
        unexpected.is_empty(),
        "these modules import, directly or through others, a module that imports them back; move \
         the item both need into a leaf module that both can import (or import it from the module \
         that defines it, not through a parent that re-exports it):\n{}",
        unexpected.join("\n")
    );
    assert!(
        gone.is_empty(),
        "these cycles in CYCLES_BEING_REMOVED no longer exist; delete them from the list:\n  {}",
        gone.join("\n  ")
    );
}

/// The crate made of `files` (path below `src/`, source), rooted at `lib.rs`.
fn graph_of(files: &[(&str, &str)]) -> ModuleGraph {
    let files: BTreeMap<String, String> = files
        .iter()
        .map(|(path, source)| (path.to_string(), source.to_string()))
        .collect();
    ModuleGraph::read(&files, "lib.rs").unwrap()
}

/// Every reference between the modules of `files`, as `from -> to`, sorted.
fn references_of(files: &[(&str, &str)]) -> Vec<String> {
    let graph = graph_of(files);
    let mut references: Vec<String> = graph
        .references
        .keys()
        .map(|&(from, to)| {
            format!(
                "{} -> {}",
                module_name(&graph.modules[from].path),
                module_name(&graph.modules[to].path)
            )
        })
        .collect();
    references.sort();
    references
}

/// Every cycle between the modules of `files`, as the test prints it.
fn cycles_of(files: &[(&str, &str)]) -> Vec<(String, String)> {
    let graph = graph_of(files);
    graph
        .cycles()
        .iter()
        .map(|cycle| graph.describe("src/", cycle))
        .collect()
}

#[test]
fn a_child_importing_from_the_parent_that_re_exports_it_is_a_cycle() {
    let cycles = cycles_of(&[
        ("lib.rs", "mod parent;"),
        (
            "parent.rs",
            "mod child;\npub use child::Thing;\npub struct Shared;",
        ),
        (
            "parent/child.rs",
            "use super::Shared;\npub struct Thing(Shared);",
        ),
    ]);
    assert_eq!(
        cycles,
        [(
            "src/parent.rs -> src/parent/child.rs -> src/parent.rs".to_string(),
            "      src/parent.rs:2 names `child::Thing` (module `crate::parent::child`)\n      \
             src/parent/child.rs:1 names `super::Shared` (module `crate::parent`)"
                .to_string()
        )]
    );
}

#[test]
fn a_cycle_through_three_modules_is_listed_once_from_its_first_file() {
    let cycles = cycles_of(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\npub fn f() { a::g(); }"),
        ("a.rs", "use crate::c::Z;"),
        ("b.rs", "pub fn b() { crate::a::Y::new() }"),
        ("c.rs", "mod d;\npub use super::b::X;"),
        ("c/d.rs", "use crate::b;"),
    ]);
    let lines: Vec<&str> = cycles.iter().map(|(line, _)| line.as_str()).collect();
    assert_eq!(lines, ["src/a.rs -> src/c.rs -> src/b.rs -> src/a.rs"]);
}

#[test]
fn use_trees_re_exports_and_inline_paths_are_references() {
    let references = references_of(&[
        ("lib.rs", "mod a;\nmod x;\nmod y;\nmod z;\nmod deep;"),
        ("a.rs", "pub mod b;\npub mod c;\npub struct A;"),
        ("a/b.rs", ""),
        ("a/c.rs", ""),
        ("x.rs", "use crate::a::{self as alias, b, c::D};"),
        ("y.rs", "pub use crate::z::Y;"),
        ("z.rs", "use {crate::a::A, super::y::*};"),
        ("deep.rs", "mod deeper;"),
        (
            "deep/deeper.rs",
            "use super::super::x;\nfn f() -> Vec<u8> { crate::y::Query::<u8>::new().run() }",
        ),
    ]);
    assert_eq!(
        references,
        [
            "crate::deep::deeper -> crate::x",
            "crate::deep::deeper -> crate::y",
            "crate::x -> crate::a",
            "crate::x -> crate::a::b",
            "crate::x -> crate::a::c",
            "crate::y -> crate::z",
            "crate::z -> crate::a",
            "crate::z -> crate::y",
        ]
    );
}

#[test]
fn comments_and_literals_name_no_module() {
    let references = references_of(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\nmod user;"),
        ("a.rs", ""),
        ("b.rs", ""),
        ("c.rs", ""),
        (
            "user.rs",
            r##"//! Uses [`crate::a::A`].
// use crate::a::A;
/* crate::a /* nested */ crate::a */
/// See [`super::a`].
const TEXT: &str = "crate::a::A \" super::a";
const RAW: &str = r#"crate::a::A " super::a"#;
const QUOTE: char = '"';
fn f<'a>(text: &'a str) -> &'a str { crate::b::g(text) }
const ESCAPED: char = '\'';
fn h() { crate::c::run() }
"##,
        ),
    ]);
    assert_eq!(
        references,
        ["crate::user -> crate::b", "crate::user -> crate::c"]
    );
}

#[test]
fn test_items_and_containment_name_no_module() {
    let graph = graph_of(&[
        // No `tests.rs` exists: the test module's file is not even looked for.
        ("lib.rs", "mod a;\nmod b;\n#[cfg(test)]\nmod tests;"),
        (
            "a.rs",
            "mod child;\npub(crate) struct S(u8);\nimpl S { pub(super) fn f(&self) -> u8 { self.0 } }",
        ),
        ("a/child.rs", "pub(super) fn g() {}"),
        (
            "b.rs",
            "#[cfg(test)]\n#[allow(unused)]\nmod tests {\n    use crate::a::S;\n}\n\
             #[cfg(test)]\nuse crate::a::S;\npub fn f() {}",
        ),
    ]);
    assert_eq!(graph.modules.len(), 4);
    assert!(graph.references.is_empty(), "{:?}", graph.references);
}

#[test]
fn other_crates_local_paths_and_inline_modules_name_no_module() {
    let references = references_of(&[
        ("lib.rs", "mod a;\nmod b;"),
        (
            "a.rs",
            "use appc_core::b::X;\nuse std::b;\nuse ::b::Y;\n\
             fn f() { Shape::b::new(); b::g(); }\n\
             pub mod inner {\n    use super::*;\n    use self::deeper::Z;\n    mod deeper {}\n}",
        ),
        ("b.rs", ""),
    ]);
    assert!(references.is_empty(), "{references:?}");
}

#[test]
fn an_item_named_like_a_private_module_is_the_parents_item_outside_it() {
    let references = references_of(&[
        ("lib.rs", "mod db;\nmod server;\npub mod open;"),
        (
            "db.rs",
            "mod migrate;\npub(super) mod shared;\npub use migrate::migrate;",
        ),
        ("db/migrate.rs", "pub fn migrate() {}"),
        ("db/shared.rs", ""),
        ("open.rs", "pub mod inner;"),
        ("open/inner.rs", ""),
        (
            "server.rs",
            "use crate::db::migrate;\nuse crate::db::shared::X;\nuse crate::open::inner::Y;",
        ),
    ]);
    assert_eq!(
        references,
        [
            "crate::db -> crate::db::migrate",
            "crate::server -> crate::db",
            "crate::server -> crate::db::shared",
            "crate::server -> crate::open::inner",
        ]
    );
}

#[test]
fn a_declared_module_without_its_file_is_reported() {
    let files: BTreeMap<String, String> = [("lib.rs", "mod a;"), ("a.rs", "mod gone;")]
        .iter()
        .map(|(path, source)| (path.to_string(), source.to_string()))
        .collect();
    let error = ModuleGraph::read(&files, "lib.rs").unwrap_err();
    assert_eq!(
        error,
        "module `crate::a::gone` is declared in a.rs, but neither a/gone.rs nor a/gone/mod.rs \
         exists; this check follows modules at their default paths only, so move the file there \
         instead of using `#[path]`"
    );
}
