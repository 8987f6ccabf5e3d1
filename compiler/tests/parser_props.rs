//! Robustness of the parser: it never panics, never hangs and keeps every span inside the input,
//! whatever bytes it is given. Property tests mutate real spec files (byte flips, insertions,
//! deletions, truncations); fixed tests feed known-nasty inputs (deep nesting, NUL bytes, invalid
//! UTF-8, unterminated strings, quoters and comments, thousands of errors).

use appc_core::diagnostics::{ColorMode, Diagnostic, SourceFile, render_all};
use appc_core::syntax::ast::{Expr, ExprKind, Module, Span};
use appc_core::syntax::{self, MAX_NESTING_DEPTH, Parsed};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Seeds for mutation: the corpus where it lies beside the repository, plus specs written here so
/// that the test also runs without the corpus.
fn seed_files() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(read_seed_files)
}

fn read_seed_files() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = vec![
        br#"app Chat {
  wasp: { version: "^0.17.0" },
  title: "Chat \"live\" \u00e9",
  auth: { userEntity: User, methods: { usernameAndPassword: {} }, onAuthFailedRedirectTo: "/login" },
  webSocket: {
    fn: import { webSocketFn } from "@src/server/webSocket.rs",
    events: { clientToServer: { send: Message }, serverToClient: { history: [Message]? } },
  },
}
/* a block comment */
entity User {=psl
  id Int @id @default(autoincrement())
  isOn Boolean @default(false)
psl=}
type Message { text: String, at: DateTime, n: -7, r: -0.5, pair: (1, "x",) }
page MainPage { component: import Main from "@src/client/Main.tsx", authRequired: true } // end
"#
        .to_vec(),
    ];
    let corpus = match std::env::var_os("APPC_WASP_CORPUS") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/wasp-corpus"),
    };
    let mut stack = vec![corpus];
    while let Some(directory) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "wasp")
                && let Ok(bytes) = std::fs::read(&path)
            {
                seeds.push(bytes);
            }
        }
    }
    seeds.sort();
    seeds
}

/// Parses and checks the invariants every parse must keep.
fn parse_and_check(bytes: &[u8]) -> Parsed {
    let parsed = syntax::parse_bytes(bytes);
    for diagnostic in &parsed.diagnostics {
        check_span(bytes.len(), diagnostic.primary.span, &diagnostic.message);
        for label in &diagnostic.secondary {
            check_span(bytes.len(), label.span, &label.message);
        }
    }
    check_module(bytes.len(), &parsed.module);
    // Rendering must cope with every span the parser produces.
    if let Ok(text) = std::str::from_utf8(bytes) {
        let file = SourceFile {
            name: "fuzz.wasp",
            text,
        };
        let _ = render_all(&parsed.diagnostics, &file, ColorMode::Plain);
    }
    parsed
}

fn check_span(length: usize, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= length,
        "span {span:?} of {what:?} is outside the input of {length} bytes"
    );
}

fn check_module(length: usize, module: &Module) {
    for decl in &module.decls {
        check_span(length, decl.span, "declaration");
        check_span(length, decl.kind.span, "declaration type");
        check_span(length, decl.name.span, "declaration name");
        check_expr(length, &decl.body);
    }
}

fn check_expr(length: usize, expr: &Expr) {
    check_span(length, expr.span, expr.describe());
    match &expr.kind {
        ExprKind::Dict(entries) => {
            for entry in entries {
                check_span(length, entry.span, "dict entry");
                check_expr(length, &entry.value);
            }
        }
        ExprKind::List(items) | ExprKind::Tuple(items) => {
            for item in items {
                check_expr(length, item);
            }
        }
        ExprKind::Optional(inner) => check_expr(length, inner),
        ExprKind::Import(import) => check_span(length, import.path_span, "import path"),
        ExprKind::Quoter(quoter) => check_span(length, quoter.content_span, "quoter content"),
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, length: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Inserted bytes favour the characters that matter to the grammar.
    let interesting = prop::sample::select(b"{}[](),:?\"\\/*=-.0aZ_ \n\t\x00\xff\xc3".to_vec());
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), prop::collection::vec(interesting, 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, length)| Mutation::Delete { at, length }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let length = bytes.len();
        match mutation {
            Mutation::Flip { at, bit } if length > 0 => bytes[at % length] ^= 1 << bit,
            Mutation::Insert {
                at,
                bytes: inserted,
            } => {
                let at = at % (length + 1);
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Delete {
                at,
                length: deleted,
            } if length > 0 => {
                let at = at % length;
                bytes.drain(at..(at + deleted).min(length));
            }
            Mutation::Truncate { at } => bytes.truncate(at % (length + 1)),
            _ => {}
        }
    }
    bytes
}

proptest! {
    // 400 cases by default; set PROPTEST_CASES for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(400),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_specs_never_panic_and_keep_spans_in_bounds(
        seed_index in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seed_files();
        let seed = seeds[seed_index % seeds.len()].clone();
        parse_and_check(&apply(seed, &mutations));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_and_check(&bytes);
    }
}

fn messages(diagnostics: &[Diagnostic]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|diagnostic| diagnostic.message.as_str())
        .collect()
}

/// Runs `input` and fails if it takes unreasonably long (a hang or quadratic blow-up).
fn parse_quickly(input: &[u8]) -> Parsed {
    let started = Instant::now();
    let parsed = parse_and_check(input);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(20),
        "parsing {} bytes took {elapsed:?}",
        input.len()
    );
    parsed
}

