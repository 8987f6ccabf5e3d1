//! What appc itself writes to the terminal: cargo-style stage lines (`   Compiling ...`),
//! `appc dev`'s `[appc]` status lines and the prefix of its children's lines, and whether to
//! colour them.
//!
//! Everything goes to stderr through [`line`], which ignores a closed stderr: `eprintln!` would
//! panic there, and under `appc dev` a panicking main thread would leave the children running.

use super::args::ColorChoice;
use std::io::{IsTerminal, Write};

/// Whether text written to stderr should carry ANSI colours.
pub fn stderr_wants_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
            !no_color && std::io::stderr().is_terminal()
        }
    }
}

/// Writes `text` and a newline to stderr in one piece (lines of several threads do not mix).
/// A closed stderr is ignored: no one reads the line, and the work goes on.
pub fn line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// Writes `text` to stderr as it is (it ends its own lines), ignoring a closed stderr.
pub fn text(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{text}");
}

/// Prints a stage line in cargo's style (a right-aligned verb, green and bold on a terminal).
pub fn stage(color: bool, verb: &str, what: &str) {
    if color {
        line(&format!("\x1b[1;32m{verb:>12}\x1b[0m {what}"));
    } else {
        line(&format!("{verb:>12} {what}"));
    }
}

/// The kind of an `[appc]` status line, which sets its colour on a terminal.
#[derive(Debug, Clone, Copy)]
pub enum StatusKind {
    Info,
    Success,
    Error,
}

/// One `[appc]` line: bold on a terminal, green for success and red for errors.
pub fn status_line(color: bool, kind: StatusKind, message: &str) {
    if !color {
        line(&format!("[appc] {message}"));
        return;
    }
    let style = match kind {
        StatusKind::Info => "1",
        StatusKind::Success => "1;32",
        StatusKind::Error => "1;31",
    };
    line(&format!("\x1b[{style}m[appc] {message}\x1b[0m"));
}

/// `server | ` (dimmed on a terminal): the prefix of the lines a child named `name` prints.
pub fn child_prefix(color: bool, name: &str) -> String {
    if color {
        format!("\x1b[2m{name} |\x1b[0m ")
    } else {
        format!("{name} | ")
    }
}
