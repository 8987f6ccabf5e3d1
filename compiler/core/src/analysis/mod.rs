//! Analysis: resolves a parsed spec into the `AppSpec` IR that every generator reads.
//!
//! It runs as ordered passes that cannot fail and that collect diagnostics, so one run reports
//! every mistake in a spec:
//! 1. `declarations` collects declarations by name and kind (references may point forward);
//! 2. `entities` checks each entity's PSL body, then `relations` links the entities;
//! 3. `types` checks `type` records;
//! 4. `app` (with `auth`), `sockets` and `pages` check the fields of the other
//!    declarations and resolve their references and imports (files are read through
//!    [`ProjectFiles`]); within one declaration, field checks and resolution go together, since
//!    every name they look up was collected in pass 1;
//! 5. cross-declaration rules (unique route and namespace paths, one encoding for all namespaces,
//!    no `type` or entity named like a generated web client type);
//! 6. the IR is assembled, only when there were no errors.
//!
//! Analysis never panics and does no I/O of its own.

mod app;
mod auth;
mod client_names;
mod declarations;
mod encodings;
mod entities;
mod fields;
mod imports;
pub mod ir;
mod pages;
mod psl;
mod relations;
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
/// position in the spec file. Parts of the tree that the parser could not build
/// (`ExprKind::Error`) are skipped silently, since the parser reported them; they also leave
/// `spec` empty.
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
    let root_socket = checked_app
        .as_ref()
        .and_then(|checked| checked.root_socket.as_ref())
        .and_then(Option::as_ref);
    let checked_namespaces: Vec<&ir::Namespace> = namespaces
        .iter()
        .map(|checked| &checked.namespace)
        .collect();
    encodings::check_one_encoding(
        root_socket,
        &checked_namespaces,
        &declarations,
        &mut diagnostics,
    );

    let pages: Vec<Option<ir::Page>> = declarations
        .of_kind(DeclKind::Page)
        .map(|decl| pages::check_page(decl, &mut imports, app_has_auth, &mut diagnostics))
        .collect();
    // Only an app with pages gets a web client, whose `@appc/types` must not declare a name twice.
    if !pages.is_empty() {
        let all_namespaces: Vec<&ir::Namespace> = root_socket
            .into_iter()
            .chain(checked_namespaces.iter().copied())
            .collect();
        client_names::report_clashes_with_event_maps(
            &declarations,
            &all_namespaces,
            &mut diagnostics,
        );
    }
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

    // Without routes the app has no pages yet (or is a socket-only backend), so there is nothing
    // to redirect to; with routes, every redirect should land on one.
    if let Some(checked_app) = &checked_app
        && !routes.is_empty()
        && routes.iter().all(Option::is_some)
    {
        let route_paths: Vec<&str> = routes
            .iter()
            .flatten()
            .map(|checked| checked.route.path.as_str())
            .collect();
        report_redirects_without_route(&checked_app.auth_redirects, &route_paths, &mut diagnostics);
    }

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
    records: types::CheckedRecords,
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
        types: records
            .list
            .into_iter()
            .map(|checked| checked.record)
            .collect(),
        namespaces: all_namespaces,
        pages: pages.into_iter().collect::<Option<Vec<_>>>()?,
        routes: routes
            .into_iter()
            .map(|checked| checked.map(|checked| checked.route))
            .collect::<Option<Vec<_>>>()?,
    })
}

/// Warns about an auth redirect that no route serves: users would land on an empty page. Route
/// parameters (`/rooms/:id`) match any segment and `*` matches every path.
fn report_redirects_without_route(
    redirects: &[auth::Redirect],
    route_paths: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let serves = |route_path: &str, path: &str| {
        if route_path == "*" {
            return true;
        }
        let route_segments: Vec<&str> = route_path.split('/').collect();
        let path_segments: Vec<&str> = path.split('/').collect();
        route_segments.len() == path_segments.len()
            && route_segments
                .iter()
                .zip(&path_segments)
                .all(|(route_segment, segment)| {
                    route_segment.starts_with(':') || route_segment == segment
                })
    };
    for redirect in redirects {
        if route_paths
            .iter()
            .any(|route_path| serves(route_path, &redirect.path))
        {
            continue;
        }
        diagnostics.push(
            Diagnostic::warning(
                format!(
                    "no route has the path `{}`, where `auth.{}` sends users",
                    redirect.path, redirect.key
                ),
                redirect.span,
                "no route for this path",
            )
            .with_help(format!(
                "add a route for it, e.g. `route {name}Route {{ path: \"{}\", to: {name}Page }}`",
                redirect.path,
                name = route_name_for(&redirect.path)
            )),
        );
    }
}

