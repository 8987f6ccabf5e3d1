//! Operations: the `query`, `action`, `api` and `apiNamespace` declarations (Wasp's names and
//! meaning), with appc's typed `input` and `output`.
//!
//! This module checks their fields, resolves the `fn` and `middlewareConfigFn` imports (Rust
//! functions directly in `src/server/`, with a clear error for Wasp's JavaScript imports),
//! entities, input and output types (resolved as event payloads are) and `httpRoute`, and keeps
//! the spans that the rules across declarations point at: one route per operation, one api per
//! method and path, one apiNamespace per path, and a relation to the user entity from every
//! entity of a query with `scope: user`. A query is live (`live`, `scope`) unless it says
//! `live: false` or reads no entity.

use super::checked_entity::CheckedEntity;
use super::context::Context;
use super::declarations::DeclKind;
use super::fields::{self, DictShape, FieldSpec, Fields};
use super::imports;
use super::ir::{
    Api, ApiNamespace, EntityFieldKind, HttpMethod, LiveScope, Operation, OperationKind,
    ServerFunction,
};
use super::server_functions::{self, FunctionRole};
use super::suggest;
use super::types::{self, Sender};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Decl, Expr, ExprKind, Span};
use std::collections::BTreeMap;
use std::fmt::Display;

const QUERY_FIELDS: [FieldSpec; 7] = [
    FieldSpec::required(
        "fn",
        "fn: import { get_tasks } from \"@src/server/tasks.rs\"",
    ),
    FieldSpec::optional("entities"),
    FieldSpec::optional("auth"),
    FieldSpec::optional("input"),
    FieldSpec::optional("output"),
    FieldSpec::optional("live"),
    FieldSpec::optional("scope"),
];

const ACTION_FIELDS: [FieldSpec; 5] = [
    FieldSpec::required(
        "fn",
        "fn: import { create_task } from \"@src/server/tasks.rs\"",
    ),
    FieldSpec::optional("entities"),
    FieldSpec::optional("auth"),
    FieldSpec::optional("input"),
    FieldSpec::optional("output"),
];

/// The values of a query's `scope`, in the order of [`LiveScope`]'s variants.
const LIVE_SCOPES: [(&str, LiveScope); 2] = [("all", LiveScope::All), ("user", LiveScope::User)];

const API_FIELDS: [FieldSpec; 5] = [
    FieldSpec::required(
        "fn",
        "fn: import { task_count } from \"@src/server/api.rs\"",
    ),
    FieldSpec::required("httpRoute", "httpRoute: (GET, \"/api/tasks/count\")"),
    FieldSpec::optional("entities"),
    FieldSpec::optional("auth"),
    FieldSpec::optional("middlewareConfigFn"),
];

const API_NAMESPACE_FIELDS: [FieldSpec; 2] = [
    FieldSpec::required(
        "middlewareConfigFn",
        "middlewareConfigFn: import { api_middleware } from \"@src/server/api.rs\"",
    ),
    FieldSpec::required("path", "path: \"/api\""),
];

/// The methods of `httpRoute`, in the order of [`HttpMethod`]'s variants.
const HTTP_METHODS: [(&str, HttpMethod); 6] = [
    ("GET", HttpMethod::Get),
    ("POST", HttpMethod::Post),
    ("PUT", HttpMethod::Put),
    ("PATCH", HttpMethod::Patch),
    ("DELETE", HttpMethod::Delete),
    ("ALL", HttpMethod::All),
];

/// Path prefixes the generated server answers itself, which an `api` may not take: axum refuses
/// two routes for one path, and these belong to appc.
const RESERVED_PATH_PREFIXES: [(&str, &str); 3] = [
    ("/operations", "where appc serves queries and actions"),
    (
        "/auth",
        "where appc serves signup, login and the current user",
    ),
    ("/socket.io", "where appc serves Socket.IO"),
];

