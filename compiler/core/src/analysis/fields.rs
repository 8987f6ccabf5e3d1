//! Dictionaries of known keys and the shapes of their values.
//!
//! Every dict-bodied declaration and nested dict (`app`, `auth`, `webSocket`, `events`, ...) is
//! checked here the same way: unknown keys get a did-you-mean, duplicate keys point at both places,
//! missing required keys say what to add, and values of the wrong shape say what was expected.
//! Keys that Wasp knows but appc does not support yet are named as such instead of as typos. An
//! optional key comes out as an [`OptionalField`]: not written, valid, or written with errors.

use super::suggest;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{DictEntry, Expr, ExprKind, ExtImport, Span};
use std::fmt::Display;

/// The keys a dict may have.
pub struct DictShape<'s> {
    /// Shown in messages, e.g. "`webSocket`" or "page `MainPage`".
    pub owner: &'s dyn Display,
    /// Where to point when a required key is missing (the declaration name or the dict's key).
    pub owner_span: Span,
    pub fields: &'s [FieldSpec],
    /// Wasp keys that appc does not support yet.
    pub unsupported: &'s [&'s str],
    /// What to say after "remove `key`" for those keys, e.g. what appc supports instead.
    pub unsupported_help: Option<&'s str>,
}

/// One known key of a dict.
pub struct FieldSpec {
    pub name: &'static str,
    /// For a required key: what to write, shown as "add `<example>`" when it is missing.
    pub required_example: Option<&'static str>,
}

impl FieldSpec {
    pub const fn optional(name: &'static str) -> Self {
        FieldSpec {
            name,
            required_example: None,
        }
    }

    pub const fn required(name: &'static str, example: &'static str) -> Self {
        FieldSpec {
            name,
            required_example: Some(example),
        }
    }
}

/// The entries of a checked dict. Callers ask only for keys of its shape; a key written twice
/// gives its first occurrence (the second was reported).
pub struct Fields<'a> {
    entries: &'a [DictEntry],
}

impl<'a> Fields<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Expr> {
        self.entry(name).map(|entry| &entry.value)
    }

    pub fn entry(&self, name: &str) -> Option<&'a DictEntry> {
        self.entries.iter().find(|entry| entry.key.name == name)
    }

    /// Checks the optional key `name` with `check` when it is written; `check` returns `None`
    /// when it reported errors.
    pub fn optional<T>(
        &self,
        name: &str,
        check: impl FnOnce(&'a DictEntry) -> Option<T>,
    ) -> OptionalField<T> {
        match self.entry(name) {
            None => OptionalField::Absent,
            Some(entry) => match check(entry) {
                Some(value) => OptionalField::Valid(value),
                None => OptionalField::Invalid,
            },
        }
    }
}

/// An optional key of a dict, once checked. It keeps apart what `Option<Option<T>>` would blur:
/// a key that is not written, and one that is written with errors.
#[derive(Debug)]
pub enum OptionalField<T> {
    /// The key is not written.
    Absent,
    /// The key is written and its value is valid.
    Valid(T),
    /// The key is written with errors, which were reported.
    Invalid,
}

/// A value was written with errors, which were reported, so it has no place in the IR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorsReported;

impl<T> OptionalField<T> {
    /// Whether the key is written, valid or not.
    pub fn is_written(&self) -> bool {
        !matches!(self, OptionalField::Absent)
    }

    /// The valid value, if any.
    pub fn as_valid(&self) -> Option<&T> {
        match self {
            OptionalField::Valid(value) => Some(value),
            OptionalField::Absent | OptionalField::Invalid => None,
        }
    }

    /// The valid value, or `default` when the key is not written or invalid (an invalid value
    /// was reported as an error, so its default never reaches the IR).
    pub fn valid_or(self, default: T) -> T {
        match self {
            OptionalField::Valid(value) => value,
            OptionalField::Absent | OptionalField::Invalid => default,
        }
    }

    /// The value for the IR, where a key that is not written is `None`.
    pub fn into_ir(self) -> Result<Option<T>, ErrorsReported> {
        match self {
            OptionalField::Absent => Ok(None),
            OptionalField::Valid(value) => Ok(Some(value)),
            OptionalField::Invalid => Err(ErrorsReported),
        }
    }
}

/// The entries of `expr` when it is a dict; reports anything else. `Error` expressions were
/// reported by the parser and give `None` silently.
pub fn expect_dict<'a>(
    expr: &'a Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a [DictEntry]> {
    match &expr.kind {
        ExprKind::Dict(entries) => Some(entries),
        _ => {
            report_wrong_shape(expr, "a dictionary `{ ... }`", what, diagnostics);
            None
        }
    }
}

/// Reports every duplicate key among `entries` (pointing at both places) and returns the first
/// occurrence of each key, in source order.
pub fn unique_entries<'a>(
    entries: &'a [DictEntry],
    owner: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> impl Iterator<Item = &'a DictEntry> + use<'a> {
    // Dicts are small, so comparing each key with the ones before it is cheapest; reporting
    // first and filtering lazily afterwards avoids allocating for every dict.
    let first_occurrence = |index: usize, entry: &DictEntry| {
        entries[..index]
            .iter()
            .find(|earlier| earlier.key.name == entry.key.name)
    };
    for (index, entry) in entries.iter().enumerate() {
        if let Some(first) = first_occurrence(index, entry) {
            diagnostics.push(
                Diagnostic::error(
                    format!("duplicate key `{}` in {owner}", entry.key.name),
                    entry.key.span,
                    "written again here",
                )
                .with_secondary(first.key.span, "first written here")
                .with_help("keep one of the two"),
            );
        }
    }
    entries
        .iter()
        .enumerate()
        .filter_map(move |(index, entry)| {
            let is_first = !entries[..index]
                .iter()
                .any(|earlier| earlier.key.name == entry.key.name);
            is_first.then_some(entry)
        })
}

