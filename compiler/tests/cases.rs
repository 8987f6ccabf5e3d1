//! The analyzer's case directories: `tests/cases/<case>/main.wasp` plus an optional `src/` tree.
//!
//! Each case is one test, named after its directory (`compiler/build.rs` writes them), so
//! `cargo test -p appc --test cases <case>` runs one. A case is compiled for real through
//! `appc_core::compile`, with its `src/` tree loaded into `MemoryFiles`. A case with diagnostics
//! snapshots them rendered as plain text (message, `file:line:column`, the source line with carets
//! under the span, labels and help); a case with an IR (valid, or with warnings only) snapshots it
//! as JSON after its diagnostics. One snapshot per case,
//! named after its directory (`snapshots/cases__<case>.snap`). Update snapshots with
//! `INSTA_UPDATE=always cargo test --test cases` or `cargo insta review`.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;
#[path = "support/wasp_corpus.rs"]
mod wasp_corpus;

use appc_core::analysis::{self, MemoryFiles};
use appc_core::diagnostics::{ColorMode, SourceFile, render_all};
use appc_core::{Compiled, Stop, compile, syntax};
use std::fs;
use std::path::{Path, PathBuf};

/// One `#[test]` per case directory, and `CASE_NAMES`, written by `compiler/build.rs`.
mod case {
    include!(concat!(env!("OUT_DIR"), "/case_tests.rs"));
}

fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases")
}

/// Every file under `directory`, keyed by its path relative to `root` with '/' separators.
fn load_tree(root: &Path, directory: &Path, files: &mut MemoryFiles) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            load_tree(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("files lie under the case directory")
                .components()
                .map(|component| component.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let text = fs::read_to_string(&path).expect("case files are UTF-8");
            files.insert(relative, text);
        }
    }
}

/// The project at `directory` (`main.wasp` and its `src/` tree) through the front door.
fn compile_project(directory: &Path) -> (String, Compiled) {
    let source = fs::read_to_string(directory.join("main.wasp")).expect("project has main.wasp");
    let mut files = MemoryFiles::new();
    load_tree(directory, &directory.join("src"), &mut files);
    let compiled = compile(source.as_bytes(), &files, Stop::AfterAnalysis);
    (source, compiled)
}

/// What a case snapshots: rendered diagnostics, then the IR when there is one (a valid case has
/// only the IR, a warning case both).
fn case_output(source: &str, compiled: Compiled) -> String {
    let file = SourceFile {
        name: "main.wasp",
        text: source,
    };
    let rendered = render_all(&compiled.diagnostics, &file, ColorMode::Plain);
    let Some(spec) = compiled.spec else {
        return rendered;
    };
    let ir = serde_json::to_string_pretty(&spec).expect("the IR serializes");
    if rendered.is_empty() {
        ir
    } else {
        format!("{}\n\nIR:\n{ir}", rendered.trim_end())
    }
}

/// The test of one case directory: it parses cleanly (cases test analysis), its name says whether
/// it is valid, and its output matches its snapshot.
fn case_matches_its_snapshot(name: &str) {
    let case_directory = cases_root().join(name);
    let (source, compiled) = compile_project(&case_directory);
    let syntax_diagnostics =
        compile(source.as_bytes(), &MemoryFiles::new(), Stop::AfterParsing).diagnostics;
    assert!(
        syntax_diagnostics.is_empty(),
        "case {name} must parse cleanly (it tests analysis): {syntax_diagnostics:?}"
    );
    assert_eq!(
        compiled.spec.is_some(),
        !compiled.has_errors(),
        "the IR exists exactly when analysis found no errors"
    );
    case_name_says_whether_the_spec_is_valid(name, &compiled);
    let output = case_output(&source, compiled);
    let mut settings = insta::Settings::clone_current();
    settings.set_input_file(case_directory.join("main.wasp"));
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, output));
}

/// Valid cases must not be valid by accident: each case whose name starts with `valid_` produces
/// an IR, each `warning_` case produces an IR and only warnings, and every other case reports at
/// least one error.
fn case_name_says_whether_the_spec_is_valid(name: &str, compiled: &Compiled) {
    let diagnostics = &compiled.diagnostics;
    if name.starts_with("warning_") {
        assert!(
            compiled.spec.is_some(),
            "warning case {name} produced no IR"
        );
        assert!(
            !diagnostics.is_empty() && !compiled.has_errors(),
            "warning case {name} must have warnings and no errors: {diagnostics:?}"
        );
    } else if name.starts_with("valid_") {
        assert!(
            compiled.spec.is_some() && diagnostics.is_empty(),
            "valid case {name} must produce an IR and no diagnostics: {diagnostics:?}"
        );
    } else {
        assert!(
            compiled.spec.is_none(),
            "case {name} should report an error"
        );
        assert!(compiled.has_errors(), "case {name} has no error");
    }
}

