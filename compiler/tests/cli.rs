//! Runs the real `appc` binary the way a user or a tool does, and checks what it prints and its exit code.

use std::path::Path;
use std::process::{Command, Output};

fn appc(args: &[&str], current_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_appc"))
        .args(args)
        .current_dir(current_dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("the appc binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn project_with_spec(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.wasp"), spec).unwrap();
    dir
}

const TWO_ONE_ITEM_TUPLES: &str = "app Test {\n  title: (\"a\")\n}\n\npage P {\n  x: (1)\n}\n";

#[test]
fn version_and_help_describe_the_tool() {
    let here = Path::new(".");
    let version = appc(&["--version"], here);
    assert!(version.status.success());
    assert_eq!(
        stdout(&version).trim(),
        format!("appc {}", env!("CARGO_PKG_VERSION"))
    );

    let help = appc(&["--help"], here);
    assert!(help.status.success());
    assert!(stdout(&help).contains("check"));
    assert!(stdout(&help).contains("Exit status"));

    let check_help = appc(&["check", "--help"], here);
    for needle in [
        "--syntax-only",
        "--format",
        "--emit",
        "main.wasp",
        "Exit status",
    ] {
        assert!(stdout(&check_help).contains(needle), "missing {needle}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let output = appc(&["check", "--format", "xml"], Path::new("."));
    assert_eq!(output.status.code(), Some(2));
    let output = appc(&["frobnicate"], Path::new("."));
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_missing_spec_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = appc(&["check", "nope.wasp"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: `nope.wasp` does not exist; pass a spec file or a project folder\n"
    );

    let output = appc(&["check"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: no `main.wasp` in `.`; pass a spec file or a project folder that contains one\n"
    );
}

#[test]
fn syntax_errors_are_all_reported_and_exit_1() {
    let dir = project_with_spec(TWO_ONE_ITEM_TUPLES);
    let output = appc(&["check", "--syntax-only", "main.wasp"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert_eq!(
        text.matches("a tuple needs at least 2 items").count(),
        2,
        "{text}"
    );
    assert!(text.contains("main.wasp:2:10"), "{text}");
    assert!(text.contains("main.wasp:6:6"), "{text}");
    assert!(text.contains("error: `main.wasp` has 2 errors"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stderr is not a terminal"
    );
}

#[test]
fn color_always_colours_and_never_does_not() {
    let dir = project_with_spec(TWO_ONE_ITEM_TUPLES);
    let coloured = appc(&["--color", "always", "check", "--syntax-only"], dir.path());
    assert!(stderr(&coloured).contains('\u{1b}'));
    let plain = appc(&["check", "--syntax-only", "--color", "never"], dir.path());
    assert!(!stderr(&plain).contains('\u{1b}'));
}

#[test]
fn json_format_prints_one_object_per_diagnostic_on_stdout() {
    let dir = project_with_spec(TWO_ONE_ITEM_TUPLES);
    let output = appc(&["check", "--syntax-only", "--format", "json"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
        .collect();
    assert_eq!(lines.len(), 2);
    let first = &lines[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "./main.wasp");
    assert_eq!(first["start"]["line"], 2);
    assert_eq!(first["start"]["column"], 10);
    assert_eq!(first["start"]["offset"], 20);
    assert!(
        first["labels"]
            .as_array()
            .is_some_and(|labels| !labels.is_empty())
    );
}

#[test]
fn a_clean_file_exits_0() {
    let dir = project_with_spec("test Decl { list: [1, 2], pair: (1, \"a\") }\n");
    let output = appc(&["check", "--syntax-only", "main.wasp"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("no problems found"));
}

#[test]
fn invalid_utf8_is_a_diagnostic_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.wasp"), b"app A { title: \"\xff\" }").unwrap();
    let output = appc(&["check", "--syntax-only"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("not valid UTF-8"));
}

#[test]
fn build_is_listed_and_stops_before_cargo_on_spec_problems() {
    let help = appc(&["--help"], Path::new("."));
    assert!(stdout(&help).contains("build"));
    let build_help = appc(&["build", "--help"], Path::new("."));
    for needle in ["--debug", ".appc/build/server", "JWT_SECRET", "Exit status"] {
        assert!(stdout(&build_help).contains(needle), "missing {needle}");
    }

    // A spec error: reported like `appc check` does, exit 1, nothing generated.
    let broken = project_with_spec("app Broken {\n  title: 5\n}\n");
    let output = appc(&["build", "--color", "never"], broken.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("has errors"),
        "{}",
        stderr(&output)
    );
    assert!(!broken.path().join(".appc").exists());

    // A socket function that is not async: the analyzer names it, with what to write, before
    // anything is generated or compiled.
    let plain = project_with_spec(
        "app Plain {\n  title: \"Plain\",\n  webSocket: {\n    fn: import { plain_socket } from \"@src/server/plain.rs\"\n  }\n}\n",
    );
    std::fs::create_dir_all(plain.path().join("src/server")).unwrap();
    std::fs::write(
        plain.path().join("src/server/plain.rs"),
        "pub fn plain_socket() {}\n",
    )
    .unwrap();
    let output = appc(&["build", "--color", "never"], plain.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("the socket function `plain_socket` in `src/server/plain.rs` must be async"),
        "{}",
        stderr(&output)
    );
    assert!(!plain.path().join(".appc/out").exists());
}

#[test]
fn db_seed_explains_itself_and_refuses_a_spec_without_seeds_before_building() {
    let here = Path::new(".");
    let help = appc(&["db", "seed", "--help"], here);
    assert!(help.status.success());
    let text = stdout(&help);
    assert!(
        text.contains("run one of the spec's `db.seeds`") && text.contains("--name <NAME>"),
        "{text}"
    );

    let project = project_with_spec("app Plain {\n  title: \"Plain\"\n}\n");
    let output = appc(&["db", "seed", "--color", "never"], project.path());
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("error: `./main.wasp` declares no seeds; add a `pub async fn` to `src/server/seeds.rs` and list it"),
        "{}",
        stderr(&output)
    );
    assert!(
        !project.path().join(".appc/build").exists(),
        "nothing is built for a spec without seeds"
    );
}

/// A spec with pages needs Node.js for its web client: without `node` on PATH, `appc build`
/// stops before cargo with exit 2 and says what to install.
#[test]
fn build_without_node_says_how_to_install_it() {
    let project = project_with_spec(
        "app NoNode {\n  title: \"No node\"\n}\n\nroute RootRoute { path: \"/\", to: MainPage }\npage MainPage {\n  component: import { MainPage } from \"@src/client/MainPage.tsx\"\n}\n",
    );
    let client = project.path().join("src/client");
    std::fs::create_dir_all(&client).unwrap();
    std::fs::write(
        client.join("MainPage.tsx"),
        "export function MainPage() {\n  return <h1>Hello</h1>;\n}\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_appc"))
        .args(["build", "--debug", "--color", "never", "."])
        .current_dir(project.path())
        .env("PATH", project.path().join("no-tools-here"))
        .output()
        .expect("the appc binary runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("needs Node.js and npm on PATH")
            && message.contains("apt-get install nodejs npm"),
        "{message}"
    );
    assert!(
        !project.path().join(".appc/build/server").exists(),
        "nothing was compiled"
    );
}
