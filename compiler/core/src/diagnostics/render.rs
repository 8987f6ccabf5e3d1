//! Renders diagnostics as text (rustc-style, through codespan-reporting) or as JSON.
//!
//! Rendering returns strings; deciding where they go and whether the terminal wants colour is the
//! CLI's business.

use super::diagnostic::{Diagnostic, Severity};
use crate::syntax::ast::Span;
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config, Styles, StylesWriter, termcolor};
use serde_json::{Value, json};

/// The file a set of diagnostics points into: its name as shown to the user, and its text.
pub struct SourceFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// ANSI colours, for a terminal.
    Ansi,
    /// Plain text, for pipes, files, `NO_COLOR` and snapshots.
    Plain,
}

/// Renders one diagnostic rustc-style: `error: message`, `--> file:line:col`, the source lines with
/// carets under the spans and their labels, then `= help: ...`.
pub fn render(diagnostic: &Diagnostic, file: &SourceFile, color: ColorMode) -> String {
    let simple_file = SimpleFile::new(file.name, file.text);
    let codespan_diagnostic = to_codespan(diagnostic, file.text);
    let config = Config::default();
    match color {
        ColorMode::Plain => term::emit_into_string(&config, &simple_file, &codespan_diagnostic)
            .unwrap_or_else(|_| fallback(diagnostic, file)),
        ColorMode::Ansi => {
            let styles = Styles::default();
            let mut buffer = termcolor::Buffer::ansi();
            let mut writer = StylesWriter::new(&mut buffer, &styles);
            match term::emit_to_write_style(
                &mut writer,
                &config,
                &simple_file,
                &codespan_diagnostic,
            ) {
                Ok(()) => String::from_utf8_lossy(buffer.as_slice()).into_owned(),
                Err(_) => fallback(diagnostic, file),
            }
        }
    }
}

/// Renders every diagnostic, one after the other, in the order given.
pub fn render_all(diagnostics: &[Diagnostic], file: &SourceFile, color: ColorMode) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&render(diagnostic, file, color));
    }
    out
}

/// One JSON object per diagnostic, for editors and tests:
/// `{ severity, message, file, start: {line, column, offset}, end: {...}, labels: [...], help }`.
/// Lines and columns are 1-based; columns count characters; offsets are bytes.
pub fn to_json(diagnostic: &Diagnostic, file: &SourceFile) -> Value {
    let labels: Vec<Value> = std::iter::once((&diagnostic.primary, true))
        .chain(diagnostic.secondary.iter().map(|label| (label, false)))
        .map(|(label, primary)| {
            json!({
                "primary": primary,
                "message": label.message,
                "start": position_json(file.text, label.span.start),
                "end": position_json(file.text, label.span.end),
            })
        })
        .collect();
    json!({
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "file": file.name,
        "start": position_json(file.text, diagnostic.primary.span.start),
        "end": position_json(file.text, diagnostic.primary.span.end),
        "labels": labels,
        "help": diagnostic.help,
    })
}

/// 1-based line and column (in characters) of a byte offset; offsets past the end or inside a
/// multi-byte character are clamped to the nearest character boundary before it.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

fn position_json(text: &str, offset: usize) -> Value {
    let (line, column) = line_column(text, offset);
    json!({ "line": line, "column": column, "offset": floor_char_boundary(text, offset) })
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Clamps a span to character boundaries inside the text so that the renderer never fails on it.
fn clamp_span(text: &str, span: Span) -> std::ops::Range<usize> {
    let start = floor_char_boundary(text, span.start);
    let end = floor_char_boundary(text, span.end).max(start);
    start..end
}

fn to_codespan(diagnostic: &Diagnostic, text: &str) -> cs::Diagnostic<()> {
    let severity = match diagnostic.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let mut labels = vec![
        cs::Label::primary((), clamp_span(text, diagnostic.primary.span))
            .with_message(&diagnostic.primary.message),
    ];
    labels.extend(diagnostic.secondary.iter().map(|label| {
        cs::Label::secondary((), clamp_span(text, label.span)).with_message(&label.message)
    }));
    let notes = diagnostic
        .help
        .iter()
        .map(|help| format!("help: {help}"))
        .collect();
    cs::Diagnostic::new(severity)
        .with_message(&diagnostic.message)
        .with_labels(labels)
        .with_notes(notes)
}

/// Used only if codespan-reporting refuses a span; keeps the essential facts on one line.
fn fallback(diagnostic: &Diagnostic, file: &SourceFile) -> String {
    let (line, column) = line_column(file.text, diagnostic.primary.span.start);
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "{severity}: {}\n  --> {}:{line}:{column}\n",
        diagnostic.message, file.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "app Chat {\n  title: \"Chat\",,\n}\n";

    fn extra_comma() -> Diagnostic {
        let comma = SOURCE.find(",,").unwrap() + 1;
        Diagnostic::error("unexpected `,`", Span::new(comma, comma + 1), "extra comma")
            .with_help("remove this extra comma")
    }

    #[test]
    fn plain_rendering_shows_location_source_caret_label_and_help() {
        let file = SourceFile {
            name: "main.wasp",
            text: SOURCE,
        };
        let text = render(&extra_comma(), &file, ColorMode::Plain);
        insta::assert_snapshot!(text, @r#"
        error: unexpected `,`
          ┌─ main.wasp:2:17
          │
        2 │   title: "Chat",,
          │                 ^ extra comma
          │
          = help: remove this extra comma
        "#);
    }

    #[test]
    fn ansi_rendering_contains_escape_codes_and_plain_does_not() {
        let file = SourceFile {
            name: "main.wasp",
            text: SOURCE,
        };
        assert!(render(&extra_comma(), &file, ColorMode::Ansi).contains("\u{1b}["));
        assert!(!render(&extra_comma(), &file, ColorMode::Plain).contains("\u{1b}["));
    }

    #[test]
    fn json_has_positions_labels_and_help() {
        let file = SourceFile {
            name: "main.wasp",
            text: SOURCE,
        };
        let value = to_json(&extra_comma(), &file);
        assert_eq!(value["severity"], "error");
        assert_eq!(value["start"]["line"], 2);
        assert_eq!(value["start"]["column"], 17);
        assert_eq!(value["end"]["column"], 18);
        assert_eq!(value["labels"][0]["message"], "extra comma");
        assert_eq!(value["help"], "remove this extra comma");
    }

    #[test]
    fn spans_past_the_end_or_inside_a_character_do_not_break_rendering() {
        let text = "é";
        let file = SourceFile {
            name: "x.wasp",
            text,
        };
        let diagnostic = Diagnostic::error("odd", Span::new(1, 99), "here");
        let rendered = render(&diagnostic, &file, ColorMode::Plain);
        assert!(rendered.contains("odd"));
        assert_eq!(line_column(text, 1), (1, 1));
        assert_eq!(line_column(text, 99), (1, 2));
    }
}
