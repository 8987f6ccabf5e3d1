//! Repository-wide rules that no compiler checks, in the manner of rust-analyzer's `tidy.rs`:
//!
//! - every Rust module of the workspace crates (their `src/` trees and build scripts) starts
//!   with a `//!` doc saying what it owns;
//! - every language case directory under `tests/cases/` is named in `spec/semantics.md`;
//! - every repository path the documentation cites exists (see [`cited_paths`] for what counts
//!   as a path), and every `.rs` file a test's or benchmark's module doc names exists;
//! - the workspace's `rust-version` is at least what every dependency declares (read from
//!   `cargo metadata`), and the README's "Rust X or newer" says the same version.

use std::collections::BTreeSet;
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
