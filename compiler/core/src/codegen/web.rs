//! The web generator: from the IR, the Vite + React + TypeScript project in `.appc/out/web/`
//! (`package.json`, `index.html`, `tsconfig.json`, `vite.config.ts`, the app entry and its
//! react-router routes) with the typed SDK in `src/appc/` that the team's pages import as
//! `@appc/types`, `@appc/webSocket`, `@appc/auth`, `@appc/router` and `@appc/operations` (one
//! typed function per `query` and `action`, with `useQuery` and `useAction` on TanStack Query),
//! and a copy of the team's client files in `src/ext-src/`.
//!
//! Like the server generator it is pure: the CLI reads the team's files and passes their
//! contents in [`WebOptions`], writes the returned files and runs npm, tsc and Vite. Each file
//! has one askama template in `templates/web/`; this module only builds their view models
//! (strings computed with [`ts_names`](super::ts_names)).

use super::GeneratedFile;
use super::ts_names::{
    event_map_prefix, html_escape, ts_scalar_type, ts_string_literal, ts_type, ts_type_qualified,
};
use crate::analysis::ir::{
    AppSpec, ClientImport, Encoding, EntityFieldKind, Event, ImportKind, Operation, OperationKind,
    TypeRef,
};
use askama::Template;
use heck::ToKebabCase;
use std::collections::BTreeSet;

/// The folder of the web project inside the output folder (`.appc/out/web`).
pub const WEB_DIR: &str = "web";

/// The folder inside the web project that holds the copy of the team's `src/` files.
pub const TEAM_FILES_DIR: &str = "src/ext-src";

/// What the generator needs besides the IR.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// The team's client files (`src/client/**` and `src/shared/**`) as (path relative to the
    /// project root with `/` separators, contents); each is copied to `src/ext-src/` so that it
    /// resolves `react` and the SDK from the generated project.
    pub team_files: Vec<(String, String)>,
}

/// The npm packages of the generated project, pinned to exact versions (`package.json`).
/// npm's lockfile then pins their own dependencies on the first install.
#[derive(Debug, Clone, Copy)]
pub struct PackageVersions {
    pub react: &'static str,
    pub react_dom: &'static str,
    pub react_router: &'static str,
    pub socket_io_client: &'static str,
    pub socket_io_msgpack_parser: &'static str,
    pub tanstack_react_query: &'static str,
    pub types_react: &'static str,
    pub types_react_dom: &'static str,
    pub vite_plugin_react: &'static str,
    pub typescript: &'static str,
    pub vite: &'static str,
}

/// The versions appc's tests run against. socket.io-client matches the one the end-to-end tests
/// drive the server with; Vite 7 (not 8) and TypeScript 5.9 (not 6 or the native 7) are the
/// long-established lines of each. TanStack Query 5 is the line Wasp's `useQuery` and
/// `useAction` wrap today.
pub const PACKAGE_VERSIONS: PackageVersions = PackageVersions {
    react: "19.3.1",
    react_dom: "19.3.1",
    react_router: "7.18.5",
    socket_io_client: "4.8.1",
    socket_io_msgpack_parser: "3.0.2",
    tanstack_react_query: "5.108.4",
    types_react: "19.3.0",
    types_react_dom: "19.3.0",
    vite_plugin_react: "5.2.0",
    typescript: "5.9.3",
    vite: "7.3.8",
};

/// Whether the app has a web client at all: only specs with at least one `page` get one.
pub fn has_web_client(spec: &AppSpec) -> bool {
    !spec.pages.is_empty()
}

/// `client.baseDir` as a URL path prefix without a trailing `/`: `""` for the default `/`,
/// `"/app"` for `"/app"` or `"/app/"`. The web client's pages and assets live under it; the
/// server's own routes (`/auth`, `/api`, `/socket.io`) stay at the root, where the server
/// answers them whatever prefix the pages have.
pub fn base_path(spec: &AppSpec) -> String {
    spec.client.base_dir.trim_end_matches('/').to_owned()
}

