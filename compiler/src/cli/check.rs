//! `appc check`: parse (and unless `--syntax-only`, analyze) a spec and print what is wrong.

use super::args::{CheckArgs, ColorChoice, Emit, Format};
use super::disk_files::DiskFiles;
use super::project::locate_spec;
use super::step::StepError;
use super::terminal::stderr_wants_color;
use anyhow::Context;
use appc_core::Stop;
use appc_core::diagnostics::{self, ColorMode, Diagnostic, Severity, SourceFile};
use std::io::Write;
use std::path::Path;

/// Prints the spec's diagnostics (and the IR with `--emit ir`); the summary line is the last
/// word, so [`StepError::SpecErrors`] needs no further advice.
pub fn run(args: &CheckArgs, color: ColorChoice) -> Result<(), StepError> {
    let spec_path = locate_spec(&args.path)?;
    let bytes = std::fs::read(&spec_path)
        .with_context(|| format!("cannot read `{}`", spec_path.display()))?;
    let display_name = spec_path.display().to_string();

    let project_root = spec_path.parent().unwrap_or(Path::new("."));
    let stop = if args.syntax_only {
        Stop::AfterParsing
    } else {
        Stop::AfterAnalysis
    };
    let compiled = appc_core::compile(&bytes, &DiskFiles::new(project_root), stop);
    let ir_json = match (args.emit, &compiled.spec) {
        (Some(Emit::Ir), Some(spec)) => {
            Some(serde_json::to_string_pretty(spec).context("cannot print the IR as JSON")?)
        }
        _ => None,
    };
    let diagnostics = compiled.diagnostics;

    let text = String::from_utf8_lossy(&bytes);
    let source = SourceFile {
        name: &display_name,
        text: &text,
    };
    report(&diagnostics, &source, args, color)?;

    if let Some(ir_json) = ir_json {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{ir_json}").context("cannot write the IR to stdout")?;
    }
    if diagnostics::has_errors(&diagnostics) {
        return Err(StepError::SpecErrors);
    }
    Ok(())
}

fn report(
    diagnostics: &[Diagnostic],
    source: &SourceFile,
    args: &CheckArgs,
    color: ColorChoice,
) -> anyhow::Result<()> {
    match args.format {
        Format::Json => {
            // JSON lines go to stdout for tools, unless stdout already carries the emitted IR.
            let mut out: Box<dyn Write> = if args.emit.is_some() {
                Box::new(std::io::stderr().lock())
            } else {
                Box::new(std::io::stdout().lock())
            };
            for diagnostic in diagnostics {
                writeln!(out, "{}", diagnostics::to_json(diagnostic, source))?;
            }
        }
        Format::Human => {
            let color_mode = if stderr_wants_color(color) {
                ColorMode::Ansi
            } else {
                ColorMode::Plain
            };
            let mut stderr = std::io::stderr().lock();
            write!(
                stderr,
                "{}",
                diagnostics::render_all(diagnostics, source, color_mode)
            )?;
            writeln!(stderr, "{}", summary(diagnostics, source.name))?;
        }
    }
    Ok(())
}

/// The closing line, e.g. "`main.wasp`: 2 errors, 1 warning" or "`main.wasp`: no problems found".
fn summary(diagnostics: &[Diagnostic], file_name: &str) -> String {
    let count = |severity| {
        diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == severity)
            .count()
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    match (errors, warnings) {
        (0, 0) => format!("checked `{file_name}`: no problems found"),
        (0, warnings) => format!("checked `{file_name}`: {}", plural(warnings, "warning")),
        (errors, 0) => format!("error: `{file_name}` has {}", plural(errors, "error")),
        (errors, warnings) => format!(
            "error: `{file_name}` has {} and {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use appc_core::syntax::ast::Span;

    #[test]
    fn summary_counts_errors_and_warnings() {
        let error = Diagnostic::error("e", Span::default(), "");
        let warning = Diagnostic::warning("w", Span::default(), "");
        assert_eq!(
            summary(&[], "main.wasp"),
            "checked `main.wasp`: no problems found"
        );
        assert_eq!(
            summary(std::slice::from_ref(&warning), "main.wasp"),
            "checked `main.wasp`: 1 warning"
        );
        assert_eq!(
            summary(&[error.clone(), error.clone(), warning], "main.wasp"),
            "error: `main.wasp` has 2 errors and 1 warning"
        );
        assert_eq!(summary(&[error], "x"), "error: `x` has 1 error");
    }
}
