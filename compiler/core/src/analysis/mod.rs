//! Analysis: resolves a parsed spec into the `AppSpec` IR that every generator reads.
//!
//! It runs as ordered passes that cannot fail and that collect diagnostics, so one run reports
//! every mistake in a spec:
//! 1. `declarations` collects declarations by name and kind (references may point forward);
//! 2. `entities` checks each entity's PSL body (read by `psl`), then `relations` links the
//!    entities;
//! 3. `types` checks `type` records;
//! 4. `check_declarations` checks every other declaration with the module of its kind: the `app`
//!    (`app`, with `auth` and the root webSocket from `sockets`) first, since the others need to
//!    know whether it declares `auth`, then each `namespace` (`sockets`), `page` and `route`
//!    (`pages`), `query`, `action`, `api` and `apiNamespace` (`operations`) in source order.
//!    Each check reads passes 1 to 3 through the shared `context::Context` and resolves its
//!    imports with it (files are read through [`ProjectFiles`]); within one declaration, field
//!    checks and resolution go together, since every name they look up was collected in pass 1;
//! 5. `check_rules_across_declarations`: unique route and namespace paths, one encoding for all
//!    namespaces (`encodings`), one route per operation, one api per method and path and one
//!    apiNamespace per path, a relation to the user entity from each entity of a query with
//!    `scope: user` (`operations`), no `type` or entity named like a generated web
//!    client type and no query or action named like a function of `@appc/operations`
//!    (`client_names`), auth redirects that a route serves;
//! 6. `assemble` builds the IR, only when there were no errors.
//!
//! Each pass keeps the spans its later rules point at next to what it checked (one struct per
//! checked field or declaration), so no pass walks the AST again. The data that several passes
//! share lives in leaves that import no pass: `context` (what pass 4 reads), `checked_entity`
//! (entities as checked), `fields` (dict shapes), `imports`, `server_functions` (what each
//! kind of server function must look like), `suggest`, `project_files` and `ir`.
//!
//! Adding a declaration kind: a variant of `declarations::DeclKind` with its keyword, article and
//! plural; a module whose `check_<kind>(decl, &mut Context, app_has_auth, &mut diagnostics)`
//! returns the checked declaration (`None` after errors); its arm in `check_declarations` (the
//! compiler points there, the match is exhaustive) with a list in `CheckedDeclarations`; and its
//! part of the IR in `ir` and `assemble`.
//!
//! Analysis never panics and does no I/O of its own.

mod app;
mod auth;
mod checked_entity;
mod client_names;
mod context;
mod declarations;
mod encodings;
mod entities;
mod fields;
mod imports;
pub mod ir;
mod operations;
mod pages;
mod project_files;
mod psl;
mod relations;
mod server_functions;
mod sockets;
mod suggest;
mod types;

pub use project_files::{MemoryFiles, ProjectFiles};

use crate::diagnostics::{self, Diagnostic};
use crate::syntax::ast;
use checked_entity::CheckedEntity;
use context::Context;
use declarations::{DeclKind, Declarations};
use imports::ImportChecker;
use operations::{CheckedApi, CheckedApiNamespace, CheckedOperation};
use sockets::CheckedSocket;
use std::collections::BTreeMap;
use types::{CheckedRecord, CheckedRecords};

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

    let declarations = declarations::collect(module, &mut diagnostics);
    let mut entities = entities::check(&declarations, &mut diagnostics);
    relations::resolve_relations(&mut entities, &mut diagnostics);
    let records = types::check_records(&declarations, &mut diagnostics);
    let mut context = Context {
        declarations: &declarations,
        entities: &entities,
        records: &records,
        imports: ImportChecker::new(files),
    };
    let checked = check_declarations(&mut context, &mut diagnostics);
    check_rules_across_declarations(&declarations, &checked, &entities, &mut diagnostics);

    // Diagnostics in file order read like a compiler's; the sort is stable, so several
    // diagnostics at one place keep the order in which the passes found them.
    diagnostics.sort_by_key(|diagnostic| diagnostic.primary.span.start);
    if diagnostics::has_errors(&diagnostics) {
        return Analysis {
            spec: None,
            diagnostics,
        };
    }
    let spec = assemble(checked, entities, records);
    Analysis { spec, diagnostics }
}

