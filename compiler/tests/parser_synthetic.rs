//! The synthetic benchmark spec (`benches/support/synthetic.rs`) must stay valid: it parses
//! without diagnostics, has the promised size and shape, and names resolve.

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use appc_core::syntax::ast::ExprKind;
use std::collections::HashSet;
use synthetic::{SyntheticSize, synthetic_project_files, synthetic_spec};

#[test]
fn large_synthetic_spec_parses_cleanly_and_has_about_20000_lines() {
    let spec = synthetic_spec(SyntheticSize::LARGE);
    let lines = spec.lines().count();
    assert!((18_000..=23_000).contains(&lines), "{lines} lines");
    eprintln!(
        "the large synthetic spec has {lines} lines, {} bytes",
        spec.len()
    );
    let parsed = appc_core::syntax::parse(&spec);
    assert!(
        parsed.diagnostics.is_empty(),
        "{:?}",
        parsed.diagnostics.first()
    );
    let count = |kind: &str| {
        parsed
            .module
            .decls
            .iter()
            .filter(|decl| decl.kind.name == kind)
            .count()
    };
    assert_eq!(count("app"), 1);
    assert_eq!(count("entity"), 500);
    assert_eq!(count("page"), 1000);
    assert_eq!(count("route"), 1000);
    assert_eq!(count("namespace"), 500);
    assert_eq!(count("type"), 1002);
}

#[test]
fn synthetic_names_are_unique_and_routes_point_at_pages() {
    let spec = synthetic_spec(SyntheticSize::SMALL);
    let parsed = appc_core::syntax::parse(&spec);
    assert!(parsed.diagnostics.is_empty());
    let mut names = HashSet::new();
    for decl in &parsed.module.decls {
        assert!(
            names.insert(decl.name.name.clone()),
            "duplicate {}",
            decl.name.name
        );
    }
    for decl in parsed
        .module
        .decls
        .iter()
        .filter(|decl| decl.kind.name == "route")
    {
        let ExprKind::Dict(entries) = &decl.body.kind else {
            panic!("route body is a dict");
        };
        let to = entries
            .iter()
            .find(|entry| entry.key.name == "to")
            .expect("route has `to`");
        let ExprKind::Var(page) = &to.value.kind else {
            panic!("`to` is a page name");
        };
        assert!(names.contains(page), "route points at unknown page {page}");
    }
}

#[test]
fn synthetic_project_has_the_files_its_spec_imports() {
    let files = synthetic_project_files(SyntheticSize::SMALL);
    let paths: HashSet<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    assert!(paths.contains("main.wasp"));
    assert!(paths.contains("src/server/sockets.rs"));
    assert!(paths.contains("src/client/Page9.tsx"));
    let sockets = &files
        .iter()
        .find(|(path, _)| path == "src/server/sockets.rs")
        .expect("sockets file")
        .1;
    assert!(sockets.contains("pub async fn root_socket()"));
    assert!(sockets.contains("pub async fn namespace_socket_4()"));
}
