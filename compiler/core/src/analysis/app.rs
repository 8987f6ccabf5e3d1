//! The `app` declaration: title, head, `wasp`, `auth` (checked by `auth`), `db`, `server`,
//! `client` and `webSocket` (checked by `sockets`).

use super::auth;
use super::context::Context;
use super::fields::{self, DictShape, FieldSpec, OptionalField};
use super::imports::{COMPONENT_EXTENSIONS, SCRIPT_EXTENSIONS};
use super::ir::{App, Auth, ClientConfig, Database, DatabaseSystem, ServerConfig};
use super::server_functions::{self, FunctionRole};
use super::sockets::{self, CheckedSocket};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Decl, Expr, Span};
use std::fmt::Display;

const APP_FIELDS: [FieldSpec; 8] = [
    FieldSpec::required("title", "title: \"My App\""),
    FieldSpec::optional("wasp"),
    FieldSpec::optional("head"),
    FieldSpec::optional("auth"),
    FieldSpec::optional("db"),
    FieldSpec::optional("server"),
    FieldSpec::optional("client"),
    FieldSpec::optional("webSocket"),
];
const APP_UNSUPPORTED: [&str; 2] = ["emailSender", "dependencies"];

const WASP_FIELDS: [FieldSpec; 1] = [FieldSpec::required("version", "version: \"^0.17.0\"")];

const DB_FIELDS: [FieldSpec; 2] = [FieldSpec::optional("system"), FieldSpec::optional("seeds")];
const DB_UNSUPPORTED: [&str; 2] = ["prisma", "prismaSetupFn"];

const SERVER_FIELDS: [FieldSpec; 2] = [
    FieldSpec::optional("setupFn"),
    FieldSpec::optional("middlewareConfigFn"),
];
const CLIENT_FIELDS: [FieldSpec; 3] = [
    FieldSpec::optional("rootComponent"),
    FieldSpec::optional("setupFn"),
    FieldSpec::optional("baseDir"),
];
const ENV_UNSUPPORTED: [&str; 1] = ["envValidationSchema"];

/// Everything the `app` declaration says; a part is `None` (or `Invalid`) when it had errors.
pub struct CheckedApp {
    pub app: Option<App>,
    pub auth: OptionalField<Auth>,
    pub db: Option<Database>,
    pub server: Option<ServerConfig>,
    pub client: Option<ClientConfig>,
    /// The root webSocket, the namespace `/`.
    pub root_socket: OptionalField<CheckedSocket>,
    /// The paths `auth` redirects to, for the check that routes serve them.
    pub auth_redirects: Vec<auth::Redirect>,
}

impl CheckedApp {
    /// Whether the app declares `auth` at all (even with errors inside), for checks elsewhere.
    pub fn has_auth(&self) -> bool {
        self.auth.is_written()
    }
}

