//! `appc dev` and `appc new` through the real binary.
//!
//! The watch-loop test runs `appc dev` on a temporary copy of `examples/chat`, changes the
//! server's code the way a person does (saving files), and watches the behaviour change over a
//! real Socket.IO connection (`tests/e2e/dev.mjs`). It needs the e2e node packages
//! (`npm ci --prefix tests/e2e`, which scripts/test.sh runs) and shares the workspace's target
//! folder so the chat's dependencies are not compiled again.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first build compiles the chat server (its dependencies are already built); generous,
/// because the machine may be busy with other builds.
const FIRST_BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// A rebuild after a one-line change.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(300);

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler crate is inside the workspace")
        .to_path_buf()
}

fn appc(args: &[&str], current_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_appc"))
        .args(args)
        .current_dir(current_dir)
        .output()
        .expect("the appc binary runs")
}

/// A port that was free a moment ago (the OS picks it; the listener is closed right away).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port is available")
        .port()
}

/// Copies a project's spec and sources (not its `.appc/` build output) into `target`.
fn copy_project(source: &Path, target: &Path) {
    std::fs::copy(source.join("main.wasp"), target.join("main.wasp")).unwrap();
    copy_folder(&source.join("src"), &target.join("src"));
}

fn copy_folder(source: &Path, target: &Path) {
    std::fs::create_dir_all(target).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != "node_modules" {
                copy_folder(&path, &target.join(entry.file_name()));
            }
        } else {
            std::fs::copy(&path, target.join(entry.file_name())).unwrap();
        }
    }
}

/// `appc dev` running in its own process group, with everything it prints collected.
struct DevProcess {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl DevProcess {
    fn start(project: &Path, port: u16) -> DevProcess {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(env!("CARGO_BIN_EXE_appc"));
        command
            .args(["dev", "--port", &port.to_string(), "--color", "never"])
            .arg(project)
            .env_remove("PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            command.env("CARGO_TARGET_DIR", repository_root().join("target"));
        }
        let mut child = command.spawn().expect("appc dev starts");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buffer = [0u8; 4096];
                while let Ok(read) = stream.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            });
        }
        DevProcess { child, output }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until what appc printed after byte `from` contains `needle`; returns the offset
    /// just past it. Fails the test (with everything printed) at the deadline or if appc exits.
    fn wait_for_output(&mut self, from: usize, needle: &str, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let output = self.output();
            if let Some(position) = output[from.min(output.len())..].find(needle) {
                return from + position + needle.len();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("appc dev exited ({status}) before printing `{needle}`:\n{output}");
            }
            assert!(
                Instant::now() < deadline,
                "appc dev did not print `{needle}` within {timeout:?}:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops appc like Ctrl-C does and waits for it to exit.
    fn interrupt(&mut self) {
        // SAFETY: kill has no memory effects; the pid is our child's.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "appc dev did not exit within 20 s of SIGINT:\n{}",
            self.output()
        );
    }
}

