//! The generated web client against the real tools: the examples' projects (the SDK, the routes
//! and the team's pages) pass a strict `tsc --noEmit`, a page that misuses the typed SDK
//! makes `appc build` fail with tsc's errors pointing at the team's file, and the runtime of
//! `@appc/operations` follows the HTTP contract of operations when node runs it, and its
//! live-query client keeps the newest result whatever the order of acks, updates and fetches
//! (against a fake Socket.IO).
//!
//! Each test works on a copy of a project in a temporary folder, so the examples' own `.appc/`
//! folders are left to the end-to-end tests. npm installs from its cache after the first run.
//! Node.js and npm must be on PATH (scripts/test.sh runs `npm ci` for the e2e tests anyway).

use appc::cli::web;
use appc_core::analysis::{self, MemoryFiles};
use appc_core::{Stop, compile};
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
    compile(spec_text.as_bytes(), &files, Stop::AfterAnalysis)
        .spec
        .expect("the project has no errors")
}

/// Generates, installs and type-checks the web project of a copy of `examples/<example>`.
fn typecheck_example(example: &str) {
    typecheck_project(&repository_root().join("examples").join(example));
}

/// Generates, installs and type-checks the web project of a copy of `project`.
fn typecheck_project(project: &Path) {
    let example = project.display().to_string();
    let project = copy_project(project);
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

/// The fixture has `client.baseDir: "/app"`, a route with a parameter (`/rooms/:id`) and pages
/// that link with `@appc/router`.
#[test]
fn the_full_api_web_project_with_a_base_dir_and_typed_links_type_checks_strictly() {
    typecheck_project(&repository_root().join("compiler/tests/fixtures/full_api"));
}

#[test]
fn a_link_to_an_undeclared_route_or_with_wrong_params_fails_appc_build() {
    let project = copy_project(&repository_root().join("compiler/tests/fixtures/full_api"));
    // A missing parameter, a misspelled parameter, a path no route declares, a route name that
    // is not declared; the last line is correct.
    std::fs::write(
        project.path().join("src/client/MainPage.tsx"),
        "import { Link, routes } from '@appc/router';\n\
         \n\
         export default function Main() {\n\
         \x20 const a = <Link to=\"/rooms/:id\">Room</Link>;\n\
         \x20 const b = routes.RoomsRoute.build({ params: { room: 1 } });\n\
         \x20 const c = <Link to=\"/chat\">Chat</Link>;\n\
         \x20 const d = routes.ChatRoute.to;\n\
         \x20 const e = routes.RoomsRoute.build({ params: { id: 'lobby' }, hash: 'latest' });\n\
         \x20 return <main>{a}{b}{c}{d}{e}</main>;\n\
         }\n",
    )
    .unwrap();
    let spec = analyzed(project.path());
    let (web_dir, _) = web::write_web_project(project.path(), &spec)
        .unwrap()
        .unwrap();
    web::install_web_dependencies(&web_dir, false).unwrap();
    let output = Command::new(web_dir.join("node_modules/.bin/tsc"))
        .args([
            "--noEmit",
            "--project",
            "tsconfig.json",
            "--pretty",
            "false",
        ])
        .current_dir(&web_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    for line in [4, 5, 6, 7] {
        assert!(
            stdout.contains(&format!("src/ext-src/client/MainPage.tsx({line},")),
            "tsc reports line {line}:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("MainPage.tsx(8,"),
        "a correct link type-checks:\n{stdout}"
    );
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

/// The fixture's pages use `useQuery` (with and without input, with options), `useAction` (with
/// optimistic updates typed by their queries), the plain functions and `OperationError`.
#[test]
fn the_operations_client_web_project_type_checks_strictly() {
    typecheck_project(&repository_root().join("compiler/tests/fixtures/operations_client"));
}

#[test]
fn a_page_that_misuses_an_operation_fails_appc_build_naming_the_page_line() {
    let project =
        copy_project(&repository_root().join("compiler/tests/fixtures/operations_client"));
    // One page calls operations with inputs of the wrong type (lines 5 to 8, one per way of
    // calling); the other reads a field the output does not have (lines 6 and 7). The other
    // lines are correct.
    std::fs::write(
        project.path().join("src/client/MainPage.tsx"),
        "import { createTask, getTask, toggleTask, useAction, useQuery } from '@appc/operations';\n\
         \n\
         export function MainPage() {\n\
         \x20 const createTaskFn = useAction(createTask);\n\
         \x20 const task = useQuery(getTask, 'first');\n\
         \x20 void createTask({ description: 42, tags: [] });\n\
         \x20 void createTaskFn({ title: 'milk', tags: [] });\n\
         \x20 void toggleTask();\n\
         \x20 void createTaskFn({ description: 'milk', tags: ['home'] });\n\
         \x20 return <p>{task.data?.description}</p>;\n\
         }\n",
    )
    .unwrap();
    std::fs::write(
        project.path().join("src/client/LoginPage.tsx"),
        "import { getTaskStats, getTasks, useQuery } from '@appc/operations';\n\
         \n\
         export function LoginPage() {\n\
         \x20 const { data: tasks } = useQuery(getTasks);\n\
         \x20 const { data: stats } = useQuery(getTaskStats, null);\n\
         \x20 const late = tasks?.[0]?.deadline;\n\
         \x20 return <p>{late}{stats?.undone}{stats?.total}</p>;\n\
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
    for line in [5, 6, 7, 8] {
        assert!(
            stderr.contains(&format!("src/client/MainPage.tsx({line},")),
            "tsc reports the wrong input on line {line} of the page:\n{stderr}"
        );
    }
    for line in [6, 7] {
        assert!(
            stderr.contains(&format!("src/client/LoginPage.tsx({line},")),
            "tsc reports the missing output field on line {line} of the page:\n{stderr}"
        );
    }
    for correct in [
        "MainPage.tsx(4,",
        "MainPage.tsx(9,",
        "MainPage.tsx(10,",
        "LoginPage.tsx(5,",
    ] {
        assert!(
            !stderr.contains(correct),
            "a correct line type-checks ({correct}):\n{stderr}"
        );
    }
    assert!(stderr.contains("'deadline' does not exist"), "{stderr}");
    assert!(stderr.contains("'undone' does not exist"), "{stderr}");
    assert!(!stderr.contains("ext-src"), "{stderr}");
    assert!(
        !stderr.contains("Compiling"),
        "the server is not compiled after a type error:\n{stderr}"
    );
}

/// The runtime of `@appc/operations` (requests, answers, errors, invalidation, cache reset,
/// optimistic updates, retries), bundled with the esbuild that Vite brings and run by node
/// against a stubbed `fetch`: see `tests/e2e/operations_client.mjs`.
/// Generates and installs the web project of a copy of the operations_client fixture, bundles
/// `entry` (TypeScript, written at the project's root) into one ES module for node with
/// esbuild, with `esbuild_args` added, and runs `script` of tests/e2e on it; `script` must print
/// `success_line`.
fn run_operations_client_script(
    entry: &str,
    esbuild_args: &[String],
    script: &str,
    success_line: &str,
) {
    let project =
        copy_project(&repository_root().join("compiler/tests/fixtures/operations_client"));
    let spec = analyzed(project.path());
    let (web_dir, _) = web::write_web_project(project.path(), &spec)
        .unwrap()
        .unwrap();
    web::install_web_dependencies(&web_dir, false).unwrap();
    std::fs::write(web_dir.join("node-entry.ts"), entry).unwrap();
    let bundle = project.path().join("node-bundle.mjs");
    let esbuild = Command::new(web_dir.join("node_modules/.bin/esbuild"))
        .args([
            "node-entry.ts",
            "--bundle",
            "--platform=node",
            "--format=esm",
            "--log-level=warning",
            // Live queries bring socket.io-client, whose node transport `require`s node's own
            // modules (and so does React's server renderer): give the ES module bundle a
            // `require` to do it with.
            "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        ])
        .args(esbuild_args)
        .arg(format!("--outfile={}", bundle.display()))
        .current_dir(&web_dir)
        .output()
        .expect("esbuild, a dependency of Vite, runs");
    assert!(
        esbuild.status.success(),
        "{}",
        String::from_utf8_lossy(&esbuild.stderr)
    );
    let node = Command::new("node")
        .arg(repository_root().join("tests/e2e").join(script))
        .arg(&bundle)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&node.stdout);
    let stderr = String::from_utf8_lossy(&node.stderr);
    assert!(node.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(success_line), "{stdout}{stderr}");
}

#[test]
fn the_operations_client_runtime_follows_the_http_contract() {
    run_operations_client_script(
        "export * as operations from './src/appc/operations';\n\
         export * as core from './src/appc/operationsCore';\n\
         export * as auth from './src/appc/auth';\n",
        &[],
        "operations_client.mjs",
        "operations client: ok",
    );
}

/// The ordering rules of the live-query client (`live.ts` and `useQuery`'s fetch), which the
/// end-to-end tests cannot force: tests/e2e/live_client.mjs plays the server through a fake
/// `socket.io-client` and delivers acks and updates in any order.
#[test]
fn the_live_query_client_keeps_the_newest_result_whatever_the_order_of_acks_updates_and_fetches() {
    let fake_socket_io = repository_root().join("tests/e2e/fake_socket_io_client.mjs");
    run_operations_client_script(
        "export * as operations from './src/appc/operations';\n\
         export * as core from './src/appc/operationsCore';\n\
         export * as live from './src/appc/live';\n\
         export * as fakeSocketIo from 'socket.io-client';\n\
         export { QueryObserver } from '@tanstack/react-query';\n\
         export { createElement } from 'react';\n\
         export { renderToString } from 'react-dom/server';\n",
        &[format!(
            "--alias:socket.io-client={}",
            fake_socket_io.display()
        )],
        "live_client.mjs",
        "live client: ok",
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

#[test]
fn an_app_without_pages_gets_no_web_client_and_loses_an_old_bundle() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("main.wasp"),
        "app Quiet { title: \"Quiet\" }\n",
    )
    .unwrap();
    let old_bundle = project.path().join(".appc/build/web");
    std::fs::create_dir_all(&old_bundle).unwrap();
    std::fs::write(old_bundle.join("index.html"), "<p>old</p>").unwrap();

    let spec = analyzed(project.path());
    assert!(
        web::write_web_project(project.path(), &spec)
            .unwrap()
            .is_none()
    );
    assert!(!project.path().join(".appc/out/web").exists());
    assert!(
        !old_bundle.exists(),
        "the server must not serve pages the spec no longer has"
    );
}
