//! The server generator's output for the example apps, as insta snapshots that hold the whole
//! generated crate (formatted with rustfmt, as `appc build` writes it), so a change to a template
//! shows up in review as a change to real generated code. The end-to-end tests (e2e.rs) compile
//! and run the same output. The web client's files are snapshotted the same way (web.rs
//! type-checks them with the real tsc). Update with `INSTA_UPDATE=always cargo test --test codegen`.

use appc_core::analysis::MemoryFiles;
use appc_core::codegen::server::{self, ServerOptions};
use appc_core::codegen::web::{self, WebOptions};
use appc_core::{Stop, compile};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The generated server crate of `examples/<example>` (without the embedded runtime and the
/// workspace manifest, which are copies of appc's own files), formatted, in one text.
fn generated_server(example: &str) -> String {
    generated_server_files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(example),
        |path| path.starts_with("server/"),
    )
}

/// The generated files of the project at `project` whose paths `wanted` accepts, as
/// [`generated_server`] shows them.
fn generated_server_files(project: &Path, wanted: impl Fn(&str) -> bool) -> String {
    let spec_text = std::fs::read_to_string(project.join("main.wasp")).unwrap();
    let mut files = MemoryFiles::new();
    let mut team_files = Vec::new();
    for entry in std::fs::read_dir(project.join("src/server")).unwrap() {
        let path = entry.unwrap().path();
        let relative = format!("src/server/{}", path.file_name().unwrap().to_string_lossy());
        files.insert(relative.clone(), std::fs::read_to_string(&path).unwrap());
        team_files.push(relative);
    }
    team_files.sort();
    // A project without pages has no `src/client/`.
    for entry in std::fs::read_dir(project.join("src/client"))
        .into_iter()
        .flatten()
    {
        let path = entry.unwrap().path();
        let relative = format!("src/client/{}", path.file_name().unwrap().to_string_lossy());
        files.insert(relative, std::fs::read_to_string(&path).unwrap());
    }
    let spec = compile(spec_text.as_bytes(), &files, Stop::AfterAnalysis)
        .spec
        .expect("the example has no errors");

    let generated = server::generate(
        &spec,
        &ServerOptions {
            team_files,
            ..ServerOptions::default()
        },
    );
    let mut text = String::new();
    for file in generated.iter().filter(|file| wanted(&file.path)) {
        let contents = if file.is_rust() {
            rustfmt(&file.contents)
        } else {
            file.contents.clone()
        };
        text.push_str(&format!("=== {} ===\n{contents}\n", file.path));
    }
    text
}

fn rustfmt(source: &str) -> String {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(source.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "generated code parses as Rust");
    String::from_utf8(output.stdout).unwrap()
}

/// The generated web project of `examples/<example>`, without the copies of the team's files
/// (they are the example's own files), in one text.
fn generated_web(example: &str) -> String {
    generated_web_of(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(example),
    )
}

/// The generated web project of the project at `project`, as [`generated_web`] shows it.
fn generated_web_of(project: &Path) -> String {
    let spec_text = std::fs::read_to_string(project.join("main.wasp")).unwrap();
    let mut files = MemoryFiles::new();
    let mut team_files = Vec::new();
    for folder in ["src/server", "src/client"] {
        for entry in std::fs::read_dir(project.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let relative = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            let contents = std::fs::read_to_string(&path).unwrap();
            files.insert(relative.clone(), contents.clone());
            if folder == "src/client" {
                team_files.push((relative, contents));
            }
        }
    }
    team_files.sort();
    let spec = compile(spec_text.as_bytes(), &files, Stop::AfterAnalysis)
        .spec
        .expect("the example has no errors");

    let generated = web::generate(&spec, &WebOptions { team_files });
    let mut text = String::new();
    for file in &generated {
        if file.path.starts_with(web::TEAM_FILES_DIR) {
            text.push_str(&format!("=== {} (copied) ===\n", file.path));
        } else {
            text.push_str(&format!("=== {} ===\n{}\n", file.path, file.contents));
        }
    }
    text
}

#[test]
fn chat_web() {
    insta::assert_snapshot!(generated_web("chat"));
}

#[test]
fn uppercase_web() {
    insta::assert_snapshot!(generated_web("uppercase"));
}

/// The fixture with a root component, a default import, `authRequired` pages, a handshake, acks
/// in both directions and a namespace without client-to-server events.
#[test]
fn full_api_web() {
    insta::assert_snapshot!(generated_web_of(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full_api")
    ));
}

#[test]
fn chat_server() {
    insta::assert_snapshot!(generated_server("chat"));
}

#[test]
fn uppercase_server() {
    insta::assert_snapshot!(generated_server("uppercase"));
}

/// The fixture's `server.setupFn`, `server.middlewareConfigFn` and two `db.seeds`: how `main.rs`
/// hands them to the runtime and the context module they receive.
#[test]
fn full_api_server_hooks() {
    insta::assert_snapshot!(generated_server_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full_api"),
        |path| path == "server/src/main.rs" || path == "server/src/app/server.rs",
    ));
}

/// The fixture's root webSocket, with events without a payload in both directions, alone and
/// with an acknowledgement: handlers that take no payload and emitters that send none.
#[test]
fn full_api_web_socket() {
    insta::assert_snapshot!(generated_server_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full_api"),
        |path| path == "server/src/app/web_socket.rs",
    ));
}

/// `presence: true` on the root webSocket: the namespace registered with presence, and its
/// `join`, `leave` and `presence` going through the runtime's presence.
#[test]
fn presence_web_socket() {
    insta::assert_snapshot!(generated_server_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/presence"),
        |path| path == "server/src/app/web_socket.rs",
    ));
}

/// `presence: true` in the web client: `PresenceEntry`, `PresenceEvent` and the `presence`
/// event in `@appc/types`, and `usePresence` in `@appc/webSocket`.
#[test]
fn presence_web() {
    insta::assert_snapshot!(generated_web_of(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/presence")
    ));
}

/// `@appc/operations` for queries and actions of every input and output shape (none, scalar,
/// record, entity, optional, list, list of optionals), with and without `auth: true` and
/// entities, and what it adds to `package.json` and `main.tsx`.
#[test]
fn operations_client_web() {
    insta::assert_snapshot!(generated_web_of(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/operations_client")
    ));
}

/// Queries and actions (with and without input and output, `auth: true` and not, a `maxLength`
/// input), apis (a path parameter, `ALL`, their own `middlewareConfigFn`) and an apiNamespace:
/// the contexts, the routes, the wrappers that type the team's functions, and how `main.rs`
/// mounts them.
#[test]
fn operations_server() {
    insta::assert_snapshot!(generated_server_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/operations"),
        |path| {
            [
                "server/src/main.rs",
                "server/src/app/mod.rs",
                "server/src/app/operations.rs",
                "server/src/app/apis.rs",
            ]
            .contains(&path)
        },
    ));
}
