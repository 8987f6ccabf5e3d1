//! Embeds the `appc new` templates (`main.wasp`, `src/` and `migrations/` of `examples/chat` and
//! of `templates/new/minimal`) in the `appc` binary, and writes one `#[test]` per language case
//! directory (`tests/cases/<case>/`) for `tests/cases.rs`. The folders are walked so that a file
//! or case added to them is picked up without editing anything here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let workspace_dir = manifest_dir
        .parent()
        .expect("the compiler crate lives inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    // The `appc new` templates: the chat example as it is in `examples/chat` (so a new project
    // always matches the example the tests run), and the minimal app in `templates/new/minimal`.
    let mut templates = String::new();
    for (constant, template_dir) in [
        ("CHAT_TEMPLATE", workspace_dir.join("examples/chat")),
        (
            "MINIMAL_TEMPLATE",
            workspace_dir.join("templates/new/minimal"),
        ),
    ] {
        let mut files = vec![template_dir.join("main.wasp")];
        collect_template_files(&template_dir.join("src"), &mut files);
        // A template with entities carries its migrations, so a new project's first
        // `appc build` serves in production without running `appc db migrate` first.
        collect_template_files(&template_dir.join("migrations"), &mut files);
        files.sort();
        writeln!(templates, "pub const {constant}: &[(&str, &str)] = &[")
            .expect("writing to a String cannot fail");
        for path in &files {
            let relative = relative_slash_path(path, &template_dir);
            writeln!(
                templates,
                "    ({relative:?}, include_str!({:?})),",
                path.display().to_string()
            )
            .expect("writing to a String cannot fail");
            println!("cargo::rerun-if-changed={}", path.display());
        }
        templates.push_str("];\n");
        // Only folders that exist: cargo reruns a script on every build for a missing path.
        for folder in ["src", "migrations"]
            .into_iter()
            .filter(|folder| template_dir.join(folder).is_dir())
        {
            println!(
                "cargo::rerun-if-changed={}",
                template_dir.join(folder).display()
            );
        }
    }
    std::fs::write(out_dir.join("embedded_templates.rs"), templates).expect("OUT_DIR is writable");

    let case_tests = case_tests(&workspace_dir.join("tests/cases"));
    std::fs::write(out_dir.join("case_tests.rs"), case_tests).expect("OUT_DIR is writable");
}

/// One `#[test]` per directory of `cases_dir` that holds a `main.wasp`, named after the directory,
/// so that `cargo test -p appc --test cases <case>` runs one case. Each calls
/// `case_matches_its_snapshot`, defined in `tests/cases.rs`; `CASE_NAMES` lists them all, so the
/// test file can check that no directory was missed.
fn case_tests(cases_dir: &Path) -> String {
    // A directory is watched with everything below it: a new case directory reruns this script.
    println!("cargo::rerun-if-changed={}", cases_dir.display());
    let mut names: Vec<String> = std::fs::read_dir(cases_dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", cases_dir.display()))
        .flatten()
        .filter(|entry| entry.path().join("main.wasp").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut tests = String::new();
    for name in &names {
        let is_identifier = name.starts_with(|first: char| first.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        assert!(
            is_identifier,
            "the case directory `{name}` must be named in snake_case (it becomes a test function)"
        );
        writeln!(
            tests,
            "#[test]\nfn {name}() {{\n    super::case_matches_its_snapshot({name:?});\n}}\n"
        )
        .expect("writing to a String cannot fail");
    }
    writeln!(tests, "pub const CASE_NAMES: &[&str] = &{names:?};")
        .expect("writing to a String cannot fail");
    tests
}

/// `path` relative to `base`, with `/` separators.
fn relative_slash_path(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .expect("every collected file is inside its base folder")
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every file of a template's `src/`, recursively, except build output and dependencies a
/// local build of the example may have left there.
fn collect_template_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            println!("cargo::rerun-if-changed={}", path.display());
            collect_template_files(&path, files);
        } else {
            files.push(path);
        }
    }
}
