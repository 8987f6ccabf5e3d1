//! The analyzer's case directories: `tests/cases/<case>/main.wasp` plus an optional `src/` tree.
//!
//! Each case is parsed and analyzed for real, with its `src/` tree loaded into `MemoryFiles`. A case
//! with diagnostics snapshots them rendered as plain text (message, `file:line:column`, the source
//! line with carets under the span, labels and help); a valid case snapshots its IR as JSON. One
//! snapshot per case, named after its directory (`snapshots/cases__<case>.snap`). Update snapshots
//! with `INSTA_UPDATE=always cargo test --test cases` or `cargo insta review`.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;
#[path = "support/wasp_corpus.rs"]
mod wasp_corpus;

use appc_core::analysis::{self, MemoryFiles};
use appc_core::diagnostics::{ColorMode, SourceFile, render_all};
use appc_core::syntax;
use std::fs;
use std::path::{Path, PathBuf};

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

/// What a case snapshots: rendered diagnostics, or the IR when there are none.
fn run_case(case_directory: &Path) -> String {
    let source = fs::read_to_string(case_directory.join("main.wasp")).expect("case has main.wasp");
    let mut files = MemoryFiles::new();
    load_tree(case_directory, &case_directory.join("src"), &mut files);
    let parsed = syntax::parse(&source);
    let analysis = analysis::analyze(&parsed.module, &files);
    assert_eq!(
        analysis.spec.is_some(),
        !analysis.diagnostics.iter().any(|d| d.is_error()),
        "the IR exists exactly when analysis found no errors"
    );
    let mut diagnostics = parsed.diagnostics;
    diagnostics.extend(analysis.diagnostics);
    if diagnostics.is_empty() {
        let spec = analysis
            .spec
            .expect("a spec without diagnostics always has an IR");
        return serde_json::to_string_pretty(&spec).expect("the IR serializes");
    }
    let file = SourceFile {
        name: "main.wasp",
        text: &source,
    };
    render_all(&diagnostics, &file, ColorMode::Plain)
}

#[test]
fn every_case_matches_its_snapshot() {
    let mut case_directories: Vec<PathBuf> = fs::read_dir(cases_root())
        .expect("tests/cases exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.join("main.wasp").is_file())
        .collect();
    case_directories.sort();
    assert!(!case_directories.is_empty(), "no cases found");
    let mut failures = Vec::new();
    for case_directory in &case_directories {
        let name = case_directory
            .file_name()
            .expect("case directories have names")
            .to_string_lossy()
            .into_owned();
        let output = run_case(case_directory);
        // Each case is checked on its own so that one mismatch does not hide the others.
        let result = std::panic::catch_unwind(|| {
            let mut settings = insta::Settings::clone_current();
            settings.set_input_file(case_directory.join("main.wasp"));
            settings.set_omit_expression(true);
            settings.bind(|| insta::assert_snapshot!(name.as_str(), output));
        });
        if result.is_err() {
            failures.push(name);
        }
    }
    assert!(
        failures.is_empty(),
        "cases that differ from their snapshots: {failures:?}"
    );
}

/// The example apps in `examples/` pass the analyzer; their IR is snapshotted too
/// (`snapshots/cases__example_<name>.snap`), as the generators' reference input.
#[test]
fn examples_pass_the_analyzer() {
    let examples_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for name in ["chat", "uppercase"] {
        let example_directory = examples_root.join(name);
        let source = fs::read_to_string(example_directory.join("main.wasp")).unwrap();
        let mut files = MemoryFiles::new();
        load_tree(
            &example_directory,
            &example_directory.join("src"),
            &mut files,
        );
        let parsed = syntax::parse(&source);
        assert!(
            parsed.diagnostics.is_empty(),
            "{name}: {:?}",
            parsed.diagnostics
        );
        let analysis = analysis::analyze(&parsed.module, &files);
        let file = SourceFile {
            name: "main.wasp",
            text: &source,
        };
        assert!(
            analysis.diagnostics.is_empty(),
            "{name}:\n{}",
            render_all(&analysis.diagnostics, &file, ColorMode::Plain)
        );
        let spec = analysis.spec.expect("a clean analysis has an IR");
        let json = serde_json::to_string_pretty(&spec).unwrap();
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(example_directory.join("main.wasp"));
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(format!("example_{name}"), json));
    }
}