/// What pass 4 found: the app, and one list per other declaration kind it checks, in source
/// order, where `None` marks a declaration with errors. Entities and `type` records come from
/// passes 2 and 3.
struct CheckedDeclarations {
    /// `None` when the spec has no app or the app's body is not a dict.
    app: Option<app::CheckedApp>,
    namespaces: Vec<Option<CheckedSocket>>,
    pages: Vec<Option<ir::Page>>,
    routes: Vec<Option<pages::CheckedRoute>>,
    /// Queries and actions, in source order.
    operations: Vec<Option<CheckedOperation>>,
    apis: Vec<Option<CheckedApi>>,
    api_namespaces: Vec<Option<CheckedApiNamespace>>,
}

impl CheckedDeclarations {
    /// The sockets that checked, in the order of the IR: the root webSocket, then the namespaces.
    fn sockets(&self) -> Vec<&CheckedSocket> {
        let root = self
            .app
            .as_ref()
            .and_then(|checked_app| checked_app.root_socket.as_valid());
        root.into_iter()
            .chain(self.namespaces.iter().flatten())
            .collect()
    }
}

/// Pass 4: checks every declaration with the module of its kind. This is where a declaration
/// kind is dispatched to its checks.
fn check_declarations(
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> CheckedDeclarations {
    let declarations = context.declarations;
    // The app first: namespaces and pages need to know whether it declares `auth`.
    let app = declarations
        .app
        .and_then(|decl| app::check(decl, context, diagnostics));
    let app_has_auth = app.as_ref().is_some_and(app::CheckedApp::has_auth);
    let mut checked = CheckedDeclarations {
        app,
        namespaces: Vec::new(),
        pages: Vec::new(),
        routes: Vec::new(),
        operations: Vec::new(),
        apis: Vec::new(),
        api_namespaces: Vec::new(),
    };
    for &(kind, decl) in &declarations.all {
        match kind {
            // Checked above, before every other declaration.
            DeclKind::App => {}
            // Checked whole by passes 2 and 3, since every other kind may refer to them.
            DeclKind::Entity | DeclKind::Type => {}
            DeclKind::Namespace => checked.namespaces.push(sockets::check_namespace(
                decl,
                context,
                app_has_auth,
                diagnostics,
            )),
            DeclKind::Page => {
                checked
                    .pages
                    .push(pages::check_page(decl, context, app_has_auth, diagnostics))
            }
            DeclKind::Route => checked
                .routes
                .push(pages::check_route(decl, context, diagnostics)),
            DeclKind::Query | DeclKind::Action => {
                let operation_kind = if kind == DeclKind::Query {
                    ir::OperationKind::Query
                } else {
                    ir::OperationKind::Action
                };
                checked.operations.push(operations::check_operation(
                    decl,
                    operation_kind,
                    context,
                    app_has_auth,
                    diagnostics,
                ))
            }
            DeclKind::Api => checked.apis.push(operations::check_api(
                decl,
                context,
                app_has_auth,
                diagnostics,
            )),
            DeclKind::ApiNamespace => checked.api_namespaces.push(operations::check_api_namespace(
                decl,
                context,
                diagnostics,
            )),
        }
    }
    checked
}

/// Pass 5: the rules that read several declarations.
fn check_rules_across_declarations(
    declarations: &Declarations,
    checked: &CheckedDeclarations,
    entities: &[CheckedEntity],
    diagnostics: &mut Vec<Diagnostic>,
) {
    report_duplicate_paths(
        checked
            .namespaces
            .iter()
            .flatten()
            .filter_map(|socket| Some((socket.namespace.path.as_str(), socket.path_span?))),
        "namespace path",
        diagnostics,
    );
    let sockets = checked.sockets();
    encodings::check_one_encoding(&sockets, diagnostics);
    // Only an app with pages gets a web client, whose `@appc/types` must not declare a name twice.
    if !checked.pages.is_empty() {
        let namespaces: Vec<&ir::Namespace> =
            sockets.iter().map(|socket| &socket.namespace).collect();
        client_names::report_clashes_with_event_maps(declarations, &namespaces, diagnostics);
        let operations: Vec<&CheckedOperation> = checked.operations.iter().flatten().collect();
        client_names::report_clashes_with_operations_module(&operations, diagnostics);
    }
    report_duplicate_paths(
        checked
            .routes
            .iter()
            .flatten()
            .map(|route| (route.route.path.as_str(), route.path_span)),
        "route path",
        diagnostics,
    );
    let checked_operations: Vec<&CheckedOperation> = checked.operations.iter().flatten().collect();
    operations::report_route_clashes(&checked_operations, diagnostics);
    if let Some(auth) = checked
        .app
        .as_ref()
        .and_then(|checked_app| checked_app.auth.as_valid())
    {
        operations::report_scopes_without_user_relation(
            &checked_operations,
            entities,
            &auth.user_entity,
            diagnostics,
        );
    }
    let checked_apis: Vec<&CheckedApi> = checked.apis.iter().flatten().collect();
    operations::report_api_route_clashes(&checked_apis, diagnostics);
    report_duplicate_paths(
        checked
            .api_namespaces
            .iter()
            .flatten()
            .map(|checked| (checked.api_namespace.path.as_str(), checked.path_span)),
        "apiNamespace path",
        diagnostics,
    );
    // Without routes the app has no pages yet (or is a socket-only backend), so there is nothing
    // to redirect to; with routes, every redirect should land on one.
    if let Some(checked_app) = &checked.app
        && !checked.routes.is_empty()
        && checked.routes.iter().all(Option::is_some)
    {
        let route_paths: Vec<&str> = checked
            .routes
            .iter()
            .flatten()
            .map(|route| route.route.path.as_str())
            .collect();
        report_redirects_without_route(&checked_app.auth_redirects, &route_paths, diagnostics);
    }
}

/// Pass 6: builds the IR from the checked parts; `None` if any part is missing (which only
/// happens when an error was reported).
fn assemble(
    checked: CheckedDeclarations,
    entities: Vec<CheckedEntity>,
    records: CheckedRecords,
) -> Option<ir::AppSpec> {
    let checked_app = checked.app?;
    let mut namespaces: Vec<ir::Namespace> = Vec::new();
    if let Some(root) = checked_app.root_socket.into_ir().ok()? {
        namespaces.push(root.namespace);
    }
    for socket in checked.namespaces {
        namespaces.push(socket?.namespace);
    }
    Some(ir::AppSpec {
        app: checked_app.app?,
        auth: checked_app.auth.into_ir().ok()?,
        db: checked_app.db?,
        server: checked_app.server?,
        client: checked_app.client?,
        entities: entities
            .into_iter()
            .map(CheckedEntity::into_entity)
            .collect(),
        types: records
            .list
            .into_iter()
            .map(CheckedRecord::into_record)
            .collect(),
        namespaces,
        pages: checked.pages.into_iter().collect::<Option<Vec<_>>>()?,
        routes: checked
            .routes
            .into_iter()
            .map(|checked| checked.map(|checked| checked.route))
            .collect::<Option<Vec<_>>>()?,
        operations: checked
            .operations
            .into_iter()
            .map(|checked| checked.map(|checked| checked.operation))
            .collect::<Option<Vec<_>>>()?,
        apis: checked
            .apis
            .into_iter()
            .map(|checked| checked.map(|checked| checked.api))
            .collect::<Option<Vec<_>>>()?,
        api_namespaces: checked
            .api_namespaces
            .into_iter()
            .map(|checked| checked.map(|checked| checked.api_namespace))
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

    /// The encoding rule points at the places `sockets` kept: the written `encoding` value, or
    /// the root webSocket's dict when it relies on the default.
    #[test]
    fn a_differing_encoding_points_at_the_value_and_at_the_default_web_socket() {
        let files: MemoryFiles = [("src/server/s.rs", "pub async fn f() {}")]
            .into_iter()
            .collect();
        let spec = "app A { title: \"A\", webSocket: { fn: import { f } from \"@src/server/s.rs\" } }\nnamespace N { path: \"/n\", fn: import { f } from \"@src/server/s.rs\", encoding: msgpack }";
        let analysis = analyze_text(spec, &files);
        assert_eq!(
            messages(&analysis),
            ["namespace `N` uses encoding `msgpack`, but the app's `webSocket` uses `json`"]
        );
        let diagnostic = &analysis.diagnostics[0];
        let text_at = |span: ast::Span| &spec[span.start..span.end];
        assert_eq!(text_at(diagnostic.primary.span), "msgpack");
        assert_eq!(
            text_at(diagnostic.secondary[0].span),
            "{ fn: import { f } from \"@src/server/s.rs\" }"
        );
        assert!(analysis.spec.is_none());
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
