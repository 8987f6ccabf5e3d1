//! The rule that every Socket.IO namespace of an app uses the same `encoding`.
//!
//! A Socket.IO server has one packet parser for all its namespaces (socketioxide sets it on the
//! server, as socket.io does), so a namespace whose `encoding` differs from the others' could not
//! be served as written. This is reported instead of silently using the first one. The places it
//! points at were kept by `sockets` while it checked each socket.

use super::ir::Encoding;
use super::sockets::CheckedSocket;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::Span;

/// Reports every socket whose encoding differs from the first one's. `sockets` are in the order
/// the rule reads them: the app's root webSocket when there is one, then the namespaces.
pub fn check_one_encoding(sockets: &[&CheckedSocket], diagnostics: &mut Vec<Diagnostic>) {
    let Some((first, others)) = sockets.split_first() else {
        return;
    };
    let first_encoding = first.namespace.encoding;
    for socket in others
        .iter()
        .filter(|socket| socket.namespace.encoding != first_encoding)
    {
        let encoding = socket.namespace.encoding;
        let help = format!(
            "a Socket.IO server has one parser for all its namespaces: {} `encoding: {}` here, or change {} to `{}`",
            if socket.encoding_span.is_some() {
                "write"
            } else {
                "add"
            },
            name_of(first_encoding),
            first.description(),
            name_of(encoding),
        );
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "{} uses encoding `{}`, but {} uses `{}`",
                    socket.description(),
                    name_of(encoding),
                    first.description(),
                    name_of(first_encoding)
                ),
                encoding_place(socket),
                format!("`{}` here", name_of(encoding)),
            )
            .with_secondary(
                encoding_place(first),
                format!("`{}` here", name_of(first_encoding)),
            )
            .with_help(help),
        );
    }
}

/// Where a socket's encoding comes from: the written `encoding` value, or (for the default
/// `json`) the place that declares the socket.
fn encoding_place(socket: &CheckedSocket) -> Span {
    socket.encoding_span.unwrap_or(socket.declared_span)
}

fn name_of(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Json => "json",
        Encoding::Msgpack => "msgpack",
    }
}
