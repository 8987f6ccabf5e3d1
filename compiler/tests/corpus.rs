//! Parses every `.wasp` file of the Wasp corpus (`shared/wasp-corpus` beside the repository, or
//! `$APPC_WASP_CORPUS`): real files must parse without a diagnostic, and the deliberately invalid
//! parser-test inputs must be rejected at the places Wasp's own parser reports.
//!
//! The corpus is another project's data and is not copied into this repository; where it is
//! absent the tests say so loudly and pass, except in CI (`CI` set), where they fail.

#[path = "support/wasp_corpus.rs"]
mod wasp_corpus;

use appc_core::diagnostics::{ColorMode, SourceFile, render_all};
use appc_core::syntax;
use std::path::Path;

/// The deliberately invalid inputs under `v0.17/waspc/test/Analyzer/ParserTest/parseStatementsTests/`.
const INVALID_FILES: &[&str] = &[
    "dictMissingComma",
    "dictNoCloseBracket",
    "dictRecovery",
    "listRecovery",
    "stmtRecovery",
    "quoterSelfNested",
    "quoterTwoClosingTags",
    "quoterUnmatchedTags",
    "unexpectedToken",
    "unrecognizedCharacter",
];

const INVALID_DIRECTORY: &str = "v0.17/waspc/test/Analyzer/ParserTest/parseStatementsTests";

fn is_invalid(corpus: &Path, path: &Path) -> bool {
    INVALID_FILES
        .iter()
        .any(|name| path == corpus.join(INVALID_DIRECTORY).join(format!("{name}.wasp")))
}

/// Wasp's language-server tests keep editor fixtures in `.wasp` files: they start with a
/// `//! test/...` header and mark the cursor with `|` and a line holding only `^` under it, so they
/// are not Wasp source as they stand.
fn is_language_server_fixture(text: &str) -> bool {
    text.starts_with("//! test/")
}

/// The fixture as the editor saw it: without the cursor marks. (The header is a `//` comment.)
fn without_cursor_marks(text: &str) -> String {
    text.lines()
        .filter(|line| line.trim() != "^")
        .map(|line| line.replacen('|', "", 1) + "\n")
        .collect()
}

fn cursor_stands_for_a_missing_value(text: &str) -> bool {
    text.lines().any(|line| {
        line.trim_end()
            .strip_suffix('}')
            .is_some_and(|before| before.trim_end().ends_with(':'))
    })
}

fn rendered(name: &str, text: &str, diagnostics: &[appc_core::diagnostics::Diagnostic]) -> String {
    render_all(diagnostics, &SourceFile { name, text }, ColorMode::Plain)
}

#[test]
fn every_valid_corpus_file_parses_without_diagnostics() {
    let Some(corpus) = wasp_corpus::directory() else {
        return;
    };
    let files = wasp_corpus::wasp_files(&corpus);
    assert!(
        files.len() > 50,
        "expected the corpus to hold many files, found {}",
        files.len()
    );
    let mut failures = String::new();
    let mut valid_count = 0;
    let mut declaration_count = 0;
    for path in files.iter().filter(|path| !is_invalid(&corpus, path)) {
        let mut text = std::fs::read_to_string(path).expect("corpus files are UTF-8");
        if is_language_server_fixture(&text) {
            text = without_cursor_marks(&text);
            if cursor_stands_for_a_missing_value(&text) {
                // e.g. `to: | }`: the editor asks for completion where a value is still missing,
                // so the file is incomplete and must be rejected right at the cursor.
                let parsed = syntax::parse(&text);
                assert_eq!(parsed.diagnostics.len(), 1, "{}", path.display());
                assert_eq!(
                    &text[parsed.diagnostics[0].primary.span.start..][..1],
                    "}",
                    "{}",
                    path.display()
                );
                continue;
            }
        }
        valid_count += 1;
        let parsed = syntax::parse(&text);
        let name = path
            .strip_prefix(&corpus)
            .unwrap_or(path)
            .display()
            .to_string();
        if !parsed.diagnostics.is_empty() {
            failures.push_str(&rendered(&name, &text, &parsed.diagnostics));
        }
        // A file with a declaration in it must produce declarations (nestedQuoters.wasp is
        // empty and comment-only files have none).
        let has_declaration_text = text.lines().any(|line| {
            line.chars()
                .next()
                .is_some_and(|first| first.is_ascii_alphabetic())
        });
        if has_declaration_text && parsed.module.decls.is_empty() {
            failures.push_str(&format!("{name}: no declarations were built\n"));
        }
        declaration_count += parsed.module.decls.len();
    }
    assert!(
        failures.is_empty(),
        "valid corpus files were rejected:\n{failures}"
    );
    eprintln!(
        "parsed {valid_count} valid corpus files ({declaration_count} declarations) without diagnostics"
    );
}