/// Words that cannot name a JavaScript function: every query and action becomes one in the
/// client (`getTasks()`), so these would not compile there.
const JAVASCRIPT_RESERVED_WORDS: [&str; 46] = [
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// A checked `query` or `action`, with the spans the rules across declarations point at.
pub struct CheckedOperation {
    pub operation: Operation,
    /// Where the declaration's name is written.
    pub name_span: Span,
    /// Where `scope: user` is written, for the check that each entity reaches the user.
    pub scope_span: Option<Span>,
}

/// A checked `api`, with the span the route rule points at.
pub struct CheckedApi {
    pub api: Api,
    /// Where `httpRoute`'s value is written.
    pub route_span: Span,
}

/// A checked `apiNamespace`, with the span the path rule points at.
pub struct CheckedApiNamespace {
    pub api_namespace: ApiNamespace,
    /// Where the `path` value is written.
    pub path_span: Span,
}

/// Checks a `query` or `action` declaration; `app_has_auth` says whether the app declares
/// `auth`, which `auth: true` needs.
pub fn check_operation(
    decl: &Decl,
    kind: OperationKind,
    context: &mut Context,
    app_has_auth: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedOperation> {
    let name = decl.name.name.as_str();
    let keyword = DeclKind::from(kind).keyword();
    let owner = format!("{keyword} `{name}`");
    let shape = DictShape {
        owner: &owner,
        owner_span: decl.name.span,
        fields: match kind {
            OperationKind::Query => &QUERY_FIELDS,
            OperationKind::Action => &ACTION_FIELDS,
        },
        unsupported: &[],
        unsupported_help: None,
    };
    let fields = fields::check_dict(&decl.body, &shape, diagnostics)?;
    let name_is_usable = check_javascript_name(name, decl.name.span, keyword, diagnostics);
    let role = match kind {
        OperationKind::Query => FunctionRole::Query,
        OperationKind::Action => FunctionRole::Action,
    };
    let function = check_function(&fields, &owner, role, context, diagnostics);
    let entities = check_entities(&fields, &owner, context, diagnostics);
    let auth_required = check_auth(&fields, &owner, app_has_auth, diagnostics);
    let input = fields.optional("input", |entry| {
        types::resolve_payload_type(
            &entry.value,
            &format_args!("the input of {owner}"),
            Sender::Client,
            context.declarations,
            diagnostics,
        )
    });
    let output = fields.optional("output", |entry| {
        types::resolve_payload_type(
            &entry.value,
            &format_args!("the output of {owner}"),
            Sender::Server {
                checked_instead: "on the `input`",
            },
            context.declarations,
            diagnostics,
        )
    });
    let live = check_live(&fields, &owner, app_has_auth, diagnostics);
    if !name_is_usable {
        return None;
    }
    let input = input.into_ir().ok()?;
    let (live, scope_span) = live?;
    let entities = entities?;
    // A query without entities has nothing to follow: it is not live.
    let live = live.filter(|_| kind == OperationKind::Query && !entities.is_empty());
    let operation = Operation {
        kind,
        name: name.to_string(),
        function: function?,
        entities,
        auth_required: auth_required?,
        input_max_length: input.as_ref().and_then(|input| input.max_length),
        input: input.map(|input| input.type_ref),
        output: output.into_ir().ok()?.map(|output| output.type_ref),
        route_path: operation_route_path(name),
        live,
    };
    Some(CheckedOperation {
        operation,
        name_span: decl.name.span,
        scope_span: scope_span.filter(|_| live == Some(LiveScope::User)),
    })
}

impl From<OperationKind> for DeclKind {
    fn from(kind: OperationKind) -> Self {
        match kind {
            OperationKind::Query => DeclKind::Query,
            OperationKind::Action => DeclKind::Action,
        }
    }
}

/// `/operations/` and the name in kebab case: Wasp's route for an operation.
fn operation_route_path(name: &str) -> String {
    format!("/operations/{}", heck::ToKebabCase::to_kebab_case(name))
}

/// Checks an `api` declaration.
pub fn check_api(
    decl: &Decl,
    context: &mut Context,
    app_has_auth: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedApi> {
    let name = decl.name.name.as_str();
    let owner = format!("api `{name}`");
    let shape = DictShape {
        owner: &owner,
        owner_span: decl.name.span,
        fields: &API_FIELDS,
        unsupported: &[],
        unsupported_help: None,
    };
    let fields = fields::check_dict(&decl.body, &shape, diagnostics)?;
    let function = check_function(&fields, &owner, FunctionRole::Api, context, diagnostics);
    let route_value = fields.get("httpRoute");
    let route = route_value.and_then(|value| check_http_route(value, &owner, diagnostics));
    let entities = check_entities(&fields, &owner, context, diagnostics);
    let auth_required = check_auth(&fields, &owner, app_has_auth, diagnostics);
    let middleware_config_fn = check_middleware(&fields, &owner, context, diagnostics);
    let (method, path, path_params) = route?;
    let api = Api {
        name: name.to_string(),
        function: function?,
        method,
        path,
        path_params,
        entities: entities?,
        auth_required: auth_required?,
        middleware_config_fn: middleware_config_fn.into_ir().ok()?,
    };
    Some(CheckedApi {
        api,
        route_span: route_value?.span,
    })
}

/// Checks an `apiNamespace` declaration.
pub fn check_api_namespace(
    decl: &Decl,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedApiNamespace> {
    let name = decl.name.name.as_str();
    let owner = format!("apiNamespace `{name}`");
    let shape = DictShape {
        owner: &owner,
        owner_span: decl.name.span,
        fields: &API_NAMESPACE_FIELDS,
        unsupported: &[],
        unsupported_help: None,
    };
    let fields = fields::check_dict(&decl.body, &shape, diagnostics)?;
    let middleware_config_fn = check_middleware(&fields, &owner, context, diagnostics);
    let path_value = fields.get("path");
    let path = path_value.and_then(|value| {
        let what = format!("`path` of {owner}");
        let path = fields::expect_string(value, &what, diagnostics)?;
        let path_params = check_route_path(path, value.span, &what, diagnostics)?;
        if let Some(first) = path_params.first() {
            diagnostics.push(
                Diagnostic::error(
                    format!("{what} cannot have path parameters, found `:{first}`"),
                    value.span,
                    "a path parameter",
                )
                .with_help("an apiNamespace covers the apis under a fixed prefix; write the prefix without parameters, e.g. `/api/tasks`"),
            );
            return None;
        }
        Some(path.to_string())
    });
    let api_namespace = ApiNamespace {
        name: name.to_string(),
        path: path?,
        middleware_config_fn: middleware_config_fn.into_ir().ok()??,
    };
    Some(CheckedApiNamespace {
        api_namespace,
        path_span: path_value?.span,
    })
}

/// A query or action becomes a function of the web client named after it, so its name must be
/// one JavaScript allows. `true` when it is.
fn check_javascript_name(
    name: &str,
    span: Span,
    keyword: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    if !JAVASCRIPT_RESERVED_WORDS.contains(&name) {
        return true;
    }
    diagnostics.push(
        Diagnostic::error(
            format!("`{name}` is a reserved word in JavaScript and cannot name {keyword} `{name}`"),
            span,
            "reserved in JavaScript",
        )
        .with_help(format!(
            "the web client calls every {keyword} through a function of the same name; choose another name, e.g. `{name}Task`"
        )),
    );
    false
}

/// `fn`: a Rust function of `role` directly in `src/server/`. Wasp's imports of JavaScript or
/// TypeScript files get a message that says where the Rust function goes.
fn check_function(
    fields: &Fields,
    owner: &dyn Display,
    role: FunctionRole,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ServerFunction> {
    let value = fields.get("fn")?;
    let what = format_args!("`fn` of {owner}");
    let import = fields::expect_import(value, &what, diagnostics)?;
    if !import.path.ends_with(".rs") {
        let rust_name = imports::snake_case(&import.name.name);
        let rust_path = imports::server_file_for(&import.path);
        let kind = match role {
            FunctionRole::Api => "apis",
            _ => "operations",
        };
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "appc {kind} are written in Rust, but {what} imports `{}`",
                    import.path
                ),
                import.path_span,
                "not a Rust file",
            )
            .with_help(format!(
                "write `pub async fn {rust_name}` in `{}` and import it: `fn: import {{ {rust_name} }} from \"{rust_path}\"`",
                rust_path.replacen("@src/", "src/", 1)
            )),
        );
        return None;
    }
    server_functions::import(import, &what, role, &mut context.imports, diagnostics)
}

/// `middlewareConfigFn`: a plain `pub fn`, like `server.middlewareConfigFn`.
fn check_middleware(
    fields: &Fields,
    owner: &dyn Display,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> fields::OptionalField<ServerFunction> {
    fields.optional("middlewareConfigFn", |entry| {
        let what = format_args!("`middlewareConfigFn` of {owner}");
        let import = fields::expect_import(&entry.value, &what, diagnostics)?;
        server_functions::import(
            import,
            &what,
            FunctionRole::Middleware,
            &mut context.imports,
            diagnostics,
        )
    })
}

fn check_entities(
    fields: &Fields,
    owner: &dyn Display,
    context: &Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    match fields.get("entities") {
        Some(value) => context.declarations.resolve_entity_list(
            value,
            &format_args!("`entities` of {owner}"),
            diagnostics,
        ),
        None => Some(Vec::new()),
    }
}

/// A query's `live` (`true` by default) and `scope` (`all` by default; `user` needs the app's
/// `auth`, and means nothing on a query that is not live): the query's live scope, `None` for
/// `live: false`, with where `scope` is written. Actions have neither field.
fn check_live(
    fields: &Fields,
    owner: &dyn Display,
    app_has_auth: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(Option<LiveScope>, Option<Span>)> {
    let live = match fields.get("live") {
        Some(value) => fields::expect_bool(value, &format_args!("`live` of {owner}"), diagnostics)?,
        None => true,
    };
    let Some(entry) = fields.entry("scope") else {
        return Some((live.then_some(LiveScope::All), None));
    };
    let choices: Vec<&str> = LIVE_SCOPES.iter().map(|(name, _)| *name).collect();
    let index = fields::expect_choice(
        &entry.value,
        &format_args!("`scope` of {owner}"),
        &choices,
        diagnostics,
    )?;
    let scope = LIVE_SCOPES[index].1;
    if !live {
        diagnostics.push(
            Diagnostic::error(
                format!("{owner} has a `scope` but `live: false`"),
                entry.span,
                "a scope of live updates",
            )
            .with_help(
                "`scope` says who a live query's updates reach; remove it, or remove `live: false`",
            ),
        );
        return None;
    }
    if scope == LiveScope::User && !app_has_auth {
        diagnostics.push(
            Diagnostic::error(
                format!("{owner} is scoped to the user, but the app has no `auth`"),
                entry.span,
                "needs `auth` in the app",
            )
            .with_help("add `auth` to the app, or remove `scope: user` so that every client using the query is refreshed"),
        );
        return None;
    }
    Some((Some(scope), Some(entry.value.span)))
}

/// `scope: user`: each entity of the query must be the user entity or have a relation to it
/// that holds the foreign key (`user User @relation(fields: [userId], references: [id])`), so
/// that the runtime can tell whose rows a write changed.
pub fn report_scopes_without_user_relation(
    operations: &[&CheckedOperation],
    entities: &[CheckedEntity],
    user_entity: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for checked in operations {
        let Some(scope_span) = checked.scope_span else {
            continue;
        };
        let operation = &checked.operation;
        for entity_name in &operation.entities {
            if entity_name == user_entity {
                continue;
            }
            let Some(entity) = entities.iter().find(|entity| entity.name() == entity_name) else {
                continue;
            };
            let reaches_user = entity.fields.iter().any(|checked_field| {
                matches!(
                    &checked_field.field.kind,
                    EntityFieldKind::Relation(relation)
                        if relation.target_entity == user_entity && !relation.fields.is_empty()
                )
            });
            if reaches_user {
                continue;
            }
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "query `{}` is scoped to the user, but its entity `{entity_name}` has no relation to the user entity `{user_entity}`",
                        operation.name
                    ),
                    scope_span,
                    "scoped to the user",
                )
                .with_help(format!(
                    "give `{entity_name}` a field such as `user {user_entity} @relation(fields: [userId], references: [id])` with `userId`, or remove `scope: user` so that every client using `{}` is refreshed",
                    operation.name
                )),
            );
        }
    }
}

/// `auth`: `true` or `false` (the default), and `true` only when the app declares `auth`.
fn check_auth(
    fields: &Fields,
    owner: &dyn Display,
    app_has_auth: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<bool> {
    match fields.entry("auth") {
        Some(entry) => fields::expect_auth_flag(entry, owner, app_has_auth, diagnostics),
        None => Some(false),
    }
}

/// `httpRoute: (GET, "/api/tasks/:id")`: the method, the path and its parameters.
fn check_http_route(
    value: &Expr,
    owner: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(HttpMethod, String, Vec<String>)> {
    let what = format!("`httpRoute` of {owner}");
    let example = "`(GET, \"/api/tasks\")`";
    let items = match &value.kind {
        ExprKind::Tuple(items) => items,
        _ => {
            fields::report_wrong_shape(
                value,
                &format!("a method and a path {example}"),
                &what,
                diagnostics,
            );
            return None;
        }
    };
    let [method_expr, path_expr] = items.as_slice() else {
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "{what} has a method and a path, found {} items",
                    items.len()
                ),
                value.span,
                "expected `(METHOD, \"/path\")`",
            )
            .with_help(format!("write the method and the path, e.g. {example}")),
        );
        return None;
    };
    let method_names: Vec<&str> = HTTP_METHODS.iter().map(|(name, _)| *name).collect();
    let method = fields::expect_choice(
        method_expr,
        &format_args!("the method of {what}"),
        &method_names,
        diagnostics,
    )
    .map(|index| HTTP_METHODS[index].1);
    let path_what = format!("the path of {what}");
    let path = fields::expect_string(path_expr, &path_what, diagnostics).and_then(|path| {
        let path_params = check_route_path(path, path_expr.span, &path_what, diagnostics)?;
        check_reserved_prefix(path, path_expr.span, owner, diagnostics)?;
        Some((path.to_string(), path_params))
    });
    let (path, path_params) = path?;
    Some((method?, path, path_params))
}