/// The build script writes the case tests when `tests/cases/` changes; this catches a list that is
/// out of date anyway (a directory without its test, or a test whose directory is gone).
#[test]
fn every_case_directory_has_its_test() {
    let mut directories: Vec<String> = fs::read_dir(cases_root())
        .expect("tests/cases exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.join("main.wasp").is_file())
        .map(|path| {
            path.file_name()
                .expect("case directories have names")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    directories.sort();
    assert!(!directories.is_empty(), "no cases found");
    assert_eq!(
        directories,
        case::CASE_NAMES,
        "the generated case tests are out of date: run `touch tests/cases` and test again"
    );
}

/// The example apps in `examples/` pass the analyzer; their IR is snapshotted too
/// (`snapshots/cases__example_<name>.snap`), as the generators' reference input.
#[test]
fn examples_pass_the_analyzer() {
    let examples_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for name in ["chat", "todo", "uppercase"] {
        let example_directory = examples_root.join(name);
        let (source, compiled) = compile_project(&example_directory);
        let file = SourceFile {
            name: "main.wasp",
            text: &source,
        };
        assert!(
            compiled.diagnostics.is_empty(),
            "{name}:\n{}",
            render_all(&compiled.diagnostics, &file, ColorMode::Plain)
        );
        let spec = compiled.spec.expect("a clean compile has an IR");
        let json = serde_json::to_string_pretty(&spec).unwrap();
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(example_directory.join("main.wasp"));
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(format!("example_{name}"), json));
    }
}

/// The benchmark's synthetic project is a valid app, so that `benches/check.rs` measures the
/// whole analysis (a spec with errors stops before building the IR).
#[test]
fn the_synthetic_benchmark_project_passes_the_analyzer() {
    for size in [
        synthetic::SyntheticSize::SMALL,
        synthetic::SyntheticSize::LARGE,
    ] {
        let mut spec = String::new();
        let mut files = MemoryFiles::new();
        for (path, text) in synthetic::synthetic_project_files(size) {
            if path == "main.wasp" {
                spec = text;
            } else {
                files.insert(path, text);
            }
        }
        let compiled = compile(spec.as_bytes(), &files, Stop::AfterAnalysis);
        let file = SourceFile {
            name: "main.wasp",
            text: &spec,
        };
        // Warnings are fine (the generator's app redirects to `/login`, which no route serves);
        // errors (in the syntax or the analysis) would leave no IR.
        assert!(
            !compiled.has_errors(),
            "{}",
            render_all(
                &compiled.diagnostics[..compiled.diagnostics.len().min(5)],
                &file,
                ColorMode::Plain
            )
        );
        let spec = compiled.spec.expect("a clean compile has an IR");
        assert_eq!(spec.namespaces.len(), size.namespaces + 1);
        assert_eq!(spec.pages.len(), size.pages);
    }
}

/// Real Wasp specs are a good source of everything a user may write: analyzing every corpus file
/// that parses must not panic, must point every label inside the file, and must keep the IR
/// exactly for error-free specs. (Most of them are rejected: their code is JavaScript, not Rust.)
/// This checks the analysis stage alone, on purpose, so it calls the parser and the analyzer
/// itself instead of `compile`.
#[test]
fn analyzing_the_wasp_corpus_never_panics_and_spans_stay_in_the_file() {
    let Some(corpus) = wasp_corpus::directory() else {
        return;
    };
    let paths = wasp_corpus::wasp_files(&corpus);
    let mut analyzed = 0;
    for path in &paths {
        let source = fs::read_to_string(path).expect("corpus files are UTF-8");
        let parsed = syntax::parse(&source);
        if !parsed.diagnostics.is_empty() {
            continue;
        }
        analyzed += 1;
        let analysis = analysis::analyze(&parsed.module, &MemoryFiles::new());
        assert_eq!(
            analysis.spec.is_some(),
            !analysis.diagnostics.iter().any(|d| d.is_error()),
            "{}",
            path.display()
        );
        for diagnostic in &analysis.diagnostics {
            for label in std::iter::once(&diagnostic.primary).chain(&diagnostic.secondary) {
                assert!(
                    label.span.start <= label.span.end && label.span.end <= source.len(),
                    "{}: label out of the file: {diagnostic:?}",
                    path.display()
                );
            }
        }
        let file = SourceFile {
            name: "main.wasp",
            text: &source,
        };
        let rendered = render_all(&analysis.diagnostics, &file, ColorMode::Plain);
        assert_eq!(rendered.is_empty(), analysis.diagnostics.is_empty());
    }
    assert!(analyzed > 30, "only {analyzed} corpus files were analyzed");
}

/// What appc says about Wasp's own websockets example: the JavaScript `fn` of its socket and of its
/// operations, each named precisely.
#[test]
fn the_wasp_websockets_example_is_explained() {
    let Some(corpus) = wasp_corpus::directory() else {
        return;
    };
    let path = corpus.join("newer/waspc/examples/websockets-test/main.wasp");
    let source = fs::read_to_string(&path).expect("the websockets example is in the corpus");
    // The example parses cleanly, so every diagnostic is the analysis's.
    let compiled = compile(source.as_bytes(), &MemoryFiles::new(), Stop::AfterAnalysis);
    let file = SourceFile {
        name: "main.wasp",
        text: &source,
    };
    let rendered = render_all(&compiled.diagnostics, &file, ColorMode::Plain);
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("wasp_corpus_websockets_test", rendered);
    });
}
