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

#[test]
fn comments_are_trivia_and_do_not_nest() {
    insta::assert_snapshot!(check(r#"  // line comment
/* block
  span//ning */
test /* *hi* */ Decl 42  // trailing
// final"#), @"
    decl test Decl 43..66
      integer 64..66 42
    ");
}

#[test]
fn empty_dicts_lists_and_trailing_commas() {
    insta::assert_snapshot!(check(r#"test Decl { dict: {}, list: [], one: [ 1, ], d: { a: 1, }, }"#), @"
    decl test Decl 0..60
      dict 10..60
        dict: 12..20
          dict 18..20
        list: 22..30
          list 28..30
        one: 32..43
          list 37..43
            integer 39..40 1
        d: 45..57
          dict 48..57
            a: 50..54
              integer 53..54 1
    ");
}

#[test]
fn tuples_of_two_or_more_items_with_trailing_comma() {
    insta::assert_snapshot!(check(r#"test Pair (1, "foo")
test TrailingComma (42, 314,)
test Quadruple (1, "foo", 2, true)"#), @r#"
    decl test Pair 0..20
      tuple 10..20
        integer 11..12 1
        string 14..19 "foo"
    decl test TrailingComma 21..50
      tuple 40..50
        integer 41..43 42
        integer 45..48 314
    decl test Quadruple 51..85
      tuple 66..85
        integer 67..68 1
        string 70..75 "foo"
        integer 77..78 2
        bool 80..84 true
    "#);
}

#[test]
fn one_item_and_empty_tuples_are_reported_but_built() {
    insta::assert_snapshot!(check(r#"test One ("a")
test Empty ()"#), @r#"
    decl test One 0..14
      tuple 9..14
        string 10..13 "a"
    decl test Empty 15..28
      tuple 26..28
    error: a tuple needs at least 2 items, found 1
      ┌─ test.wasp:1:10
      │
    1 │ test One ("a")
      │          ^^^^^ this tuple has only 1 item
      │
      = help: add items separated by `,`, or remove the parentheses to use a single value

    error: a tuple needs at least 2 items, found 0
      ┌─ test.wasp:2:12
      │
    2 │ test Empty ()
      │            ^^ this tuple is empty
      │
      = help: add items separated by `,`, or remove the parentheses to use a single value
    "#);
}

#[test]
fn string_escapes_are_decoded() {
    insta::assert_snapshot!(check(r#"test S "quote \" backslash \\ slash \/ tab \t newline \n unicode \u00e9 \uD83D\uDE00""#), @r#"
    decl test S 0..85
      string 7..85 "quote \" backslash \\ slash / tab \t newline \n unicode é 😀"
    "#);
}

#[test]
fn unknown_escape_is_reported_at_the_escape() {
    insta::assert_snapshot!(check(r#"test S "bad \q escape"
test T "ok""#), @r#"
    decl test S 0..22
      error 7..22
    decl test T 23..34
      string 30..34 "ok"
    error: unknown escape `\q` in string
      ┌─ test.wasp:1:13
      │
    1 │ test S "bad \q escape"
      │             ^^ unknown escape
      │
      = help: the escapes are \" \\ \/ \b \f \n \r \t and \uXXXX; write \\ for a backslash
    "#);
}

#[test]
fn integers_and_decimals_with_signs() {
    insta::assert_snapshot!(check(r#"test N [0, 42, -7, 3.14, -0.5, 9223372036854775807, -9223372036854775808]"#), @"
    decl test N 0..73
      list 7..73
        integer 8..9 0
        integer 11..13 42
        integer 15..17 -7
        decimal 19..23 3.14
        decimal 25..29 -0.5
        integer 31..50 9223372036854775807
        integer 52..72 -9223372036854775808
    ");
}

#[test]
fn integer_overflow_is_a_diagnostic() {
    insta::assert_snapshot!(check(r#"test N [9223372036854775808, -9223372036854775809]"#), @"
    decl test N 0..50
      list 7..50
        error 8..27
        error 29..49
    error: integer literal is out of range
      ┌─ test.wasp:1:9
      │
    1 │ test N [9223372036854775808, -9223372036854775809]
      │         ^^^^^^^^^^^^^^^^^^^ does not fit in a 64-bit signed integer
      │
      = help: use a value between -9223372036854775808 and 9223372036854775807

    error: integer literal is out of range
      ┌─ test.wasp:1:30
      │
    1 │ test N [9223372036854775808, -9223372036854775809]
      │                              ^^^^^^^^^^^^^^^^^^^^ does not fit in a 64-bit signed integer
      │
      = help: use a value between -9223372036854775808 and 9223372036854775807
    ");
}

#[test]
fn identifiers_and_keywords() {
    insta::assert_snapshot!(check(r#"test V [Wasp, _private, snake_case9, trueish, importer, fromage, true, false]"#), @"
    decl test V 0..77
      list 7..77
        var 8..12 Wasp
        var 14..22 _private
        var 24..35 snake_case9
        var 37..44 trueish
        var 46..54 importer
        var 56..63 fromage
        bool 65..69 true
        bool 71..76 false
    ");
}

#[test]
fn named_and_default_external_imports() {
    insta::assert_snapshot!(check(r#"test I {
  named: import { MainPage } from "@src/client/MainPage.tsx",
  default: import Page from "@src/Page.jsx",
}"#), @r#"
    decl test I 0..117
      dict 7..117
        named: 11..69
          import 18..69 named MainPage (27..35) from "@src/client/MainPage.tsx" (43..69)
        default: 73..114
          import 82..114 default Page (89..93) from "@src/Page.jsx" (99..114)
    "#);
}

#[test]
fn quoter_content_is_raw_and_ends_at_the_first_matching_tag() {
    insta::assert_snapshot!(check(r#"entity User {=psl
  id    Int    @id @default(autoincrement())
  isOn  Boolean @default(false)
psl=}
test Json {=json { "a": [1, 2] } json=}"#), @r#"
    decl entity User 0..100
      quoter 12..100 psl "\n  id    Int    @id @default(autoincrement())\n  isOn  Boolean @default(false)\n" (17..95)
    decl test Json 101..140
      quoter 111..140 json " { \"a\": [1, 2] } " (117..134)
    "#);
}

#[test]
fn quoter_may_contain_other_openings_and_other_closing_tags() {
    insta::assert_snapshot!(check(r#"test A {=foo {=bar foo=}
test B {=foo {=foo foo=}
test C {=foo bar=} foo=}
test D {=foo xfoo=} foo=}"#), @r#"
    decl test A 0..24
      quoter 7..24 foo " {=bar " (12..19)
    decl test B 25..49
      quoter 32..49 foo " {=foo " (37..44)
    decl test C 50..74
      quoter 57..74 foo " bar=} " (62..69)
    decl test D 75..100
      quoter 82..100 foo " xfoo=} " (87..95)
    "#);
}

#[test]
fn optional_type_extension() {
    insta::assert_snapshot!(check(r#"type Message { text: String, author: User?, tags: [String]?, ids: [Int?] }"#), @"
    decl type Message 0..74
      dict 13..74
        text: 15..27
          var 21..27 String
        author: 29..42
          optional 37..42
            var 37..41 User
        tags: 44..59
          optional 50..59
            list 50..58
              var 51..57 String
        ids: 61..72
          list 66..72
            optional 67..71
              var 67..70 Int
    ");
}

#[test]
fn optional_mark_may_follow_trivia() {
    // The `?` is found in the text after the value, so it must be found behind any trivia the
    // grammar skips: spaces, a vertical tab, line breaks and both kinds of comments.
    insta::assert_snapshot!(check("type T { a: String /* c */ ?, b: [Int]\u{b}\n  // c\n  ?, c: D/**/, e: F// ?\n }"), @"
    decl type T 0..73
      dict 7..73
        a: 9..28
          optional 12..28
            var 12..18 String
        b: 30..50
          optional 33..50
            list 33..38
              var 34..37 Int
        c: 52..56
          var 55..56 D
        e: 62..66
          var 65..66 F
    ");
}

#[test]
fn optional_mark_may_not_repeat() {
    insta::assert_snapshot!(check(r#"type T { a: String?? }"#), @"
    decl type T 0..19
      error 7..19
    error: expected `}` or `,` after dict entry, found `?`
      ┌─ test.wasp:1:20
      │
    1 │ type T { a: String?? }
      │                    ^ unexpected `?`
    ");
}

#[test]
fn declarations_of_every_kind_keep_their_spans() {
    insta::assert_snapshot!(check(r#"app Chat { title: "Chat" }
page MainPage { component: import { Main } from "@src/client/Main.tsx" }
route RootRoute { path: "/", to: MainPage }"#), @r#"
    decl app Chat 0..26
      dict 9..26
        title: 11..24
          string 18..24 "Chat"
    decl page MainPage 27..99
      dict 41..99
        component: 43..97
          import 54..97 named Main (63..67) from "@src/client/Main.tsx" (75..97)
    decl route RootRoute 100..143
      dict 116..143
        path: 118..127
          string 124..127 "/"
        to: 129..141
          var 133..141 MainPage
    "#);
}

#[test]
fn missing_comma_between_dict_entries() {
    insta::assert_snapshot!(check(r#"test Declaration {
  a: 1
  b: 2
}
"#), @"
    decl test Declaration 0..28
      error 17..28
    error: expected `}` or `,` after dict entry, found `b`
      ┌─ test.wasp:3:3
      │
    3 │   b: 2
      │   ^ unexpected `b`
      │
      = help: separate dict entries with `,`
    ");
}

#[test]
fn missing_colon_after_dict_key() {
    insta::assert_snapshot!(check(r#"app A { title "x" }"#), @r#"
    decl app A 0..14
      error 6..14
    error: expected `:` after dict key, found a string
      ┌─ test.wasp:1:15
      │
    1 │ app A { title "x" }
      │               ^^^ unexpected string
      │
      = help: write dict entries as `key: value`
    "#);
}

#[test]
fn missing_value_after_colon() {
    insta::assert_snapshot!(check(r#"app A { title: }"#), @"
    decl app A 0..15
      error 6..15
    error: expected an expression, found `}`
      ┌─ test.wasp:1:16
      │
    1 │ app A { title: }
      │                ^ unexpected `}`
    ");
}

#[test]
fn missing_comma_in_list_and_tuple() {
    insta::assert_snapshot!(check(r#"app A { a: [1 2] }
app B { b: (1 2) }"#), @"
    decl app A 0..14
      error 6..14
    decl app B 19..33
      error 25..33
    error: expected `]` or `,` after list item, found number `2`
      ┌─ test.wasp:1:15
      │
    1 │ app A { a: [1 2] }
      │               ^ unexpected number `2`
      │
      = help: separate list items with `,`

    error: expected `)` or `,` after tuple item, found number `2`
      ┌─ test.wasp:2:15
      │
    2 │ app B { b: (1 2) }
      │               ^ unexpected number `2`
      │
      = help: separate tuple items with `,`
    ");
}

#[test]
fn double_comma_after_dict_entry() {
    insta::assert_snapshot!(check(r#"app Chat {
  webSocket: { fn: x },,
  title: "Chat",
}"#), @"
    decl app Chat 0..34
      error 9..34
    error: unexpected `,`
      ┌─ test.wasp:2:24
      │
    2 │   webSocket: { fn: x },,
      │                        ^ extra comma
      │
      = help: remove this extra comma
    ");
}

#[test]
fn comma_at_the_start_of_a_list() {
    insta::assert_snapshot!(check(r#"app A [, 1]"#), @"
    decl app A 0..7
      error 6..7
    error: unexpected `,`
      ┌─ test.wasp:1:8
      │
    1 │ app A [, 1]
      │        ^ extra comma
      │
      = help: remove this extra comma
    ");
}

#[test]
fn extra_closing_brace_at_top_level() {
    insta::assert_snapshot!(check(r#"app A { a: 1 }}
page B {}"#), @"
    decl app A 0..14
      dict 6..14
        a: 8..12
          integer 11..12 1
    decl page B 16..25
      dict 23..25
    error: unexpected `}`
      ┌─ test.wasp:1:15
      │
    1 │ app A { a: 1 }}
      │               ^ nothing is open here to close
      │
      = help: remove this extra closing bracket, or check the brackets before it
    ");
}

#[test]
fn unclosed_dict_at_end_of_file() {
    insta::assert_snapshot!(check(r#"test Decl {
"#), @"
    decl test Decl 0..12
      error 10..12
    error: expected a dict key or `}`, found the end of the file
      ┌─ test.wasp:2:1
      │
    1 │ test Decl {
      │           - this `{` is never closed
    2 │ 
      │ ^ the file ends here
      │
      = help: the file ended too early: close every `{`, `[` and `(` that is still open
    ");
}

#[test]
fn declaration_without_name_or_value() {
    insta::assert_snapshot!(check(r#"app
"#), @"
    error: expected a declaration name, found the end of the file
      ┌─ test.wasp:2:1
      │
    2 │ 
      │ ^ the file ends here
      │
      = help: complete the declaration: `<type> <name> <value>`, e.g. `page MainPage { ... }`
    ");
}

#[test]
fn declaration_name_must_be_an_identifier() {
    insta::assert_snapshot!(check(r#"test "Declaration" {}"#), @r#"
    error: expected a declaration name, found a string
      ┌─ test.wasp:1:6
      │
    1 │ test "Declaration" {}
      │      ^^^^^^^^^^^^^ unexpected string
      │
      = help: names are identifiers: letters, digits and `_`, not starting with a digit
    "#);
}

#[test]
fn unrecognized_character_is_named() {
    insta::assert_snapshot!(check("test Decl ^ {}\ntest Nul \u{0} {}"), @"decl test Decl 0..10\n  error 10..10\ndecl test Nul 15..24\n  error 24..24\nerror: unrecognized character `^`\n  ┌─ test.wasp:1:11\n  │\n1 │ test Decl ^ {}\n  │           ^ this character is not part of the language\n  │\n  = help: remove it; strings go in double quotes and raw text in a quoter `{=tag ... tag=}`\n\nerror: unrecognized character `\\0`\n  ┌─ test.wasp:2:10\n  │\n2 │ test Nul \0 {}\n  │           this character is not part of the language\n  │\n  = help: remove it; strings go in double quotes and raw text in a quoter `{=tag ... tag=}`");
}

#[test]
fn unterminated_string_points_at_its_start() {
    insta::assert_snapshot!(check(r#"app A { a: "abc }
page B {}"#), @r#"
    decl app A 0..11
      error 6..11
    decl page B 18..27
      dict 25..27
    error: unterminated string
      ┌─ test.wasp:1:18
      │
    1 │ app A { a: "abc }
      │            -     ^ the line ends before the closing `"`
      │            │     
      │            the string starts here
      │
      = help: close the string with `"` on the same line; write `\n` for a line break
    "#);
}

#[test]
fn unterminated_block_comment_points_at_its_start() {
    insta::assert_snapshot!(check(r#"app A { a: 1 /* abc }
page B {}"#), @"
    decl app A 0..13
      error 6..13
    decl page B 22..31
      dict 29..31
    error: unterminated block comment
      ┌─ test.wasp:2:10
      │
    1 │ app A { a: 1 /* abc }
      │              -- the comment starts here
    2 │ page B {}
      │          ^ the file ends before the closing `*/`
      │
      = help: close the comment with `*/` (block comments do not nest)
    ");
}

#[test]
fn unterminated_quoter_names_its_tag() {
    insta::assert_snapshot!(check(r#"entity User {=psl
  id Int @id
"#), @"
    decl entity User 0..13
      error 12..13
    error: unterminated quoter `{=psl`
      ┌─ test.wasp:3:1
      │
    1 │ entity User {=psl
      │             ----- the quoter `{=psl` opens here
    2 │   id Int @id
    3 │ 
      │ ^ the file ends before the closing `psl=}`
      │
      = help: end the quoted text with `psl=}`; only a closing tag with the same name `psl` closes it
    ");
}

#[test]
fn mismatched_quoter_tags() {
    insta::assert_snapshot!(check(r#"test Failure {=a b=}"#), @"
    decl test Failure 0..14
      error 13..14
    error: unterminated quoter `{=a`
      ┌─ test.wasp:1:21
      │
    1 │ test Failure {=a b=}
      │              ---    ^ the file ends before the closing `a=}`
      │              │      
      │              the quoter `{=a` opens here
      │
      = help: end the quoted text with `a=}`; only a closing tag with the same name `a` closes it
    ");
}

#[test]
fn stray_closing_tag_after_a_quoter() {
    insta::assert_snapshot!(check(r#"test TwoClosingTags {=foo foo=} foo=}"#), @r#"
    decl test TwoClosingTags 0..31
      quoter 20..31 foo " " (25..26)
    error: unexpected closing tag `foo=}`
      ┌─ test.wasp:1:33
      │
    1 │ test TwoClosingTags {=foo foo=} foo=}
      │                                 ^^^^^ no quoter is open here
      │
      = help: a quoter ends at the first `foo=}` after `{=foo` (quoters do not nest); remove this extra closing tag
    "#);
}

#[test]
fn import_without_from_or_closing_brace() {
    insta::assert_snapshot!(check(r#"app A { a: import x "y" }
app B { b: import { x from "y" }"#), @r#"
    decl app A 0..20
      error 6..20
    decl app B 26..48
      error 32..48
    error: expected `from`, found a string
      ┌─ test.wasp:1:21
      │
    1 │ app A { a: import x "y" }
      │                     ^^^ unexpected string
      │
      = help: write `import { name } from "@src/..."` or `import name from "@src/..."`

    error: expected `}`, found keyword `from`
      ┌─ test.wasp:2:23
      │
    2 │ app B { b: import { x from "y" }
      │                       ^^^^ unexpected keyword `from`
      │
      = help: write `import { name } from "@src/..."` or `import name from "@src/..."`
    "#);
}

#[test]
fn keyword_cannot_be_a_dict_key() {
    insta::assert_snapshot!(check(r#"app A { from: 1 }"#), @"
    decl app A 0..8
      error 6..8
    error: expected a dict key or `}`, found keyword `from`
      ┌─ test.wasp:1:9
      │
    1 │ app A { from: 1 }
      │         ^^^^ unexpected keyword `from`
    ");
}

#[test]
fn errors_in_several_declarations_are_all_reported_once() {
    insta::assert_snapshot!(check(r#"app Test {
  dependencies: [
    ("wasp-compiler")
  ]
}

api testApi {
  httpRoute: (GET)
}

page Broken {
  component: import { X } "@src/X.tsx"
}

route R { path: "/", to: Broken }"#), @r#"
    decl app Test 0..56
      dict 9..56
        dependencies: 13..54
          list 27..54
            tuple 33..50
              string 34..49 "wasp-compiler"
    decl api testApi 58..92
      dict 70..92
        httpRoute: 74..90
          tuple 85..90
            var 86..89 GET
    decl page Broken 94..134
      error 106..134
    decl route R 150..183
      dict 158..183
        path: 160..169
          string 166..169 "/"
        to: 171..181
          var 175..181 Broken
    error: a tuple needs at least 2 items, found 1
      ┌─ test.wasp:3:5
      │
    3 │     ("wasp-compiler")
      │     ^^^^^^^^^^^^^^^^^ this tuple has only 1 item
      │
      = help: add items separated by `,`, or remove the parentheses to use a single value

    error: a tuple needs at least 2 items, found 1
      ┌─ test.wasp:8:14
      │
    8 │   httpRoute: (GET)
      │              ^^^^^ this tuple has only 1 item
      │
      = help: add items separated by `,`, or remove the parentheses to use a single value

    error: expected `from`, found a string
       ┌─ test.wasp:12:27
       │
    12 │   component: import { X } "@src/X.tsx"
       │                           ^^^^^^^^^^^^ unexpected string
       │
       = help: write `import { name } from "@src/..."` or `import name from "@src/..."`
    "#);
}

#[test]
fn block_comments_end_at_the_first_close() {
    insta::assert_snapshot!(check("/* a /* b */ test X ( 1 , 2 ) /* */ test Y T ?"), @"
    decl test X 13..29
      tuple 20..29
        integer 22..23 1
        integer 26..27 2
    decl test Y 36..46
      optional 43..46
        var 43..44 T
    ");
}

#[test]
fn nesting_deeper_than_the_limit_is_reported_once() {
    let depth = super::MAX_NESTING_DEPTH + 1;
    let input = format!(
        "page A {{}}\ntest Deep {}{}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let parsed = parse(&input);
    // `page A` and the cut-short `test Deep`, whose body is an error.
    assert_eq!(parsed.module.decls.len(), 2);
    let rendered = render_all(
        &parsed.diagnostics,
        &SourceFile {
            name: "test.wasp",
            text: &input,
        },
        ColorMode::Plain,
    );
    let shortened = rendered
        .replace(&"[".repeat(depth), "[...")
        .replace(&"]".repeat(depth), "...]");
    insta::assert_snapshot!(shortened, @"
    error: nesting is too deep
      ┌─ test.wasp:2:111
      │
    2 │ test Deep [......]
      │                                                                                                               ^ this is nested more than 100 levels deep
      │
      = help: nest dicts, lists and tuples at most 100 levels deep; the rest of the file was not parsed
    ");
}

#[test]
fn invalid_utf8_is_reported_at_the_first_bad_byte() {
    let parsed = super::parse_bytes(b"app A { title: \"caf\xe9\" }");
    insta::assert_debug_snapshot!(parsed.diagnostics, @r#"
    [
        Diagnostic {
            severity: Error,
            message: "the spec file is not valid UTF-8",
            primary: Label {
                span: Span {
                    start: 19,
                    end: 20,
                },
                message: "this byte is not valid UTF-8",
            },
            secondary: [],
            help: Some(
                "save the file with UTF-8 encoding",
            ),
        },
    ]
    "#);
}

#[test]
fn bad_unicode_escapes_are_reported() {
    insta::assert_snapshot!(check(r#"test A ["\u12", "\uD800", "\uDC00x", "ok \u00e9"]"#), @r#"
    decl test A 0..49
      list 7..49
        error 8..14
        error 16..24
        error 26..35
        string 37..48 "ok é"
    error: a `\u` escape needs exactly 4 hexadecimal digits
      ┌─ test.wasp:1:10
      │
    1 │ test A ["\u12", "\uD800", "\uDC00x", "ok \u00e9"]
      │          ^^^^ invalid unicode escape
      │
      = help: write the code point as four hex digits, e.g. `\u00e9`

    error: a `\u` escape names a lone UTF-16 surrogate
      ┌─ test.wasp:1:18
      │
    1 │ test A ["\u12", "\uD800", "\uDC00x", "ok \u00e9"]
      │                  ^^^^^^ not a character on its own
      │
      = help: write a high surrogate `\uD800`-`\uDBFF` directly followed by a low surrogate `\uDC00`-`\uDFFF`, or the character itself

    error: a `\u` escape names a lone UTF-16 surrogate
      ┌─ test.wasp:1:28
      │
    1 │ test A ["\u12", "\uD800", "\uDC00x", "ok \u00e9"]
      │                            ^^^^^^ not a character on its own
      │
      = help: write a high surrogate `\uD800`-`\uDBFF` directly followed by a low surrogate `\uDC00`-`\uDFFF`, or the character itself
    "#);
}

#[test]
fn later_entries_of_a_broken_declaration_are_still_checked() {
    insta::assert_snapshot!(check(r#"app Chat {
  webSocket: { fn: x },,
  title: "Chat",
  deps: ("one"),
  auth: {
    userEntity: User
    methods: {}
  },
  head: [1 2]
}
page Main { component: x }"#), @r#"
    decl app Chat 0..34
      error 9..34
    decl page Main 138..164
      dict 148..164
        component: 150..162
          var 161..162 x
    error: unexpected `,`
      ┌─ test.wasp:2:24
      │
    2 │   webSocket: { fn: x },,
      │                        ^ extra comma
      │
      = help: remove this extra comma

    error: a tuple needs at least 2 items, found 1
      ┌─ test.wasp:4:9
      │
    4 │   deps: ("one"),
      │         ^^^^^^^ this tuple has only 1 item
      │
      = help: add items separated by `,`, or remove the parentheses to use a single value

    error: expected `}` or `,` after dict entry, found `methods`
      ┌─ test.wasp:7:5
      │
    7 │     methods: {}
      │     ^^^^^^^ unexpected `methods`
      │
      = help: separate dict entries with `,`

    error: expected `]` or `,` after list item, found number `2`
      ┌─ test.wasp:9:12
      │
    9 │   head: [1 2]
      │            ^ unexpected number `2`
      │
      = help: separate list items with `,`
    "#);
}

#[test]
fn top_level_text_that_is_not_a_declaration() {
    insta::assert_snapshot!(check(r#""x" page A {}"#), @r#"
    error: expected a declaration, found a string
      ┌─ test.wasp:1:1
      │
    1 │ "x" page A {}
      │ ^^^ unexpected string
      │
      = help: a declaration is `<type> <name> <value>`, e.g. `page MainPage { ... }`
    "#);
}

#[test]
fn declaration_without_a_value() {
    insta::assert_snapshot!(check("app A"), @"
    decl app A 0..5
      error 5..5
    error: expected a value for the declaration, found the end of the file
      ┌─ test.wasp:1:6
      │
    1 │ app A
      │      ^ the file ends here
      │
      = help: complete the declaration: `<type> <name> <value>`, e.g. `page MainPage { ... }`
    ");
}

#[test]
fn list_and_tuple_cut_short_name_the_open_bracket() {
    insta::assert_snapshot!(check("app A [1,\n"), @"
    decl app A 0..10
      error 6..10
    error: expected a list item or `]`, found the end of the file
      ┌─ test.wasp:2:1
      │
    1 │ app A [1,
      │       - this `[` is never closed
    2 │ 
      │ ^ the file ends here
      │
      = help: the file ended too early: close every `{`, `[` and `(` that is still open
    ");
    insta::assert_snapshot!(check("app B (1,"), @"
    decl app B 0..9
      error 6..9
    error: expected a tuple item or `)`, found the end of the file
      ┌─ test.wasp:1:10
      │
    1 │ app B (1,
      │       -  ^ the file ends here
      │       │  
      │       this `(` is never closed
      │
      = help: the file ended too early: close every `{`, `[` and `(` that is still open
    ");
}