/// Valid cases must not be valid by accident: each case whose name starts with `valid_` produces
/// an IR, each `warning_` case produces an IR and only warnings, and every other case reports at
/// least one error.
#[test]
fn case_names_say_whether_the_spec_is_valid() {
    for entry in fs::read_dir(cases_root()).expect("tests/cases exists") {
        let case_directory = entry.expect("readable directory entry").path();
        if !case_directory.join("main.wasp").is_file() {
            continue;
        }
        let name = case_directory
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let source = fs::read_to_string(case_directory.join("main.wasp")).unwrap();
        let mut files = MemoryFiles::new();
        load_tree(&case_directory, &case_directory.join("src"), &mut files);
        let parsed = syntax::parse(&source);
        assert!(
            parsed.diagnostics.is_empty(),
            "case {name} must parse cleanly (it tests analysis): {:?}",
            parsed.diagnostics
        );
        let analysis = analysis::analyze(&parsed.module, &files);
        if name.starts_with("warning_") {
            assert!(
                analysis.spec.is_some(),
                "warning case {name} produced no IR"
            );
            assert!(
                !analysis.diagnostics.is_empty()
                    && analysis.diagnostics.iter().all(|d| !d.is_error()),
                "warning case {name} must have warnings and no errors: {:?}",
                analysis.diagnostics
            );
        } else if name.starts_with("valid_") {
            assert!(
                analysis.spec.is_some() && analysis.diagnostics.is_empty(),
                "valid case {name} must produce an IR and no diagnostics: {:?}",
                analysis.diagnostics
            );
        } else {
            assert!(
                analysis.spec.is_none(),
                "case {name} should report an error"
            );
            assert!(
                analysis.diagnostics.iter().any(|d| d.is_error()),
                "case {name} has no error"
            );
        }
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
        let parsed = syntax::parse(&spec);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let analysis = analysis::analyze(&parsed.module, &files);
        let file = SourceFile {
            name: "main.wasp",
            text: &spec,
        };
        // Warnings are fine (the generator's app redirects to `/login`, which no route serves);
        // errors would stop the analysis before the IR.
        assert!(
            !analysis.diagnostics.iter().any(|d| d.is_error()),
            "{}",
            render_all(
                &analysis.diagnostics[..analysis.diagnostics.len().min(5)],
                &file,
                ColorMode::Plain
            )
        );
        let spec = analysis.spec.expect("a clean analysis has an IR");
        assert_eq!(spec.namespaces.len(), size.namespaces + 1);
        assert_eq!(spec.pages.len(), size.pages);
    }
}

/// Real Wasp specs are a good source of everything a user may write: analyzing every corpus file
/// that parses must not panic, must point every label inside the file, and must keep the IR
/// exactly for error-free specs. (Most of them are rejected: their code is JavaScript, not Rust.)
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

/// What appc says about Wasp's own websockets example: the JavaScript `fn` and the operations it
/// does not generate yet, each named precisely.
#[test]
fn the_wasp_websockets_example_is_explained() {
    let Some(corpus) = wasp_corpus::directory() else {
        return;
    };
    let path = corpus.join("newer/waspc/examples/websockets-test/main.wasp");
    let source = fs::read_to_string(&path).expect("the websockets example is in the corpus");
    let parsed = syntax::parse(&source);
    assert!(parsed.diagnostics.is_empty());
    let analysis = analysis::analyze(&parsed.module, &MemoryFiles::new());
    let file = SourceFile {
        name: "main.wasp",
        text: &source,
    };
    let rendered = render_all(&analysis.diagnostics, &file, ColorMode::Plain);
    insta::with_settings!({ omit_expression => true }, {
        insta::assert_snapshot!("wasp_corpus_websockets_test", rendered);
    });
}