/// The web project; paths are relative to `.appc/out/web/`. Empty when the app has no pages.
pub fn generate(spec: &AppSpec, options: &WebOptions) -> Vec<GeneratedFile> {
    if !has_web_client(spec) {
        return Vec::new();
    }
    let app_name = spec.app.name.clone();
    let has_auth = spec.auth.is_some();
    let msgpack = spec
        .namespaces
        .iter()
        .any(|namespace| namespace.encoding == Encoding::Msgpack);
    let namespaces: Vec<NamespaceView> = spec.namespaces.iter().map(NamespaceView::new).collect();
    let has_operations = !spec.operations.is_empty();

    let mut files = vec![
        GeneratedFile::new(
            "package.json",
            render(&PackageJson {
                package_name: format!("{}-web", app_name.to_kebab_case()),
                app_name: app_name.clone(),
                versions: PACKAGE_VERSIONS,
                msgpack,
                has_operations,
            }),
        ),
        GeneratedFile::new(
            "index.html",
            render(&IndexHtml {
                title: html_escape(&spec.app.title),
                head: spec.app.head.clone(),
            }),
        ),
        GeneratedFile::new("tsconfig.json", render(&TsConfig)),
        GeneratedFile::new("vite.config.ts", render(&ViteConfig::new(spec))),
        GeneratedFile::new("src/main.tsx", render(&MainTsx::new(spec))),
        GeneratedFile::new("src/router.tsx", render(&RouterTsx::new(spec))),
        GeneratedFile::new(
            "src/appc/routing.tsx",
            render(&RoutingTsx {
                app_name: app_name.clone(),
                has_auth,
                redirect_literal: spec
                    .auth
                    .as_ref()
                    .map(|auth| ts_string_literal(&auth.on_auth_failed_redirect_to))
                    .unwrap_or_default(),
            }),
        ),
        GeneratedFile::new("src/appc/router.tsx", render(&TypedRoutesTsx::new(spec))),
        GeneratedFile::new(
            "src/appc/types.ts",
            render(&TypesTs::new(spec, &namespaces)),
        ),
    ];
    if let Some(first) = namespaces.first() {
        files.push(GeneratedFile::new(
            "src/appc/webSocket.ts",
            render(&WebSocketTs {
                app_name: app_name.clone(),
                has_auth,
                msgpack,
                default_path: first.path_literal.clone(),
                default_path_text: first.path.clone(),
                presence: presence_paths(&namespaces),
                namespaces: namespaces.clone(),
                shares_manager_with_live: has_operations && spec.has_live_queries(),
            }),
        ));
    }
    if has_operations || has_auth {
        files.push(GeneratedFile::new(
            "src/appc/requestError.ts",
            render(&RequestErrorTs {
                app_name: app_name.clone(),
            }),
        ));
    }
    if has_operations {
        files.push(GeneratedFile::new(
            "src/appc/operationsCore.ts",
            render(&OperationsCoreTs {
                app_name: app_name.clone(),
                has_auth,
                has_live: spec.has_live_queries(),
            }),
        ));
        if spec.has_live_queries() {
            files.push(GeneratedFile::new(
                "src/appc/live.ts",
                render(&LiveTs {
                    app_name: app_name.clone(),
                    has_auth,
                    shares_manager: !namespaces.is_empty(),
                }),
            ));
        }
        files.push(GeneratedFile::new(
            "src/appc/operations.ts",
            render(&OperationsTs::new(spec)),
        ));
    }
    if let Some(auth) = &spec.auth {
        files.push(GeneratedFile::new(
            "src/appc/auth.ts",
            render(&AuthTs {
                app_name,
                user_entity: auth.user_entity.clone(),
            }),
        ));
    }
    for (path, contents) in &options.team_files {
        let inside_src = path.strip_prefix("src/").unwrap_or(path);
        files.push(GeneratedFile::new(
            format!("{TEAM_FILES_DIR}/{inside_src}"),
            contents.clone(),
        ));
    }
    files
}

/// The namespaces with presence, `None` without any.
fn presence_paths(namespaces: &[NamespaceView]) -> Option<PresencePathsView> {
    let paths: Vec<&str> = namespaces
        .iter()
        .filter(|namespace| namespace.presence)
        .map(|namespace| namespace.path_literal.as_str())
        .collect();
    Some(PresencePathsView {
        default: paths.first()?.to_string(),
        union: paths.join(" | "),
        items: paths.join(", "),
    })
}

/// Renders a template. The templates are compiled with the binary and their inputs are plain
/// strings, so rendering can only fail on a bug in a template, which tests would catch.
fn render(template: &impl Template) -> String {
    template
        .render()
        .unwrap_or_else(|error| panic!("a web template failed to render: {error}"))
}