/// 1-based `(line, first column, last column)` of a byte span, the way Wasp reports positions.
fn wasp_position(text: &str, span: appc_core::syntax::ast::Span) -> (usize, usize, usize) {
    let line_start = text[..span.start]
        .rfind('\n')
        .map_or(0, |newline| newline + 1);
    let line = text[..span.start].matches('\n').count() + 1;
    let first = text[line_start..span.start].chars().count() + 1;
    let last = first + text[span.start..span.end].chars().count() - 1;
    (line, first, last)
}

#[test]
fn invalid_parser_test_inputs_are_rejected_with_precise_diagnostics() {
    let Some(corpus) = wasp_corpus::directory() else {
        return;
    };
    for name in INVALID_FILES {
        let path = corpus.join(INVALID_DIRECTORY).join(format!("{name}.wasp"));
        let text = std::fs::read_to_string(&path).expect("invalid corpus file is readable");
        let parsed = syntax::parse(&text);
        assert!(!parsed.diagnostics.is_empty(), "{name}.wasp was accepted");
        let file_name = format!("{name}.wasp");
        insta::assert_snapshot!(
            format!("corpus_invalid_{name}"),
            rendered(&file_name, &text, &parsed.diagnostics)
        );
    }
}

#[test]
fn reference_positions_match_wasps_parser() {
    let Some(corpus) = wasp_corpus::directory() else {
        return;
    };
    let read = |name: &str| {
        std::fs::read_to_string(corpus.join(INVALID_DIRECTORY).join(format!("{name}.wasp")))
            .expect("invalid corpus file is readable")
    };

    let text = read("unexpectedToken");
    let diagnostics = syntax::parse(&text).diagnostics;
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        wasp_position(&text, diagnostics[0].primary.span),
        (1, 6, 18)
    );
    assert!(diagnostics[0].message.contains("found a string"));

    let text = read("stmtRecovery");
    let diagnostics = syntax::parse(&text).diagnostics;
    let positions: Vec<_> = diagnostics
        .iter()
        .map(|diagnostic| wasp_position(&text, diagnostic.primary.span))
        .collect();
    assert_eq!(positions, [(3, 5, 21), (8, 14, 18)]);
    assert!(
        diagnostics
            .iter()
            .all(|diagnostic| diagnostic.message == "a tuple needs at least 2 items, found 1")
    );
}

#[test]
fn a_missing_corpus_is_skipped_locally_and_fails_in_ci() {
    let missing = tempfile::tempdir()
        .expect("a temporary folder")
        .path()
        .join("no-corpus-here");
    assert_eq!(wasp_corpus::locate(Some(missing.clone()), false), Ok(None));
    let error = wasp_corpus::locate(Some(missing), true).expect_err("CI fails without the corpus");
    assert!(error.contains("APPC_WASP_CORPUS"), "{error}");
    let present = tempfile::tempdir().expect("a temporary folder");
    assert_eq!(
        wasp_corpus::locate(Some(present.path().to_path_buf()), true),
        Ok(Some(present.path().to_path_buf()))
    );
}
