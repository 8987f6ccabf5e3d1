//! Analysis: resolves a parsed spec into the `AppSpec` IR that every generator reads.
//!
//! It runs as ordered passes that cannot fail and that collect diagnostics, so one run reports
//! every mistake in a spec:
//! 1. [`declarations`] collects declarations by name and kind (references may point forward);
//! 2. [`entities`] checks each entity's PSL body, then the relations between entities;
//! 3. [`types`] checks `type` records;
//! 4. [`app`], [`sockets`] and [`pages`] check the fields of the other declarations and resolve
//!    their references and imports (files are read through [`ProjectFiles`]);
//! 5. cross-declaration rules (unique route and namespace paths);
//! 6. the IR is assembled, only when there were no errors.
//!
//! Analysis never panics and does no I/O of its own.

mod app;
mod declarations;
mod entities;
mod fields;
mod imports;
pub mod ir;
mod pages;
mod psl;
mod sockets;
mod suggest;
mod types;

use crate::diagnostics::{self, Diagnostic};
use crate::syntax::ast;
use declarations::DeclKind;
use std::collections::BTreeMap;

/// Read access to the team's project files (the CLI reads the disk, tests use [`MemoryFiles`]).
pub trait ProjectFiles {
    /// The text of a file given relative to the project root with '/' separators
    /// (e.g. "src/server/chat.rs"); None when it does not exist or cannot be read as UTF-8.
    fn read(&self, relative_path: &str) -> Option<String>;
}

/// An in-memory project tree, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFiles(BTreeMap<String, String>);

impl MemoryFiles {
    pub fn new() -> Self {
        MemoryFiles::default()
    }

    /// Adds or replaces a file at `relative_path` ('/' separators).
    pub fn insert(&mut self, relative_path: impl Into<String>, text: impl Into<String>) {
        self.0.insert(relative_path.into(), text.into());
    }
}

impl ProjectFiles for MemoryFiles {
    fn read(&self, relative_path: &str) -> Option<String> {
        self.0.get(relative_path).cloned()
    }
}

impl<P: Into<String>, T: Into<String>> FromIterator<(P, T)> for MemoryFiles {
    fn from_iter<I: IntoIterator<Item = (P, T)>>(iter: I) -> Self {
        MemoryFiles(
            iter.into_iter()
                .map(|(path, text)| (path.into(), text.into()))
                .collect(),
        )
    }
}

/// The result of analysis: the IR when the spec has no errors, and every diagnostic, ordered by
/// position in the spec file.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub spec: Option<ir::AppSpec>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks a parsed spec and resolves it into an [`ir::AppSpec`].
pub fn analyze(module: &ast::Module, files: &dyn ProjectFiles) -> Analysis {
    let mut diagnostics = Vec::new();
    let mut imports = imports::ImportChecker::new(files);

    let declarations = declarations::collect(module, &mut diagnostics);
    let checked_entities = entities::check(&declarations, &mut diagnostics);
    let records = types::check_records(&declarations, &mut diagnostics);

    let checked_app = declarations.app.map(|decl| {
        let mut context = app::AppContext {
            declarations: &declarations,
            entities: &checked_entities,
            records: &records,
            imports: &mut imports,
        };
        app::check(decl, &mut context, &mut diagnostics)
    });
    let app_has_auth = checked_app.as_ref().is_some_and(|checked| checked.has_auth);

    let mut namespaces = Vec::new();
    let mut all_namespaces_ok = true;
    {
        let mut context = sockets::SocketContext {
            declarations: &declarations,
            records: &records,
            imports: &mut imports,
            app_has_auth,
        };
        for decl in declarations.of_kind(DeclKind::Namespace) {
            match sockets::check_namespace(decl, &mut context, &mut diagnostics) {
                Some(namespace) => namespaces.push(namespace),
                None => all_namespaces_ok = false,
            }
        }
    }
    report_duplicate_paths(
        namespaces
            .iter()
            .map(|checked| (checked.namespace.path.as_str(), checked.path_span)),
        "namespace path",
        &mut diagnostics,
    );

    let pages: Vec<Option<ir::Page>> = declarations
        .of_kind(DeclKind::Page)
        .map(|decl| pages::check_page(decl, &mut imports, app_has_auth, &mut diagnostics))
        .collect();
    let routes: Vec<Option<pages::CheckedRoute>> = declarations
        .of_kind(DeclKind::Route)
        .map(|decl| pages::check_route(decl, &declarations, &mut diagnostics))
        .collect();
    report_duplicate_paths(
        routes
            .iter()
            .flatten()
            .map(|checked| (checked.route.path.as_str(), checked.path_span)),
        "route path",
        &mut diagnostics,
    );

    // Diagnostics in file order read like a compiler's; the sort is stable, so several
    // diagnostics at one place keep the order in which the passes found them.
    diagnostics.sort_by_key(|diagnostic| diagnostic.primary.span.start);
    if diagnostics::has_errors(&diagnostics) || !all_namespaces_ok {
        return Analysis {
            spec: None,
            diagnostics,
        };
    }
    let spec = assemble(
        checked_app,
        checked_entities,
        records,
        namespaces,
        pages,
        routes,
    );
    Analysis { spec, diagnostics }
}

/// Builds the IR from the checked parts; `None` if any part is missing (which only happens when
/// an error was reported).
fn assemble(
    checked_app: Option<app::CheckedApp>,
    checked_entities: Vec<entities::CheckedEntity>,
    records: Vec<types::CheckedRecord>,
    namespaces: Vec<sockets::CheckedNamespace>,
    pages: Vec<Option<ir::Page>>,
    routes: Vec<Option<pages::CheckedRoute>>,
) -> Option<ir::AppSpec> {
    let checked_app = checked_app?;
    let mut all_namespaces: Vec<ir::Namespace> = Vec::new();
    if let Some(root) = checked_app.root_socket? {
        all_namespaces.push(root);
    }
    all_namespaces.extend(namespaces.into_iter().map(|checked| checked.namespace));
    Some(ir::AppSpec {
        app: checked_app.app?,
        auth: checked_app.auth?,
        db: checked_app.db?,
        server: checked_app.server?,
        client: checked_app.client?,
        entities: checked_entities
            .into_iter()
            .map(|checked| checked.entity)
            .collect(),
        types: records.into_iter().map(|checked| checked.record).collect(),
        namespaces: all_namespaces,
        pages: pages.into_iter().collect::<Option<Vec<_>>>()?,
        routes: routes
            .into_iter()
            .map(|checked| checked.map(|checked| checked.route))
            .collect::<Option<Vec<_>>>()?,
    })
}

/// Reports every path that was already used, pointing at both places.
fn report_duplicate_paths<'p>(
    paths: impl Iterator<Item = (&'p str, ast::Span)>,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen: BTreeMap<&str, ast::Span> = BTreeMap::new();
    for (path, span) in paths {
        if let Some(first) = seen.get(path) {
            diagnostics.push(
                Diagnostic::error(
                    format!("duplicate {what} `{path}`"),
                    span,
                    "used again here",
                )
                .with_secondary(*first, "first used here")
                .with_help(format!("every {what} must be unique; change one of them")),
            );
        } else {
            seen.insert(path, span);
        }
    }
}
