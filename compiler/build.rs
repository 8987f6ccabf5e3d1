//! Embeds the `appc new` templates (`main.wasp` and `src/` of `examples/chat` and of
//! `templates/new/minimal`) in the `appc` binary. The folders are walked so that a file added to
//! them is picked up without editing anything here.

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
        println!(
            "cargo::rerun-if-changed={}",
            template_dir.join("src").display()
        );
    }
    std::fs::write(out_dir.join("embedded_templates.rs"), templates).expect("OUT_DIR is writable");
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