/// An Express-style path: `/`, or `/` and segments of letters, digits, `-`, `_`, `.` and `~`,
/// or path parameters `:name`, each name an identifier used once. Returns the parameters'
/// names in order.
fn check_route_path(
    path: &str,
    span: Span,
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let characters_help = "a path has letters, digits, `-`, `_`, `.` or `~` between single slashes, and `:name` for a path parameter, e.g. `/api/tasks/:id`";
    let Some(rest) = path.strip_prefix('/') else {
        diagnostics.push(
            Diagnostic::error(
                format!("{what} must start with `/`, found `{path}`"),
                span,
                "not an absolute path",
            )
            .with_help(format!("write `\"/{path}\"`")),
        );
        return None;
    };
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let mut path_params: Vec<String> = Vec::new();
    for segment in rest.split('/') {
        if segment.is_empty() {
            let fixed: Vec<&str> = rest.split('/').filter(|part| !part.is_empty()).collect();
            diagnostics.push(
                Diagnostic::error(
                    format!("{what} has an empty segment: `{path}`"),
                    span,
                    "a doubled or trailing `/`",
                )
                .with_help(format!("write `\"/{}\"`", fixed.join("/"))),
            );
            return None;
        }
        if let Some(parameter) = segment.strip_prefix(':') {
            if !is_identifier(parameter) {
                diagnostics.push(
                    Diagnostic::error(
                        format!("invalid path parameter `{segment}` in {what}"),
                        span,
                        "not `:` and an identifier",
                    )
                    .with_help("a path parameter is `:` followed by a letter or `_`, then letters, digits or `_`, e.g. `:taskId`; it fills a whole segment"),
                );
                return None;
            }
            if path_params.iter().any(|seen| seen == parameter) {
                diagnostics.push(
                    Diagnostic::error(
                        format!("path parameter `:{parameter}` appears twice in {what}"),
                        span,
                        "repeated path parameter",
                    )
                    .with_help("give each path parameter its own name, e.g. `/users/:userId/tasks/:taskId`"),
                );
                return None;
            }
            path_params.push(parameter.to_string());
            continue;
        }
        if let Some(bad) = segment
            .chars()
            .find(|character| !(character.is_ascii_alphanumeric() || "-_.~".contains(*character)))
        {
            diagnostics.push(
                Diagnostic::error(
                    format!("{what} cannot contain {bad:?}, found `{path}`"),
                    span,
                    "not a plain path",
                )
                .with_help(characters_help),
            );
            return None;
        }
    }
    Some(path_params)
}