/// Checks the `app` declaration and everything nested in it, including the root webSocket.
/// `None` when its body is not a dict (which was reported).
pub fn check(
    decl: &Decl,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedApp> {
    let owner = format!("app `{}`", decl.name.name);
    let shape = DictShape {
        owner: &owner,
        owner_span: decl.name.span,
        fields: &APP_FIELDS,
        unsupported: &APP_UNSUPPORTED,
        unsupported_help: None,
    };
    let fields = fields::check_dict(&decl.body, &shape, diagnostics)?;
    let title = fields
        .get("title")
        .and_then(|value| fields::expect_string(value, &"`title` of the app", diagnostics));
    let wasp_version = fields.optional("wasp", |entry| {
        let shape = DictShape {
            owner: &"`wasp`",
            owner_span: entry.key.span,
            fields: &WASP_FIELDS,
            unsupported: &[],
            unsupported_help: None,
        };
        fields::check_dict(&entry.value, &shape, diagnostics)
            .and_then(|wasp| wasp.get("version"))
            .and_then(|value| fields::expect_string(value, &"`wasp.version`", diagnostics))
            .map(str::to_string)
    });
    let head = match fields.get("head") {
        Some(value) => string_list(value, &"`head` of the app", diagnostics),
        None => Some(Vec::new()),
    };
    let app = match (title, wasp_version.into_ir(), head) {
        (Some(title), Ok(wasp_version), Some(head)) => Some(App {
            name: decl.name.name.clone(),
            title: title.to_string(),
            wasp_version,
            head,
        }),
        _ => None,
    };
    let mut auth_redirects = Vec::new();
    let auth = fields.optional("auth", |entry| {
        auth::check_auth(
            &entry.value,
            entry.key.span,
            context,
            &mut auth_redirects,
            diagnostics,
        )
    });
    let db = match fields.entry("db") {
        Some(entry) => check_db(&entry.value, entry.key.span, context, diagnostics),
        None => Some(Database {
            system: DatabaseSystem::Sqlite,
            seeds: Vec::new(),
        }),
    };
    let server = match fields.entry("server") {
        Some(entry) => check_server(&entry.value, entry.key.span, context, diagnostics),
        None => Some(ServerConfig::default()),
    };
    let client = match fields.entry("client") {
        Some(entry) => check_client(&entry.value, entry.key.span, context, diagnostics),
        None => Some(ClientConfig {
            base_dir: "/".to_string(),
            ..ClientConfig::default()
        }),
    };
    let root_socket = fields.optional("webSocket", |entry| {
        sockets::check_root(&entry.value, entry.key.span, context, diagnostics)
    });
    Some(CheckedApp {
        app,
        auth,
        db,
        server,
        client,
        root_socket,
        auth_redirects,
    })
}

fn string_list(
    value: &Expr,
    what: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let items = fields::expect_list(value, what, diagnostics)?;
    let mut strings = Vec::new();
    let mut ok = true;
    for item in items {
        match fields::expect_string(item, &format_args!("an item of {what}"), diagnostics) {
            Some(text) => strings.push(text.to_string()),
            None => ok = false,
        }
    }
    ok.then_some(strings)
}

fn check_db(
    value: &Expr,
    key_span: Span,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Database> {
    let shape = DictShape {
        owner: &"`db`",
        owner_span: key_span,
        fields: &DB_FIELDS,
        unsupported: &DB_UNSUPPORTED,
        unsupported_help: None,
    };
    let fields = fields::check_dict(value, &shape, diagnostics)?;
    let system = match fields.get("system") {
        Some(value) => fields::expect_choice(
            value,
            &"`db.system`",
            &["SQLite", "PostgreSQL"],
            diagnostics,
        )
        .map(|index| {
            if index == 0 {
                DatabaseSystem::Sqlite
            } else {
                DatabaseSystem::Postgresql
            }
        }),
        None => Some(DatabaseSystem::Sqlite),
    };
    let seeds = match fields.get("seeds") {
        Some(value) => {
            let items = fields::expect_list(value, &"`db.seeds`", diagnostics)?;
            let mut seeds = Vec::new();
            let mut ok = true;
            for item in items {
                let seed = fields::expect_import(item, &"an item of `db.seeds`", diagnostics)
                    .and_then(|import| {
                        server_functions::import(
                            import,
                            &"a seed in `db.seeds`",
                            FunctionRole::Seed,
                            &mut context.imports,
                            diagnostics,
                        )
                    });
                match seed {
                    Some(seed) => seeds.push(seed),
                    None => ok = false,
                }
            }
            ok.then_some(seeds)
        }
        None => Some(Vec::new()),
    };
    Some(Database {
        system: system?,
        seeds: seeds?,
    })
}

fn check_server(
    value: &Expr,
    key_span: Span,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ServerConfig> {
    let shape = DictShape {
        owner: &"`server`",
        owner_span: key_span,
        fields: &SERVER_FIELDS,
        unsupported: &ENV_UNSUPPORTED,
        unsupported_help: None,
    };
    let fields = fields::check_dict(value, &shape, diagnostics)?;
    let mut function = |key: &str, role: FunctionRole, diagnostics: &mut Vec<Diagnostic>| {
        fields.optional(key, |entry| {
            let what = format_args!("`server.{key}`");
            let import = fields::expect_import(&entry.value, &what, diagnostics)?;
            server_functions::import(import, &what, role, &mut context.imports, diagnostics)
        })
    };
    let setup_fn = function("setupFn", FunctionRole::Setup, diagnostics);
    let middleware_config_fn =
        function("middlewareConfigFn", FunctionRole::Middleware, diagnostics);
    Some(ServerConfig {
        setup_fn: setup_fn.into_ir().ok()?,
        middleware_config_fn: middleware_config_fn.into_ir().ok()?,
    })
}

fn check_client(
    value: &Expr,
    key_span: Span,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ClientConfig> {
    let shape = DictShape {
        owner: &"`client`",
        owner_span: key_span,
        fields: &CLIENT_FIELDS,
        unsupported: &ENV_UNSUPPORTED,
        unsupported_help: None,
    };
    let fields = fields::check_dict(value, &shape, diagnostics)?;
    let mut import = |key: &str, extensions: &[&str], diagnostics: &mut Vec<Diagnostic>| {
        fields.optional(key, |entry| {
            let what = format_args!("`client.{key}`");
            let import = fields::expect_import(&entry.value, &what, diagnostics)?;
            context
                .imports
                .client_import(import, &what, extensions, diagnostics)
        })
    };
    let root_component = import("rootComponent", &COMPONENT_EXTENSIONS, diagnostics);
    let setup_fn = import("setupFn", &SCRIPT_EXTENSIONS, diagnostics);
    let base_dir = match fields.get("baseDir") {
        Some(value) => {
            fields::expect_string(value, &"`client.baseDir`", diagnostics).and_then(|base_dir| {
                if let Some(bad) = base_dir.chars().find(|character| !is_url_path_character(*character)) {
                    // It becomes a URL prefix in the bundle's links, the router and the server's
                    // `Location` header, so it must need no escaping anywhere.
                    diagnostics.push(
                        Diagnostic::error(
                            format!("`client.baseDir` cannot contain {bad:?}"),
                            value.span,
                            "not a plain URL path",
                        )
                        .with_help("use letters, digits, `-`, `_`, `.`, `~` and `/` (for example `\"/app\"`)"),
                    );
                    None
                } else if base_dir.contains("//") {
                    diagnostics.push(
                        Diagnostic::error(
                            "`client.baseDir` has an empty segment (`//`)",
                            value.span,
                            "not a plain URL path",
                        )
                        .with_help(format!("write `\"{}\"`", collapse_slashes(base_dir))),
                    );
                    None
                } else if base_dir.starts_with('/') {
                    Some(base_dir.to_string())
                } else {
                    diagnostics.push(
                        Diagnostic::error(
                            "`client.baseDir` must start with `/`",
                            value.span,
                            "not an absolute path",
                        )
                        .with_help(format!("write `\"/{base_dir}\"`")),
                    );
                    None
                }
            })
        }
        None => Some("/".to_string()),
    };
    Some(ClientConfig {
        root_component: root_component.into_ir().ok()?,
        setup_fn: setup_fn.into_ir().ok()?,
        base_dir: base_dir?,
    })
}

/// The characters a `client.baseDir` may hold: RFC 3986's unreserved ones and `/`.
fn is_url_path_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.' | '~' | '/')
}

/// `path` with every run of `/` made one.
fn collapse_slashes(path: &str) -> String {
    let mut collapsed = String::with_capacity(path.len());
    for character in path.chars() {
        if !(character == '/' && collapsed.ends_with('/')) {
            collapsed.push(character);
        }
    }
    collapsed
}