/// A name for an example route to `path`: `/login` gives `Login`, `/` gives `Main`.
fn route_name_for(path: &str) -> String {
    let first_segment = path.split('/').find(|segment| !segment.is_empty());
    let letters: String = first_segment
        .unwrap_or("main")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let mut characters = letters.chars();
    match characters.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + characters.as_str(),
        None => "Main".to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax;
    use proptest::prelude::*;

    fn analyze_text(spec: &str, files: &MemoryFiles) -> Analysis {
        let parsed = syntax::parse(spec);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        analyze(&parsed.module, files)
    }

    fn messages(analysis: &Analysis) -> Vec<&str> {
        analysis
            .diagnostics
            .iter()
            .map(|diagnostic| diagnostic.message.as_str())
            .collect()
    }

    #[test]
    fn memory_files_collect_from_pairs_and_read_back() {
        let files: MemoryFiles = [("src/server/a.rs", "pub fn a() {}")].into_iter().collect();
        assert_eq!(
            files.read("src/server/a.rs").as_deref(),
            Some("pub fn a() {}")
        );
        assert_eq!(files.read("src/server/b.rs"), None);
    }

    #[test]
    fn references_may_point_forward_and_resolve_in_the_ir() {
        let files: MemoryFiles = [("src/client/Main.tsx", "export default () => null")]
            .into_iter()
            .collect();
        let analysis = analyze_text(
            "route R { path: \"/\", to: Main }\npage Main { component: import Main from \"@src/client/Main.tsx\" }\napp A { title: \"A\" }",
            &files,
        );
        assert_eq!(messages(&analysis), Vec::<&str>::new());
        let spec = analysis.spec.expect("valid spec");
        assert_eq!(spec.routes[0].page, "Main");
        assert_eq!(spec.db.system, ir::DatabaseSystem::Sqlite);
        assert!(spec.namespaces.is_empty());
    }

    #[test]
    fn independent_errors_are_all_reported_in_file_order() {
        let analysis = analyze_text(
            "page P { component: 1 }\napp A { titel: \"A\" }\nroute R { path: \"/\", to: Q }",
            &MemoryFiles::new(),
        );
        assert_eq!(
            messages(&analysis),
            [
                "expected an import `import { name } from \"@src/...\"` for `component` of page `P`, found an integer",
                "missing field `title` in app `A`",
                "unknown field `titel` in app `A`",
                "cannot find page `Q`",
            ]
        );
        assert!(analysis.spec.is_none());
    }

    #[test]
    fn ir_lookups_find_what_references_name() {
        let analysis = analyze_text(
            "app A { title: \"A\" }\ntype Hello { name: String }\nentity User {=psl\n id Int @id\n username String @unique\npsl=}",
            &MemoryFiles::new(),
        );
        let spec = analysis.spec.expect("valid spec");
        let user = spec.entity("User").expect("declared entity");
        assert_eq!(user.id_field, "id");
        assert!(user.field("username").is_some_and(|field| field.is_unique));
        assert_eq!(
            spec.record("Hello").map(|record| record.fields.len()),
            Some(1)
        );
        assert!(spec.entity("Hello").is_none());
        assert!(spec.page("Main").is_none());
    }

    #[test]
    fn the_root_web_socket_comes_before_namespaces_in_the_ir() {
        let files: MemoryFiles = [(
            "src/server/s.rs",
            "pub async fn root() {}\npub async fn other() {}",
        )]
        .into_iter()
        .collect();
        let analysis = analyze_text(
            "namespace Other { path: \"/other\", fn: import { other } from \"@src/server/s.rs\" }\napp A { title: \"A\", webSocket: { fn: import { root } from \"@src/server/s.rs\" } }",
            &files,
        );
        let spec = analysis.spec.expect("valid spec");
        let paths: Vec<&str> = spec.namespaces.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["/", "/other"]);
        assert_eq!(spec.namespaces[1].name, "Other");
        assert!(spec.namespaces[0].auto_connect);
    }

    /// Fragments of spec text, glued at random: mostly-plausible specs with every kind of mistake.
    fn spec_fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "app A { title: \"A\" }\n",
            "app B {",
            "auth: { userEntity: User, methods: { usernameAndPassword: {} } }",
            "webSocket: { fn: import { f } from \"@src/server/f.rs\", events: { clientToServer: { a: [X?] } } }",
            "entity User {=psl\n id Int @id\n username String @unique\n m M[]\npsl=}\n",
            "entity M {=psl\n id Int @id @default(\n u User @relation(fields: [uid], references: [id])\n uid Int\n @@unique([\npsl=}\n",
            "entity E {=psl\n\"é @@ ( [ ] ? @default(now( ))\npsl=}\n",
            "type T { a: T, b: [T]?, c: { payload: Int } }\n",
            "namespace N { path: \"/n\", fn: import f from \"@server/../x.rs\", auth: true, handshake: T }\n",
            "page P { component: import P from \"@src/P.tsx\", authRequired: true }\n",
            "route R { path: \"/\", to: P }\n",
            "query q { fn: import { q } from \"@src/q.js\" }\n",
            "}",
            ",",
            "\n",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Analysis never panics, whatever the parser makes of the text; the IR never comes with
        /// errors, and a spec that parses cleanly and has no analysis errors always has one.
        #[test]
        fn analysis_never_panics(fragments in prop::collection::vec(spec_fragment(), 0..12)) {
            let text = fragments.concat();
            let files: MemoryFiles = [("src/server/f.rs", "pub async fn f() {}")].into_iter().collect();
            let parsed = syntax::parse(&text);
            let analysis = analyze(&parsed.module, &files);
            let has_errors = diagnostics::has_errors(&analysis.diagnostics);
            if analysis.spec.is_some() {
                prop_assert!(!has_errors);
            }
            if parsed.diagnostics.is_empty() && !has_errors {
                prop_assert!(analysis.spec.is_some());
            }
            for diagnostic in &analysis.diagnostics {
                prop_assert!(diagnostic.primary.span.end <= text.len());
                prop_assert!(diagnostic.primary.span.start <= diagnostic.primary.span.end);
            }
        }

        /// The PSL reader and the Rust function scan accept any text without panicking.
        #[test]
        fn psl_and_rust_scans_never_panic(text in "\\PC{0,200}") {
            let mut diagnostics = Vec::new();
            let _ = psl::parse(&text, 0, &mut diagnostics);
            let _ = imports::rust_functions(&text);
        }
    }
}