fn is_identifier(text: &str) -> bool {
    let mut characters = text.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// An api path may not lie under a prefix the generated server answers itself.
fn check_reserved_prefix(
    path: &str,
    span: Span,
    owner: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<()> {
    let Some((prefix, why)) = RESERVED_PATH_PREFIXES.iter().find(|(prefix, _)| {
        path == *prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }) else {
        return Some(());
    };
    diagnostics.push(
        Diagnostic::error(
            format!("the path `{path}` of {owner} is under `{prefix}`, {why}"),
            span,
            "reserved by appc",
        )
        .with_help(format!(
            "choose a path outside {}, e.g. `/api{}`",
            suggest::quoted_list(RESERVED_PATH_PREFIXES.iter().map(|(prefix, _)| *prefix)),
            path.strip_prefix(prefix)
                .filter(|rest| !rest.is_empty())
                .unwrap_or("/...")
        )),
    );
    None
}

/// Two operations whose names have the same kebab case (`getTasks`, `get_tasks`) would share a
/// route; the second one is reported.
pub fn report_route_clashes(operations: &[&CheckedOperation], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &CheckedOperation> = BTreeMap::new();
    for checked in operations {
        let operation = &checked.operation;
        let Some(first) = seen.get(operation.route_path.as_str()) else {
            seen.insert(&operation.route_path, checked);
            continue;
        };
        let first_owner = format!(
            "{} `{}`",
            DeclKind::from(first.operation.kind).keyword(),
            first.operation.name
        );
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "{} `{}` has the same route as {first_owner}: `{}`",
                    DeclKind::from(operation.kind).keyword(),
                    operation.name,
                    operation.route_path
                ),
                checked.name_span,
                "same route",
            )
            .with_secondary(first.name_span, format!("{first_owner} declared here"))
            .with_help("the route is the name in kebab case, so names that differ only in case or `_` clash; rename one of them"),
        );
    }
}

