//! The generated web client against the real tools: the examples' projects (the SDK, the routes
//! and the team's pages) pass a strict `tsc --noEmit`, and a page that misuses the typed SDK
//! makes `appc build` fail with tsc's errors pointing at the team's file.
//!
//! Each test works on a copy of a project in a temporary folder, so the examples' own `.appc/`
//! folders are left to the end-to-end tests. npm installs from its cache after the first run.
//! Node.js and npm must be on PATH (scripts/test.sh runs `npm ci` for the e2e tests anyway).

use appc::analysis::{self, MemoryFiles};
use appc::cli::web;
use appc::syntax;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate is inside the workspace")
        .to_path_buf()
}

/// Copies `main.wasp` and `src/` of `project` into a fresh temporary folder.
fn copy_project(project: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(project.join("main.wasp"), copy.path().join("main.wasp")).unwrap();
    copy_folder(&project.join("src"), &copy.path().join("src"));
    copy
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The IR of a project on disk (its team files read into memory for the import checks).
fn analyzed(project: &Path) -> analysis::ir::AppSpec {
    let spec_text = std::fs::read_to_string(project.join("main.wasp")).unwrap();
    let mut files = MemoryFiles::new();
    for folder in ["src/server", "src/client"] {
        let Ok(entries) = std::fs::read_dir(project.join(folder)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let relative = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            files.insert(relative, std::fs::read_to_string(&path).unwrap());
        }
    }
    let parsed = syntax::parse(&spec_text);
    analysis::analyze(&parsed.module, &files)
        .spec
        .expect("the project has no errors")
}

/// Generates, installs and type-checks the web project of a copy of `examples/<example>`.
fn typecheck_example(example: &str) {
    let project = copy_project(&repository_root().join("examples").join(example));
    let spec = analyzed(project.path());
    let (web_dir, summary) = web::write_web_project(project.path(), &spec)
        .unwrap()
        .expect("the example has pages");
    assert!(!summary.written.is_empty());
    web::install_web_dependencies(&web_dir, false).unwrap();
    assert!(
        web_dir.join("node_modules/.bin/tsc").exists(),
        "npm installed typescript"
    );
    web::typecheck_web(&web_dir, false).unwrap_or_else(|error| {
        panic!("the generated web project of `{example}` does not type-check: {error:#}")
    });
}

#[test]
fn the_chat_web_project_type_checks_strictly() {
    typecheck_example("chat");
}

#[test]
fn the_uppercase_web_project_type_checks_strictly() {
    typecheck_example("uppercase");
}

#[test]
fn a_page_that_misuses_the_typed_sdk_fails_appc_build_naming_the_page() {
    let project = copy_project(&repository_root().join("examples/chat"));
    // A misspelled event, a payload of the wrong type, and a listener expecting the wrong payload.
    std::fs::write(
        project.path().join("src/client/MainPage.tsx"),
        "import { useSocket, useSocketListener } from '@appc/webSocket';\n\
         \n\
         export function MainPage() {\n\
         \x20 const { socket } = useSocket();\n\
         \x20 useSocketListener('chatHistory', (history: number) => console.log(history));\n\
         \x20 socket.emit('chatMesage', 'hello');\n\
         \x20 socket.emit('chatMessage', 42);\n\
         \x20 return <h1>Chat</h1>;\n\
         }\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_appc"))
        .args(["build", "--debug", "--color", "never"])
        .arg(project.path())
        .output()
        .expect("the appc binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for line in [5, 6, 7] {
        assert!(
            stderr.contains(&format!("src/client/MainPage.tsx({line},")),
            "tsc reports line {line} of the team's page:\n{stderr}"
        );
    }
    assert!(stderr.contains("chatMesage"), "{stderr}");
    assert!(
        !stderr.contains("ext-src"),
        "the messages name the team's file, not the generated copy:\n{stderr}"
    );
    assert!(stderr.contains("tsc failed"), "{stderr}");
    assert!(
        !stderr.contains("Compiling"),
        "the server is not compiled after a type error:\n{stderr}"
    );
}

#[test]
fn a_second_generation_rewrites_nothing_and_removes_deleted_team_files() {
    let project = copy_project(&repository_root().join("examples/chat"));
    let spec = analyzed(project.path());
    let extra = project.path().join("src/client/Extra.tsx");
    std::fs::write(&extra, "export const extra = 1;\n").unwrap();
    let (web_dir, first) = web::write_web_project(project.path(), &spec)
        .unwrap()
        .unwrap();
    assert!(web_dir.join("src/ext-src/client/Extra.tsx").is_file());
    assert!(first.removed.is_empty());

    std::fs::remove_file(&extra).unwrap();
    let (_, second) = web::write_web_project(project.path(), &spec)
        .unwrap()
        .unwrap();
    assert!(second.written.is_empty(), "{:?}", second.written);
    assert_eq!(
        second.removed,
        vec![web_dir.join("src/ext-src/client/Extra.tsx")]
    );
}
