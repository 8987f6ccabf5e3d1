//! Parser unit tests in the style of rust-analyzer: each test feeds a small spec to [`check`] and
//! compares a readable dump of the tree and the rendered diagnostics with an inline snapshot.
//! Run `cargo insta review` (or set `INSTA_UPDATE=always`) to update snapshots after a change.

use super::ast::{Expr, ExprKind, ImportKind, Module};
use super::parse;
use crate::diagnostics::{ColorMode, SourceFile, render_all};
use std::fmt::Write;

/// Parses `input` and returns the tree dump followed by the rendered diagnostics.
fn check(input: &str) -> String {
    let parsed = parse(input);
    let mut out = dump_module(input, &parsed.module);
    if !parsed.diagnostics.is_empty() {
        out.push_str(&render_all(
            &parsed.diagnostics,
            &SourceFile {
                name: "test.wasp",
                text: input,
            },
            ColorMode::Plain,
        ));
    }
    out
}

/// One line per node: its kind, its span as `start..end` and its text or value.
fn dump_module(source: &str, module: &Module) -> String {
    let mut out = String::new();
    for decl in &module.decls {
        let _ = writeln!(
            out,
            "decl {} {} {}..{}",
            decl.kind.name, decl.name.name, decl.span.start, decl.span.end
        );
        dump_expr(source, &decl.body, 1, &mut out);
    }
    out
}

fn dump_expr(source: &str, expr: &Expr, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let span = format!("{}..{}", expr.span.start, expr.span.end);
    match &expr.kind {
        ExprKind::Dict(entries) => {
            let _ = writeln!(out, "{indent}dict {span}");
            for entry in entries {
                let _ = writeln!(
                    out,
                    "{indent}  {}: {}..{}",
                    entry.key.name, entry.span.start, entry.span.end
                );
                dump_expr(source, &entry.value, depth + 2, out);
            }
        }
        ExprKind::List(items) | ExprKind::Tuple(items) => {
            let kind = if matches!(expr.kind, ExprKind::List(_)) {
                "list"
            } else {
                "tuple"
            };
            let _ = writeln!(out, "{indent}{kind} {span}");
            for item in items {
                dump_expr(source, item, depth + 1, out);
            }
        }
        ExprKind::String(text) => {
            let _ = writeln!(out, "{indent}string {span} {text:?}");
        }
        ExprKind::Integer(value) => {
            let _ = writeln!(out, "{indent}integer {span} {value}");
        }
        ExprKind::Decimal(value) => {
            let _ = writeln!(out, "{indent}decimal {span} {value:?}");
        }
        ExprKind::Bool(value) => {
            let _ = writeln!(out, "{indent}bool {span} {value}");
        }
        ExprKind::Var(name) => {
            let _ = writeln!(out, "{indent}var {span} {name}");
        }
        ExprKind::Import(import) => {
            let kind = match import.kind {
                ImportKind::Default => "default",
                ImportKind::Named => "named",
            };
            let _ = writeln!(
                out,
                "{indent}import {span} {kind} {} ({}..{}) from {:?} ({}..{})",
                import.name.name,
                import.name.span.start,
                import.name.span.end,
                import.path,
                import.path_span.start,
                import.path_span.end
            );
        }
        ExprKind::Quoter(quoter) => {
            let _ = writeln!(
                out,
                "{indent}quoter {span} {} {:?} ({}..{})",
                quoter.tag, quoter.content, quoter.content_span.start, quoter.content_span.end
            );
            debug_assert_eq!(
                &source[quoter.content_span.start..quoter.content_span.end],
                quoter.content
            );
        }
        ExprKind::Optional(inner) => {
            let _ = writeln!(out, "{indent}optional {span}");
            dump_expr(source, inner, depth + 1, out);
        }
        ExprKind::Error => {
            let _ = writeln!(out, "{indent}error {span}");
        }
    }
}

#[test]
fn declaration_with_a_dict_of_every_literal() {
    insta::assert_snapshot!(check(r#"test Decl { s: "hi", i: -7, d: -0.5, t: true, f: false, v: Wasp }"#), @r#"
    decl test Decl 0..65
      dict 10..65
        s: 12..19
          string 15..19 "hi"
        i: 21..26
          integer 24..26 -7
        d: 28..35
          decimal 31..35 -0.5
        t: 37..44
          bool 40..44 true
        f: 46..54
          bool 49..54 false
        v: 56..63
          var 59..63 Wasp
    "#);
}