impl Drop for DevProcess {
    /// After a failed assertion: Ctrl-C first, so that appc stops the server and Vite it
    /// started (they run in process groups of their own, which killing appc's would miss),
    /// then SIGKILL for whatever is left of appc's group.
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let pid = self.child.id() as i32;
        // SAFETY: kill has no memory effects; the pid is our child's.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; the negative pid addresses appc's own process group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Runs `node tests/e2e/dev.mjs URL USERNAME`: whether an anonymous chat message now comes
/// back from `username`, and what the script printed.
fn anonymous_username_is(url: &str, username: &str) -> (bool, String) {
    let scripts = repository_root().join("tests/e2e");
    assert!(
        scripts.join("node_modules/socket.io-client").is_dir(),
        "the e2e node packages are missing; run `npm ci --prefix tests/e2e` (or `bash scripts/test.sh`) first"
    );
    let mut child = Command::new("node")
        .arg(scripts.join("dev.mjs"))
        .args([url, username])
        .current_dir(&scripts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs; install Node.js 18 or later");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            let output = child.wait_with_output().unwrap();
            let printed = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return (output.status.success(), printed);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    (false, "node dev.mjs did not finish within 30 s".to_owned())
}

/// Asks again and again until anonymous messages come from `username`.
fn wait_for_anonymous_username(dev: &DevProcess, url: &str, username: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let (matched, printed) = anonymous_username_is(url, username);
        if matched {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "anonymous messages did not come from `{username}` within {timeout:?}; last check:\n{printed}\nappc dev printed:\n{}",
            dev.output()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Processes whose command line mentions `text` (from /proc), other than this test itself.
fn processes_mentioning(text: &str) -> Vec<String> {
    let own_pid = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|character| character.is_ascii_digit()) || name == own_pid {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let is_zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if cmdline.contains(text) && !is_zombie {
            found.push(format!("{name}: {cmdline}"));
        }
    }
    found
}

/// A plain HTTP/1.1 GET on 127.0.0.1, returning the raw response (status line, headers, body).
fn http_get(port: u16, path: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn replace_in_file(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "`{from}` is not in {}", path.display());
    // Written in one call, as an editor saves.
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn dev_rebuilds_on_save_keeps_the_last_good_server_and_stops_everything_on_ctrl_c() {
    let project = tempfile::tempdir().unwrap();
    copy_project(&repository_root().join("examples/chat"), project.path());
    let chat_rs = project.path().join("src/server/chat.rs");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");

    let mut dev = DevProcess::start(project.path(), port);
    let mut seen = dev.wait_for_output(0, "server started", FIRST_BUILD_TIMEOUT);
    assert!(
        dev.output()
            .contains(&format!("Open http://127.0.0.1:{port}")),
        "appc dev did not print the URL to open:\n{}",
        dev.output()
    );
    let (matched, printed) = anonymous_username_is(&url, "unknown");
    assert!(
        matched,
        "the first server does not answer as before:\n{printed}"
    );

    // The chat has pages: the one URL serves them (Vite) and proxies the socket (above).
    let page = http_get(port, "/");
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("<div id=\"root\""),
        "the pages are not served on port {port}:\n{page}"
    );

    // A client-only save refreshes the web project; the server is not rebuilt or restarted.
    let main_page = project.path().join("src/client/MainPage.tsx");
    let mut page_source = std::fs::read_to_string(&main_page).unwrap();
    page_source.push_str("\n// edited while appc dev runs\n");
    std::fs::write(&main_page, page_source).unwrap();
    let updated = dev.wait_for_output(seen, "Updated client files", REBUILD_TIMEOUT);
    assert!(
        !dev.output()[seen..updated].contains("server restarted"),
        "a client-only change restarted the server:\n{}",
        dev.output()
    );
    let copied = project
        .path()
        .join(".appc/out/web/src/ext-src/client/MainPage.tsx");
    assert!(
        std::fs::read_to_string(&copied)
            .unwrap()
            .contains("edited while appc dev runs"),
        "the edited page was not copied into the web project"
    );
    seen = updated;

    // A type error in a page: tsc (in the background) names the team's file, and the pages and
    // the server keep being served, as Vite does not type-check.
    replace_in_file(
        &main_page,
        "socket.emit(\"chatMessage\", text)",
        "socket.emit(\"chatMesage\", text)",
    );
    let type_errors = dev.wait_for_output(seen, "Type errors in the pages", REBUILD_TIMEOUT);
    let type_error_output = dev.output()[seen..type_errors].to_owned();
    assert!(
        type_error_output.contains("tsc | src/client/MainPage.tsx(")
            && type_error_output.contains("chatMesage"),
        "the type error does not name the team's page:\n{type_error_output}"
    );
    assert!(
        !type_error_output.contains("ext-src"),
        "the type error names the generated copy:\n{type_error_output}"
    );
    let page = http_get(port, "/");
    assert!(
        page.starts_with("HTTP/1.1 200"),
        "a page type error stopped the pages from being served:\n{page}"
    );
    let (matched, printed) = anonymous_username_is(&url, "unknown");
    assert!(
        matched,
        "the server stopped answering after a page type error:\n{printed}"
    );
    seen = type_errors;
    replace_in_file(
        &main_page,
        "socket.emit(\"chatMesage\", text)",
        "socket.emit(\"chatMessage\", text)",
    );
    seen = dev.wait_for_output(seen, "Types ok", REBUILD_TIMEOUT);

    // A one-line change to the server's code, saved twice in quick succession: one rebuild,
    // and the new behaviour answers after it.
    replace_in_file(
        &chat_rs,
        "const ANONYMOUS_USERNAME: &str = \"unknown\";",
        "const ANONYMOUS_USERNAME: &str = \"guest-draft\";",
    );
    replace_in_file(
        &chat_rs,
        "const ANONYMOUS_USERNAME: &str = \"guest-draft\";",
        "const ANONYMOUS_USERNAME: &str = \"guest\";",
    );
    let before_rebuild = seen;
    seen = dev.wait_for_output(seen, "server restarted", REBUILD_TIMEOUT);
    wait_for_anonymous_username(&dev, &url, "guest", Duration::from_secs(30));
    // Time enough for a second rebuild to show up, had the two saves caused two.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        dev.output()[before_rebuild..].matches("Changed ").count(),
        1,
        "two quick saves did not give exactly one rebuild:\n{}",
        dev.output()
    );

    // Saving a file unchanged gives the same binary: the server keeps running (and keeps its
    // clients' connections) instead of restarting.
    let before_unchanged = seen;
    let unchanged_source = std::fs::read_to_string(&chat_rs).unwrap();
    std::fs::write(&chat_rs, unchanged_source).unwrap();
    seen = dev.wait_for_output(seen, "the server is unchanged", REBUILD_TIMEOUT);
    assert!(
        !dev.output()[before_unchanged..seen].contains("server restarted"),
        "a save without changes restarted the server:\n{}",
        dev.output()
    );

    // A save while cargo compiles the previous one cancels that build and starts over: the
    // cancelled build never replaces the server, and the final one has the latest behaviour.
    let before_cancel = seen;
    replace_in_file(
        &chat_rs,
        "const ANONYMOUS_USERNAME: &str = \"guest\";",
        "const ANONYMOUS_USERNAME: &str = \"outdated\";",
    );
    let manifest = project
        .path()
        .join(".appc/out/Cargo.toml")
        .display()
        .to_string();
    let deadline = Instant::now() + REBUILD_TIMEOUT;
    while processes_mentioning(&manifest).is_empty() {
        assert!(
            Instant::now() < deadline,
            "cargo did not start after a save:\n{}",
            dev.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    replace_in_file(
        &chat_rs,
        "const ANONYMOUS_USERNAME: &str = \"outdated\";",
        "const ANONYMOUS_USERNAME: &str = \"latest\";",
    );
    seen = dev.wait_for_output(seen, "A newer save cancelled this build", REBUILD_TIMEOUT);
    seen = dev.wait_for_output(seen, "server restarted", REBUILD_TIMEOUT);
    wait_for_anonymous_username(&dev, &url, "latest", Duration::from_secs(30));
    assert_eq!(
        dev.output()[before_cancel..]
            .matches("server restarted")
            .count(),
        1,
        "the cancelled build started a server too:\n{}",
        dev.output()
    );
    replace_in_file(
        &chat_rs,
        "const ANONYMOUS_USERNAME: &str = \"latest\";",
        "const ANONYMOUS_USERNAME: &str = \"guest\";",
    );
    seen = dev.wait_for_output(seen, "server restarted", REBUILD_TIMEOUT);
    wait_for_anonymous_username(&dev, &url, "guest", Duration::from_secs(30));

    // A compile error: printed with the team's path, and the last good server keeps answering.
    replace_in_file(
        &chat_rs,
        "const ANONYMOUS_USERNAME: &str = \"guest\";",
        "const ANONYMOUS_USERNAME: &str = 42;",
    );
    let failed = dev.wait_for_output(seen, "Build failed", REBUILD_TIMEOUT);
    let failure_output = dev.output()[seen..failed].to_owned();
    assert!(
        failure_output.contains("--> src/server/chat.rs:"),
        "the compile error does not name the team's file:\n{failure_output}"
    );
    assert!(
        dev.output()[seen..].contains("the last good server keeps running"),
        "{}",
        dev.output()
    );
    let (matched, printed) = anonymous_username_is(&url, "guest");
    assert!(
        matched,
        "the last good server stopped answering after a failed build:\n{printed}"
    );
    seen = failed;

    // The fix brings a new server.
    replace_in_file(
        &chat_rs,
        "const ANONYMOUS_USERNAME: &str = 42;",
        "const ANONYMOUS_USERNAME: &str = \"visitor\";",
    );
    dev.wait_for_output(seen, "server restarted", REBUILD_TIMEOUT);
    wait_for_anonymous_username(&dev, &url, "visitor", Duration::from_secs(30));

    // Ctrl-C stops appc and the server it started; nothing is left running.
    dev.interrupt();
    let project_path = project.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_mentioning(&project_path);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes left running after Ctrl-C: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on port {port} after Ctrl-C"
    );
    // The last line says so (read by the output thread, which may lag a moment behind the exit).
    let farewell = "[appc] stopped: everything appc dev started has ended";
    let deadline = Instant::now() + Duration::from_secs(2);
    while !dev.output().contains(farewell) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dev.output().contains(farewell), "{}", dev.output());
}

#[test]
fn dev_names_a_busy_port_before_building_anything() {
    let project = tempfile::tempdir().unwrap();
    copy_project(&repository_root().join("examples/chat"), project.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    let started = Instant::now();
    let output = appc(
        &[
            "dev",
            "--port",
            &port.to_string(),
            "--color",
            "never",
            &project.path().display().to_string(),
        ],
        project.path(),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("port {port} is already in use")) && stderr.contains("--port"),
        "{stderr}"
    );
    assert!(
        !project.path().join(".appc").exists(),
        "appc dev generated or built before checking the port"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(listener);
}

#[test]
fn new_creates_projects_that_check_from_both_templates() {
    let workspace = tempfile::tempdir().unwrap();
    for (name, template, server_file, app_line) in [
        ("my-chat", "chat", "src/server/chat.rs", "app MyChat {"),
        (
            "hello_world",
            "minimal",
            "src/server/socket.rs",
            "app HelloWorld {",
        ),
    ] {
        let output = appc(&["new", name, "--template", template], workspace.path());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let project = workspace.path().join(name);
        for file in [
            "main.wasp",
            server_file,
            "src/client/MainPage.tsx",
            ".gitignore",
            "README.md",
        ] {
            assert!(project.join(file).is_file(), "{name}: no {file}");
        }
        let spec = std::fs::read_to_string(project.join("main.wasp")).unwrap();
        assert!(spec.contains(app_line), "{name}: {spec}");
        let gitignore = std::fs::read_to_string(project.join(".gitignore")).unwrap();
        assert!(gitignore.contains(".appc/") && gitignore.contains("node_modules/"));

        let check = appc(&["check", name], workspace.path());
        assert!(
            check.status.success(),
            "{name} does not pass appc check:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        if template == "chat" {
            // The chat has entities and comes with their migration: nothing left to migrate.
            let migrate = appc(&["db", "migrate", name, "--create-only"], workspace.path());
            let stderr = String::from_utf8_lossy(&migrate.stderr);
            assert!(migrate.status.success(), "{stderr}");
            assert!(
                stderr.contains("No changes: the entities match the last migration `"),
                "{stderr}"
            );
        }
    }

    // The chat template is the example, file for file.
    let example = repository_root().join("examples/chat/src/server/chat.rs");
    assert_eq!(
        std::fs::read_to_string(example).unwrap(),
        std::fs::read_to_string(workspace.path().join("my-chat/src/server/chat.rs")).unwrap()
    );

    // The default template is the chat.
    let output = appc(&["new", "defaulted"], workspace.path());
    assert!(output.status.success());
    assert!(
        workspace
            .path()
            .join("defaulted/src/server/chat.rs")
            .is_file()
    );
}

#[test]
fn new_refuses_a_non_empty_folder_and_bad_names() {
    let workspace = tempfile::tempdir().unwrap();
    let existing = workspace.path().join("taken");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("notes.txt"), "mine").unwrap();
    let output = appc(&["new", "taken"], workspace.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("already exists and is not empty"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&existing).unwrap().count(),
        1,
        "appc new wrote into a non-empty folder"
    );

    // An empty folder is fine.
    std::fs::create_dir(workspace.path().join("empty")).unwrap();
    assert!(appc(&["new", "empty"], workspace.path()).status.success());

    for bad in ["1st-app", "my app", "app.v2"] {
        let output = appc(&["new", bad], workspace.path());
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("use ASCII letters, digits, `-` and `_`, starting with a letter"),
            "{bad}: {stderr}"
        );
        assert!(!workspace.path().join(bad).exists(), "{bad} was created");
    }
}

#[test]
fn the_minimal_template_builds_into_a_server_and_a_web_client() {
    let workspace = tempfile::tempdir().unwrap();
    let created = appc(&["new", "hello", "--template", "minimal"], workspace.path());
    assert!(created.status.success());
    let project = workspace.path().join("hello");
    let mut command = Command::new(env!("CARGO_BIN_EXE_appc"));
    command
        .args(["build", "--debug", "--color", "never"])
        .current_dir(&project);
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        command.env("CARGO_TARGET_DIR", repository_root().join("target"));
    }
    let output = command.output().expect("appc build runs");
    // `appc build` type-checks the page with a strict tsc before bundling it.
    assert!(
        output.status.success(),
        "the minimal template does not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(project.join(".appc/build/server").is_file());
    assert!(project.join(".appc/build/web/index.html").is_file());
}