/// How generated code imports a team file: `@src/client/MainPage` for `src/client/MainPage.tsx`.
fn team_specifier(file: &str) -> String {
    let inside_src = file.strip_prefix("src/").unwrap_or(file);
    let without_extension = [".tsx", ".ts", ".jsx", ".js"]
        .iter()
        .find_map(|extension| inside_src.strip_suffix(extension))
        .unwrap_or(inside_src);
    format!("@src/{without_extension}")
}

/// An import statement that binds the team's export to `local`.
fn import_statement(import: &ClientImport, local: &str) -> String {
    let specifier = ts_string_literal(&team_specifier(&import.file));
    match import.kind {
        ImportKind::Default => format!("import {local} from {specifier};"),
        ImportKind::Named if import.name == local => {
            format!("import {{ {local} }} from {specifier};")
        }
        ImportKind::Named => format!("import {{ {} as {local} }} from {specifier};", import.name),
    }
}

/// JSX needs component names that start with an upper-case letter.
fn component_name(name: &str) -> String {
    let mut characters = name.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "web/package.json", escape = "none")]
struct PackageJson {
    package_name: String,
    app_name: String,
    versions: PackageVersions,
    msgpack: bool,
    /// Whether the app has queries or actions (then it needs TanStack Query).
    has_operations: bool,
}

#[derive(Template)]
#[template(path = "web/index.html", escape = "none")]
struct IndexHtml {
    title: String,
    /// `app.head`: lines of HTML written into `<head>` as they are.
    head: Vec<String>,
}

#[derive(Template)]
#[template(path = "web/tsconfig.json", escape = "none")]
struct TsConfig;

#[derive(Template)]
#[template(path = "web/vite.config.ts", escape = "none")]
struct ViteConfig {
    /// Vite's `base`: `client.baseDir` with a trailing `/` (`'/app/'`).
    base_literal: String,
    /// The proxy keys of the apis outside `/api`, as TypeScript string literals of Vite's
    /// regular-expression keys (`'^/webhooks/[^/?]+(?:\\?|$)'`), one per distinct path.
    api_route_patterns: Vec<String>,
}

impl ViteConfig {
    fn new(spec: &AppSpec) -> Self {
        let mut api_route_patterns: Vec<String> = Vec::new();
        for api in &spec.apis {
            let pattern = ts_string_literal(&proxy_pattern(&api.path));
            let under_api = api.path == "/api" || api.path.starts_with("/api/");
            if !under_api && !api_route_patterns.contains(&pattern) {
                api_route_patterns.push(pattern);
            }
        }
        ViteConfig {
            base_literal: ts_string_literal(&format!("{}/", base_path(spec))),
            api_route_patterns,
        }
    }
}

/// A Vite proxy key (a regular expression, since it starts with `^`) matching an api's Express
/// path and nothing longer: `/webhooks/:source` is `^/webhooks/[^/?]+(?:\?|$)`, a query string
/// allowed after it.
fn proxy_pattern(path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| {
            if segment.starts_with(':') {
                "[^/?]+".to_owned()
            } else {
                segment
                    .chars()
                    .map(|character| {
                        if "\\^$.|?*+()[]{}".contains(character) {
                            format!("\\{character}")
                        } else {
                            character.to_string()
                        }
                    })
                    .collect()
            }
        })
        .collect();
    format!("^{}(?:\\?|$)", segments.join("/"))
}

#[derive(Template)]
#[template(path = "web/src/main.tsx", escape = "none")]
struct MainTsx {
    app_name: String,
    setup_import: Option<String>,
    setup_function: Option<String>,
    /// Whether the app has queries or actions: then TanStack Query's `QueryClientProvider`
    /// wraps the routes, with the client `@appc/operations` uses.
    has_operations: bool,
}

/// Names `main.tsx` binds itself, which the imported setup function must not take.
const MAIN_NAMES: &[&str] = &[
    "StrictMode",
    "createRoot",
    "RouterProvider",
    "QueryClientProvider",
    "getQueryClient",
    "router",
    "render",
];

