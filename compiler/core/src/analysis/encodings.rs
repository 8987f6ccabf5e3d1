//! The rule that every Socket.IO namespace of an app uses the same `encoding`.
//!
//! A Socket.IO server has one packet parser for all its namespaces (socketioxide sets it on the
//! server, as socket.io does), so a namespace whose `encoding` differs from the others' could not
//! be served as written. This is reported instead of silently using the first one.

use super::declarations::{DeclKind, Declarations};
use super::ir::{Encoding, Namespace};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Decl, Expr, ExprKind, Span};

/// Reports every namespace whose encoding differs from the first one's (the app's root webSocket
/// when there is one, else the first `namespace`).
pub fn check_one_encoding(
    root: Option<&Namespace>,
    namespaces: &[&Namespace],
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let root_place = root.zip(declarations.app).map(|(namespace, app_decl)| {
        let socket_dict = dict_entry(&app_decl.body, "webSocket");
        let written = socket_dict.and_then(|dict| dict_entry(dict, "encoding"));
        let fallback = socket_dict.map_or(app_decl.name.span, |dict| dict.span);
        Place::new(namespace, "the app's `webSocket`", written, fallback)
    });
    let namespace_decls: Vec<&Decl> = declarations.of_kind(DeclKind::Namespace).collect();
    let namespace_places = namespaces.iter().filter_map(|namespace| {
        let decl = namespace_decls
            .iter()
            .find(|decl| decl.name.name == namespace.name)?;
        let written = dict_entry(&decl.body, "encoding");
        let owner = format!("namespace `{}`", namespace.name);
        Some(Place::new(namespace, &owner, written, decl.name.span))
    });
    let mut places = root_place.into_iter().chain(namespace_places);
    let Some(first) = places.next() else {
        return;
    };
    for place in places.filter(|place| place.encoding != first.encoding) {
        let help = format!(
            "a Socket.IO server has one parser for all its namespaces: {} `encoding: {}` here, or change {} to `{}`",
            if place.written.is_some() {
                "write"
            } else {
                "add"
            },
            name_of(first.encoding),
            first.owner,
            name_of(place.encoding),
        );
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "{} uses encoding `{}`, but {} uses `{}`",
                    place.owner,
                    name_of(place.encoding),
                    first.owner,
                    name_of(first.encoding)
                ),
                place.written.unwrap_or(place.fallback),
                format!("`{}` here", name_of(place.encoding)),
            )
            .with_secondary(
                first.written.unwrap_or(first.fallback),
                format!("`{}` here", name_of(first.encoding)),
            )
            .with_help(help),
        );
    }
}

/// Where a namespace's encoding comes from: the written `encoding` value, or (for the default
/// `json`) the place that declares the namespace.
struct Place {
    encoding: Encoding,
    owner: String,
    written: Option<Span>,
    fallback: Span,
}

impl Place {
    fn new(namespace: &Namespace, owner: &str, written: Option<&Expr>, fallback: Span) -> Self {
        Place {
            encoding: namespace.encoding,
            owner: owner.to_string(),
            written: written.map(|value| value.span),
            fallback,
        }
    }
}

fn name_of(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Json => "json",
        Encoding::Msgpack => "msgpack",
    }
}

fn dict_entry<'e>(expr: &'e Expr, key: &str) -> Option<&'e Expr> {
    match &expr.kind {
        ExprKind::Dict(entries) => entries
            .iter()
            .find(|entry| entry.key.name == key)
            .map(|entry| &entry.value),
        _ => None,
    }
}