#[test]
fn a_megabyte_of_open_brackets_reports_nesting_once() {
    for bracket in [b'{', b'[', b'('] {
        let input = vec![bracket; 1 << 20];
        let parsed = parse_quickly(&input);
        // The nesting error, and the fact that a file cannot start with a bracket.
        assert_eq!(parsed.diagnostics[0].message, "nesting is too deep");
        assert_eq!(parsed.diagnostics[0].primary.span.start, MAX_NESTING_DEPTH);
        assert_eq!(
            parsed.diagnostics.len(),
            2,
            "{:?}",
            messages(&parsed.diagnostics)
        );
        assert!(
            parsed.diagnostics[1]
                .message
                .starts_with("expected a declaration")
        );
    }
}

#[test]
fn nesting_up_to_the_limit_parses_on_a_small_stack() {
    // The deepest nesting the parser accepts, parsed on a thread with a 1 MiB stack (half of a
    // default test thread's), in whatever profile the tests are built.
    let depth = MAX_NESTING_DEPTH - 1;
    let input = format!("test Deep {}1{}", "[".repeat(depth), "]".repeat(depth));
    let parsed = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || syntax::parse(&input))
        .expect("spawn a parsing thread")
        .join()
        .expect("parsing at the nesting limit does not overflow the stack");
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
}

#[test]
fn nesting_beyond_the_limit_is_one_diagnostic_and_the_declarations_before_it_survive() {
    let depth = MAX_NESTING_DEPTH + 1;
    let input = format!(
        "page Before {{}}\ntest Deep {}1{}\npage After {{}}\n",
        "{a: ".repeat(depth),
        "}".repeat(depth)
    );
    let parsed = parse_quickly(input.as_bytes());
    assert_eq!(messages(&parsed.diagnostics), ["nesting is too deep"]);
    assert_eq!(parsed.module.decls[0].name.name, "Before");
}

#[test]
fn stray_closers_do_not_let_deep_nesting_through_recovery() {
    // After the syntax error parsing resumes at `deep Nest`, past the stray `]`s.
    let input = format!("bad {}\ndeep Nest {}", "]".repeat(500), "[".repeat(500_000));
    let parsed = parse_quickly(input.as_bytes());
    assert!(messages(&parsed.diagnostics).contains(&"nesting is too deep"));
}

#[test]
fn recovery_never_resumes_inside_a_quoter() {
    let input = format!(
        "bad Decl {{ a b }}\nentity User {{=psl\nfoo bar {}\npsl=}}\n",
        "{".repeat(500_000)
    );
    let parsed = parse_quickly(input.as_bytes());
    assert_eq!(
        parsed.diagnostics.len(),
        1,
        "{:?}",
        messages(&parsed.diagnostics)
    );
    assert_eq!(parsed.module.decls.len(), 2);
}

#[test]
fn nul_bytes_and_invalid_utf8_are_diagnostics() {
    let parsed = parse_quickly(b"app A {}\n\0\0\0\npage B {}\n");
    assert_eq!(
        messages(&parsed.diagnostics),
        ["unrecognized character `\\0`"]
    );
    assert_eq!(parsed.module.decls.len(), 2);

    let parsed = parse_quickly(b"app A { title: \"\xff\xfe\" }");
    assert_eq!(
        messages(&parsed.diagnostics),
        ["the spec file is not valid UTF-8"]
    );
    assert_eq!(parsed.diagnostics[0].primary.span, Span::new(16, 17));
}

#[test]
fn unterminated_constructs_at_the_end_of_a_large_file_are_reported() {
    let body = "page P { component: import { P } from \"@src/client/P.tsx\" }\n".repeat(5_000);
    for (tail, message) in [
        ("app A { title: \"never closed", "unterminated string"),
        ("entity E {=psl id Int", "unterminated quoter `{=psl`"),
        ("/* never closed", "unterminated block comment"),
    ] {
        let parsed = parse_quickly(format!("{body}{tail}").as_bytes());
        assert_eq!(messages(&parsed.diagnostics), [message]);
    }
}

#[test]
fn thousands_of_errors_are_capped_and_fast() {
    // Each unterminated `{=x` also counts as an open bracket, so nesting is reported too.
    let input = "a b {=x\n".repeat(20_000);
    let parsed = parse_quickly(input.as_bytes());
    assert_eq!(parsed.diagnostics.len(), 52);
    assert_eq!(
        parsed
            .diagnostics
            .last()
            .map(|diagnostic| diagnostic.message.as_str()),
        Some("too many syntax errors, parsing stopped here")
    );
    let input = "page P { a: 1 b }\n".repeat(20_000);
    let parsed = parse_quickly(input.as_bytes());
    assert_eq!(parsed.diagnostics.len(), 51);
}

#[test]
fn huge_integers_and_long_tokens_do_not_panic() {
    let digits = "9".repeat(100_000);
    let parsed =
        parse_quickly(format!("test N [{digits}, -{digits}, {digits}.{digits}]").as_bytes());
    assert_eq!(
        messages(&parsed.diagnostics),
        [
            "integer literal is out of range",
            "integer literal is out of range"
        ]
    );
    let name = "x".repeat(1 << 20);
    let parsed = parse_quickly(format!("test {name} \"{name}\"").as_bytes());
    assert!(parsed.diagnostics.is_empty());
}