impl MainTsx {
    fn new(spec: &AppSpec) -> Self {
        let setup = spec.client.setup_fn.as_ref().map(|import| {
            let local = if MAIN_NAMES.contains(&import.name.as_str()) {
                format!("{}Setup", import.name)
            } else {
                import.name.clone()
            };
            (import_statement(import, &local), local)
        });
        MainTsx {
            app_name: spec.app.name.clone(),
            setup_import: setup.as_ref().map(|(statement, _)| statement.clone()),
            setup_function: setup.map(|(_, local)| local),
            has_operations: !spec.operations.is_empty(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/src/router.tsx", escape = "none")]
struct RouterTsx {
    app_name: String,
    imports: Vec<String>,
    root_component: Option<String>,
    routes: Vec<RouteView>,
    /// Whether the spec declares React Router's catch-all `*` itself (then it replaces the
    /// generated not-found route).
    has_catch_all: bool,
    /// React Router's `basename` (`client.baseDir`), when it is not the root.
    basename_literal: Option<String>,
}

#[derive(Debug, Clone)]
struct RouteView {
    path_literal: String,
    /// The JSX the route renders: the page's component, inside `RequireAuth` for `authRequired`.
    element: String,
}

impl RouterTsx {
    fn new(spec: &AppSpec) -> Self {
        // Every page is bound to its declaration name, which the analyzer keeps unique.
        let mut imports: Vec<String> = spec
            .pages
            .iter()
            .map(|page| import_statement(&page.component, &component_name(&page.name)))
            .collect();
        let page_names: BTreeSet<String> = spec
            .pages
            .iter()
            .map(|page| component_name(&page.name))
            .collect();
        let root_component = spec.client.root_component.as_ref().map(|import| {
            let mut local = component_name(&import.name);
            if page_names.contains(&local) {
                local.push_str("Root");
            }
            imports.push(import_statement(import, &local));
            local
        });
        let routes = spec
            .routes
            .iter()
            .filter_map(|route| {
                let page = spec.page(&route.page)?;
                let component = format!("<{} />", component_name(&page.name));
                let element = if page.auth_required && spec.auth.is_some() {
                    format!("<appc.RequireAuth>{component}</appc.RequireAuth>")
                } else {
                    component
                };
                Some(RouteView {
                    path_literal: ts_string_literal(&route.path),
                    element,
                })
            })
            .collect();
        RouterTsx {
            app_name: spec.app.name.clone(),
            imports,
            root_component,
            routes,
            has_catch_all: spec.routes.iter().any(|route| route.path == "*"),
            basename_literal: Some(base_path(spec))
                .filter(|base| !base.is_empty())
                .map(|base| ts_string_literal(&base)),
        }
    }
}

#[derive(Template)]
#[template(path = "web/src/appc/router.tsx", escape = "none")]
struct TypedRoutesTsx {
    app_name: String,
    routes: Vec<TypedRouteView>,
    /// The app's first route, for the examples at the top of the file.
    first_route: Option<RouteExample>,
    /// The app's first route with a required parameter, for the `build` and `Link` examples.
    route_with_params: Option<RouteExample>,
}

/// A route of the app as the examples at the top of `@appc/router` use it.
#[derive(Debug, Clone)]
struct RouteExample {
    name: String,
    path: String,
    /// Its required parameters (`id` of `/chat/:id`); the examples give each the value 7.
    required_params: Vec<String>,
    /// The path `build` makes with those values (`/chat/7`), without optional parts.
    built_path: String,
}

impl RouteExample {
    fn new(name: &str, path: &str) -> Self {
        let mut required_params = Vec::new();
        let mut built_segments = Vec::new();
        for segment in path.split('/') {
            match segment.strip_prefix(':') {
                Some(param) if !param.ends_with('?') => {
                    required_params.push(param.to_owned());
                    built_segments.push(EXAMPLE_PARAM_VALUE.to_string());
                }
                // Optional parameters and the `*` rest are left out, as `build` does without them.
                Some(_) => {}
                None if segment == "*" => {}
                None => built_segments.push(segment.to_owned()),
            }
        }
        let built_path = match built_segments.join("/") {
            joined if joined.is_empty() => "/".to_owned(),
            joined => joined,
        };
        RouteExample {
            name: name.to_owned(),
            path: path.to_owned(),
            required_params,
            built_path,
        }
    }
}

/// The value the examples give every route parameter.
const EXAMPLE_PARAM_VALUE: u32 = 7;

#[derive(Debug, Clone)]
struct TypedRouteView {
    /// The route's declaration name, the key in `routes`.
    name: String,
    path_literal: String,
    /// The TypeScript type of its parameters: `{ id: ParamValue }`, `{}` without any.
    params_type: String,
}

impl TypedRoutesTsx {
    fn new(spec: &AppSpec) -> Self {
        let routes = spec
            .routes
            .iter()
            .map(|route| TypedRouteView {
                name: route.name.clone(),
                path_literal: ts_string_literal(&route.path),
                params_type: route_params_type(&route.path),
            })
            .collect();
        let examples: Vec<RouteExample> = spec
            .routes
            .iter()
            .map(|route| RouteExample::new(&route.name, &route.path))
            .collect();
        TypedRoutesTsx {
            app_name: spec.app.name.clone(),
            routes,
            first_route: examples.first().cloned(),
            route_with_params: examples
                .into_iter()
                .find(|example| !example.required_params.is_empty()),
        }
    }
}

/// The parameters of a react-router path as a TypeScript object type: `:id` is required,
/// `:lang?` optional, and the `*` rest optional (a link may leave it empty).
fn route_params_type(path: &str) -> String {
    let params: Vec<String> = path
        .split('/')
        .filter_map(|segment| {
            if segment == "*" {
                return Some("'*'?: ParamValue".to_owned());
            }
            let name = segment.strip_prefix(':')?;
            Some(match name.strip_suffix('?') {
                Some(optional) => format!("{}?: ParamValue", ts_string_literal(optional)),
                None => format!("{}: ParamValue", ts_string_literal(name)),
            })
        })
        .collect();
    if params.is_empty() {
        "{}".to_owned()
    } else {
        format!("{{ {} }}", params.join("; "))
    }
}

#[derive(Template)]
#[template(path = "web/src/appc/routing.tsx", escape = "none")]
struct RoutingTsx {
    app_name: String,
    has_auth: bool,
    /// `auth.onAuthFailedRedirectTo` as a string literal (empty without auth).
    redirect_literal: String,
}

#[derive(Template)]
#[template(path = "web/src/appc/types.ts", escape = "none")]
struct TypesTs {
    app_name: String,
    records: Vec<InterfaceView>,
    entities: Vec<InterfaceView>,
    namespaces: Vec<NamespaceView>,
    /// The TypeScript type of a presence entry's `userId` when a namespace has `presence: true`
    /// (the user entity's id, or `null` in an app without auth); `None` without presence.
    presence_user_id: Option<String>,
}

#[derive(Debug, Clone)]
struct InterfaceView {
    name: String,
    fields: Vec<FieldView>,
}

#[derive(Debug, Clone)]
struct FieldView {
    name: String,
    ts_type: String,
    /// A doc comment for the field, such as its `maxLength`.
    doc: Option<String>,
}

/// What a `maxLength` means to the client, as a doc comment about `subject` (a field, a
/// payload): the server refuses longer values.
fn max_length_doc(subject: &str, type_ref: &TypeRef, max_length: Option<u64>) -> Option<String> {
    let max_length = max_length?;
    let unit = match type_ref {
        TypeRef::Optional { inner } if matches!(**inner, TypeRef::List { .. }) => "items",
        TypeRef::List { .. } => "items",
        _ => "characters",
    };
    Some(format!(
        "{subject} at most {max_length} {unit} (`maxLength` in `main.wasp`); the server refuses longer values."
    ))
}

impl TypesTs {
    fn new(spec: &AppSpec, namespaces: &[NamespaceView]) -> Self {
        let records = spec
            .types
            .iter()
            .map(|record| InterfaceView {
                name: record.name.clone(),
                fields: record
                    .fields
                    .iter()
                    .map(|field| FieldView {
                        name: field.name.clone(),
                        ts_type: ts_type(&field.field_type),
                        doc: max_length_doc("Holds", &field.field_type, field.max_length),
                    })
                    .collect(),
            })
            .collect();
        // The server's entity structs (and `/auth/me`) carry the scalar columns only.
        let entities = spec
            .entities
            .iter()
            .map(|entity| InterfaceView {
                name: entity.name.clone(),
                fields: entity
                    .fields
                    .iter()
                    .filter_map(|field| match &field.kind {
                        EntityFieldKind::Scalar { scalar } => {
                            let base = ts_scalar_type(*scalar);
                            Some(FieldView {
                                name: field.name.clone(),
                                ts_type: if field.optional {
                                    format!("{base} | null")
                                } else {
                                    base.to_owned()
                                },
                                doc: None,
                            })
                        }
                        EntityFieldKind::Relation(_) => None,
                    })
                    .collect(),
            })
            .collect();
        let presence_user_id = namespaces
            .iter()
            .any(|namespace| namespace.presence)
            .then(|| match &spec.auth {
                Some(auth) => format!("{}['id'] | null", auth.user_entity),
                None => "null".to_owned(),
            });
        TypesTs {
            app_name: spec.app.name.clone(),
            presence_user_id,
            records,
            entities,
            namespaces: namespaces.to_vec(),
        }
    }
}

/// One namespace as the SDK sees it.
#[derive(Debug, Clone)]
struct NamespaceView {
    path: String,
    path_literal: String,
    /// How comments name it: "the app's webSocket (`/`)".
    description: String,
    /// The same, capitalized, for a comment of its own.
    title: String,
    server_to_client: String,
    client_to_server: String,
    handshake: Option<String>,
    auto_connect: bool,
    /// `presence: true`: the server sends it `presence` events, which `usePresence` follows.
    presence: bool,
    server_events: Vec<EventView>,
    client_events: Vec<EventView>,
}

#[derive(Debug, Clone)]
struct EventView {
    name: String,
    /// The listener type socket.io-client expects in an event map.
    signature: String,
    /// A doc comment for the event, such as its payload's `maxLength`.
    doc: Option<String>,
}

impl EventView {
    fn new(event: &Event) -> Self {
        // An event without a payload has no payload parameter, so `socket.emit('name')` (and a
        // listener without arguments) type-checks and a payload does not.
        let mut parameters: Vec<String> = Vec::new();
        if let Some(payload) = &event.payload {
            parameters.push(format!("payload: {}", ts_type(payload)));
        }
        if let Some(ack) = &event.ack {
            parameters.push(format!("ack: (reply: {}) => void", ts_type(ack)));
        }
        EventView {
            name: event.name.clone(),
            signature: format!("({}) => void", parameters.join(", ")),
            doc: event.payload.as_ref().and_then(|payload| {
                max_length_doc("The payload holds", payload, event.payload_max_length)
            }),
        }
    }
}

impl NamespaceView {
    fn new(namespace: &crate::analysis::ir::Namespace) -> Self {
        let prefix = event_map_prefix(namespace);
        let description = if namespace.path == "/" {
            "the app's webSocket (`/`)".to_owned()
        } else {
            format!("namespace `{}` (`{}`)", namespace.name, namespace.path)
        };
        NamespaceView {
            path: namespace.path.clone(),
            path_literal: ts_string_literal(&namespace.path),
            title: component_name(&description),
            description,
            server_to_client: format!("{prefix}ServerToClientEvents"),
            client_to_server: format!("{prefix}ClientToServerEvents"),
            handshake: namespace.handshake.clone(),
            auto_connect: namespace.auto_connect,
            presence: namespace.presence,
            server_events: namespace
                .server_to_client
                .iter()
                .map(EventView::new)
                .collect(),
            client_events: namespace
                .client_to_server
                .iter()
                .map(EventView::new)
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/src/appc/webSocket.ts", escape = "none")]
struct WebSocketTs {
    app_name: String,
    has_auth: bool,
    msgpack: bool,
    default_path: String,
    default_path_text: String,
    namespaces: Vec<NamespaceView>,
    /// The namespaces with `presence: true`; `None` when none has it (no `usePresence` then).
    presence: Option<PresencePathsView>,
    /// Whether live queries share the Manager, which the module then exports.
    shares_manager_with_live: bool,
}

/// The namespaces with `presence: true`, as `webSocket.ts` names them.
struct PresencePathsView {
    /// Their paths as a TypeScript union of literals: `'/' | '/chat'`.
    union: String,
    /// The same paths as array items: `'/', '/chat'`.
    items: String,
    /// The first one, `usePresence`'s default namespace.
    default: String,
}

/// The error class and error-body reading that `@appc/auth` and `@appc/operations` share.
#[derive(Template)]
#[template(path = "web/src/appc/requestError.ts", escape = "none")]
struct RequestErrorTs {
    app_name: String,
}

#[derive(Template)]
#[template(path = "web/src/appc/operationsCore.ts", escape = "none")]
struct OperationsCoreTs {
    app_name: String,
    /// Whether requests carry the stored token and a login or logout resets the cache.
    has_auth: bool,
    /// Whether some query is live, so that `useQuery` watches the mounted ones (`./live`).
    has_live: bool,
}

#[derive(Template)]
#[template(path = "web/src/appc/live.ts", escape = "none")]
struct LiveTs {
    app_name: String,
    /// Whether the live socket sends the stored token and reconnects on login and logout.
    has_auth: bool,
    /// Whether the app has namespaces of its own, whose Socket.IO connection it then shares.
    shares_manager: bool,
}

/// The namespace `@appc/operations` imports `@appc/types` as. The analyzer refuses a query or
/// action of this name, and of every other value the module binds (`operationsCore`,
/// `useQuery`, ...), since the module also exports one value per operation.
const SPEC_TYPES_NAMESPACE: &str = "specTypes";

#[derive(Template)]
#[template(path = "web/src/appc/operations.ts", escape = "none")]
struct OperationsTs {
    app_name: String,
    /// The lines of the usage example at the top of the module.
    usage: Vec<String>,
    operations: Vec<OperationView>,
    /// The queries, comma-separated, for the registry the actions invalidate through.
    query_names: String,
    /// Whether some query is live: the module then exports `useLiveStatus`.
    has_live: bool,
}

/// One query or action as `@appc/operations` declares it.
#[derive(Debug, Clone)]
struct OperationView {
    name: String,
    /// `query` or `action`, as `main.wasp` writes it.
    keyword: &'static str,
    /// `Query` or `Action`: the interface of `operationsCore` it is typed with.
    interface: &'static str,
    /// `defineQuery` or `defineAction`.
    define_function: &'static str,
    route_path: String,
    route_literal: String,
    /// The TypeScript type of the input, `void` without one.
    input_type: String,
    /// The TypeScript type of the output, `void` without one.
    output_type: String,
    /// The entities as string literals, comma-separated (`'Task', 'User'`).
    entity_literals: String,
    auth_required: bool,
    /// What it takes and answers, for its doc comment.
    signature_doc: String,
    /// Which entities it reads or changes, and what that means for the cache, for its doc comment.
    entities_doc: String,
    /// A query's further arguments to `defineQuery`: its name and whether it is live (`,
    /// 'getTasks', true`); empty for an action.
    query_arguments: String,
}

impl OperationView {
    fn new(operation: &Operation) -> Self {
        let is_query = operation.kind == OperationKind::Query;
        let type_or_void = |type_ref: &Option<TypeRef>| {
            type_ref
                .as_ref()
                .map(|type_ref| ts_type_qualified(type_ref, SPEC_TYPES_NAMESPACE))
                .unwrap_or_else(|| "void".to_owned())
        };
        let takes = match &operation.input {
            Some(input) => format!("takes `{}`", ts_type(input)),
            None => "takes no input".to_owned(),
        };
        let answers = match &operation.output {
            Some(output) => format!("answers `{}`", ts_type(output)),
            None => "answers nothing (204)".to_owned(),
        };
        let entity_list = operation
            .entities
            .iter()
            .map(|entity| format!("`{entity}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let them = if operation.entities.len() == 1 {
            "it"
        } else {
            "one of them"
        };
        let entities_doc = match (is_query, entity_list.is_empty()) {
            (true, false) if operation.live.is_some() => format!(
                "Reads {entity_list}: live, so while it is mounted the server pushes its new answer after every committed write to {them} (from any client)."
            ),
            (true, false) => format!(
                "Reads {entity_list}: the actions that change {them} refetch its cached answers (`live: false`)."
            ),
            (true, true) => {
                "Reads no entity, so no action refetches it; its cached answers go stale as TanStack Query's options say."
                    .to_owned()
            }
            (false, false) => format!(
                "Changes {entity_list}: once it answers, the cached queries that read {them} are refetched."
            ),
            (false, true) => "Changes no entity, so it refetches no cached query.".to_owned(),
        };
        OperationView {
            name: operation.name.clone(),
            keyword: if is_query { "query" } else { "action" },
            interface: if is_query { "Query" } else { "Action" },
            define_function: if is_query {
                "defineQuery"
            } else {
                "defineAction"
            },
            route_path: operation.route_path.clone(),
            route_literal: ts_string_literal(&operation.route_path),
            input_type: type_or_void(&operation.input),
            output_type: type_or_void(&operation.output),
            entity_literals: operation
                .entities
                .iter()
                .map(|entity| ts_string_literal(entity))
                .collect::<Vec<_>>()
                .join(", "),
            auth_required: operation.auth_required,
            signature_doc: format!("{takes}, {answers}"),
            entities_doc,
            query_arguments: if is_query {
                format!(
                    ", {}, {}, {}",
                    operation.auth_required,
                    ts_string_literal(&operation.name),
                    operation.live.is_some()
                )
            } else {
                String::new()
            },
        }
    }
}

impl OperationsTs {
    fn new(spec: &AppSpec) -> Self {
        let first_query = spec
            .operations
            .iter()
            .find(|operation| operation.kind == OperationKind::Query);
        let first_action = spec
            .operations
            .iter()
            .find(|operation| operation.kind == OperationKind::Action);
        let mut imported: Vec<&str> = Vec::new();
        let mut usage = Vec::new();
        if let Some(query) = first_query {
            imported.extend([query.name.as_str(), "useQuery"]);
            let arguments = match &query.input {
                Some(_) => format!("{}, input", query.name),
                None => query.name.clone(),
            };
            usage.push(format!(
                "const {{ data, isPending, error }} = useQuery({arguments});"
            ));
        }
        if let Some(action) = first_action {
            imported.extend([action.name.as_str(), "useAction"]);
            usage.push(format!(
                "const {}Fn = useAction({});",
                action.name, action.name
            ));
            let argument = if action.input.is_some() { "input" } else { "" };
            usage.push(format!("await {}({argument});", action.name));
        }
        usage.insert(
            0,
            format!(
                "import {{ {} }} from '@appc/operations';",
                imported.join(", ")
            ),
        );
        OperationsTs {
            app_name: spec.app.name.clone(),
            usage,
            operations: spec.operations.iter().map(OperationView::new).collect(),
            query_names: spec
                .operations
                .iter()
                .filter(|operation| operation.kind == OperationKind::Query)
                .map(|operation| operation.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            has_live: spec.has_live_queries(),
        }
    }
}

#[derive(Template)]
#[template(path = "web/src/appc/auth.ts", escape = "none")]
struct AuthTs {
    app_name: String,
    user_entity: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_become_anchored_proxy_patterns() {
        assert_eq!(
            proxy_pattern("/webhooks/:source"),
            "^/webhooks/[^/?]+(?:\\?|$)"
        );
        assert_eq!(proxy_pattern("/v1.0/ping"), "^/v1\\.0/ping(?:\\?|$)");
    }

    #[test]
    fn route_params_follow_react_router_segments() {
        assert_eq!(route_params_type("/"), "{}");
        let example = RouteExample::new("DocsRoute", "/:lang?/docs/:id/*");
        assert_eq!(example.required_params, ["id"]);
        assert_eq!(example.built_path, "/docs/7");
        assert_eq!(RouteExample::new("RootRoute", "/").built_path, "/");
        assert_eq!(route_params_type("/chat/:id"), "{ 'id': ParamValue }");
        assert_eq!(
            route_params_type("/:lang?/docs/*"),
            "{ 'lang'?: ParamValue; '*'?: ParamValue }"
        );
    }

    #[test]
    fn team_files_are_imported_through_the_src_alias_without_extension() {
        assert_eq!(
            team_specifier("src/client/MainPage.tsx"),
            "@src/client/MainPage"
        );
        assert_eq!(team_specifier("src/shared/util.js"), "@src/shared/util");
        let import = ClientImport {
            file: "src/client/Main.tsx".to_owned(),
            kind: ImportKind::Named,
            name: "MainPage".to_owned(),
        };
        assert_eq!(
            import_statement(&import, "Main"),
            "import { MainPage as Main } from '@src/client/Main';"
        );
        let default = ClientImport {
            kind: ImportKind::Default,
            ..import
        };
        assert_eq!(
            import_statement(&default, "Main"),
            "import Main from '@src/client/Main';"
        );
    }
}