/// No two apis answer the same method and path; `ALL` answers every method, and path
/// parameters match any segment whatever their names (`/tasks/:id` is `/tasks/:taskId`).
pub fn report_api_route_clashes(apis: &[&CheckedApi], diagnostics: &mut Vec<Diagnostic>) {
    for (index, checked) in apis.iter().enumerate() {
        let api = &checked.api;
        let shape = route_shape(&api.path);
        let Some(first) = apis[..index].iter().find(|earlier| {
            route_shape(&earlier.api.path) == shape
                && (earlier.api.method == api.method
                    || earlier.api.method == HttpMethod::All
                    || api.method == HttpMethod::All)
        }) else {
            continue;
        };
        let help = if first.api.method == HttpMethod::All || api.method == HttpMethod::All {
            "`ALL` answers every method of its path; change the path of one of them, or give each its own method"
        } else {
            "every method and path is answered by one api; change the method or the path of one of them"
        };
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "api `{}` answers `{} {}`, which api `{}` answers already (`{} {}`)",
                    api.name,
                    api.method.as_str(),
                    api.path,
                    first.api.name,
                    first.api.method.as_str(),
                    first.api.path
                ),
                checked.route_span,
                "same route",
            )
            .with_secondary(
                first.route_span,
                format!("api `{}` declared here", first.api.name),
            )
            .with_help(help),
        );
    }
}

/// The path with every parameter's name left out, so that paths that route alike compare equal.
fn route_shape(path: &str) -> Vec<&str> {
    path.split('/')
        .map(|segment| {
            if segment.starts_with(':') {
                ":"
            } else {
                segment
            }
        })
        .collect()
}