/// Checks the keys of a dict against `shape`. Returns `None` only when `expr` is not a dict.
pub fn check_dict<'a>(
    expr: &'a Expr,
    shape: &DictShape,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Fields<'a>> {
    let entries = expect_dict(expr, shape.owner, diagnostics)?;
    let fields = Fields { entries };
    for entry in unique_entries(entries, shape.owner, diagnostics) {
        let key = entry.key.name.as_str();
        if shape.fields.iter().any(|field| field.name == key) {
            continue;
        }
        if shape.unsupported.contains(&key) {
            diagnostics.push(
                Diagnostic::error(
                    format!("`{key}` in {} is not supported by appc yet", shape.owner),
                    entry.key.span,
                    "a Wasp field that appc does not generate yet",
                )
                .with_help(match shape.unsupported_help {
                    Some(help) => format!("remove `{key}`; {help}"),
                    None => format!("remove `{key}`"),
                }),
            );
        } else {
            let known: Vec<&str> = shape.fields.iter().map(|field| field.name).collect();
            let help = suggest::help_for_unknown(key, &known, "known fields", || {
                format!("remove `{key}`")
            });
            diagnostics.push(
                Diagnostic::error(
                    format!("unknown field `{key}` in {}", shape.owner),
                    entry.key.span,
                    "unknown field",
                )
                .with_help(help),
            );
        }
    }
    for field in shape.fields {
        if let Some(example) = field.required_example
            && fields.entry(field.name).is_none()
        {
            diagnostics.push(
                Diagnostic::error(
                    format!("missing field `{}` in {}", field.name, shape.owner),
                    shape.owner_span,
                    format!("needs `{}`", field.name),
                )
                .with_help(format!("add `{example}`")),
            );
        }
    }
    Some(fields)
}

/// Reports that `expr` is not what `what` needs; silent for `Error` expressions.
pub fn report_wrong_shape(
    expr: &Expr,
    expected: &str,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if matches!(expr.kind, ExprKind::Error) {
        return;
    }
    diagnostics.push(Diagnostic::error(
        format!("expected {expected} for {what}, found {}", expr.describe()),
        expr.span,
        format!("expected {expected}"),
    ));
}

/// The text of a string literal; reports anything else.
pub fn expect_string<'a>(
    expr: &'a Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    match &expr.kind {
        ExprKind::String(text) => Some(text),
        _ => {
            report_wrong_shape(expr, "a string", what, diagnostics);
            None
        }
    }
}

/// The value of `true` or `false`; reports anything else.
pub fn expect_bool(
    expr: &Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<bool> {
    match &expr.kind {
        ExprKind::Bool(value) => Some(*value),
        _ => {
            report_wrong_shape(expr, "`true` or `false`", what, diagnostics);
            None
        }
    }
}

/// The value of a flag that asks for a logged-in user (`authRequired` of a page, `auth` of a
/// namespace): `true` or `false`, and `true` only when the app declares `auth`; reports anything
/// else. `None` when it reported an error.
pub fn expect_auth_flag(
    entry: &DictEntry,
    owner: &dyn Display,
    app_has_auth: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<bool> {
    let key = &entry.key.name;
    let value = expect_bool(
        &entry.value,
        &format_args!("`{key}` of {owner}"),
        diagnostics,
    )?;
    if value && !app_has_auth {
        diagnostics.push(
            Diagnostic::error(
                format!("{owner} requires auth, but the app has no `auth`"),
                entry.span,
                "needs `auth` in the app",
            )
            .with_help(format!(
                "add `auth: {{ userEntity: User, methods: {{ usernameAndPassword: {{}} }}, onAuthFailedRedirectTo: \"/login\" }}` to the app, or remove `{key}: true`"
            )),
        );
        return None;
    }
    Some(value)
}

/// The items of a list; reports anything else.
pub fn expect_list<'a>(
    expr: &'a Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a [Expr]> {
    match &expr.kind {
        ExprKind::List(items) => Some(items),
        _ => {
            report_wrong_shape(expr, "a list `[ ... ]`", what, diagnostics);
            None
        }
    }
}

/// An external import; reports anything else.
pub fn expect_import<'a>(
    expr: &'a Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a ExtImport> {
    match &expr.kind {
        ExprKind::Import(import) => Some(import),
        _ => {
            report_wrong_shape(
                expr,
                "an import `import { name } from \"@src/...\"`",
                what,
                diagnostics,
            );
            None
        }
    }
}

/// An identifier naming a declaration (a reference), with its span.
pub fn expect_reference<'a>(
    expr: &'a Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(&'a str, Span)> {
    match &expr.kind {
        ExprKind::Var(name) => Some((name, expr.span)),
        _ => {
            report_wrong_shape(expr, "a name", what, diagnostics);
            None
        }
    }
}

/// One of a fixed set of identifiers (e.g. `SQLite` or `PostgreSQL`); returns its index in
/// `choices`.
pub fn expect_choice(
    expr: &Expr,
    what: &dyn Display,
    choices: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let all = suggest::quoted_alternatives(choices.iter().copied());
    let ExprKind::Var(name) = &expr.kind else {
        report_wrong_shape(expr, &format!("one of {all}"), what, diagnostics);
        return None;
    };
    if let Some(index) = choices.iter().position(|choice| choice == name) {
        return Some(index);
    }
    let help = match suggest::closest(name, choices.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`? {what} is one of {all}"),
        None => format!("{what} is one of {all}"),
    };
    diagnostics.push(
        Diagnostic::error(
            format!("unknown value `{name}` for {what}"),
            expr.span,
            "unknown value",
        )
        .with_help(help),
    );
    None
}
