//! What each kind of server function must look like: the team's Rust functions that the
//! generated server calls (socket functions, setup functions, seeds, middleware functions,
//! queries, actions and apis), checked to exist through the import checker and to be `async`
//! exactly when the server awaits them, with a message that says the signature to write.
//!
//! A leaf: every declaration check that imports a server function calls [`import`] here, so the
//! rule and its wording live in one place.

use super::imports::ImportChecker;
use super::ir::ServerFunction;
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::ExtImport;
use std::fmt::Display;

/// What the generated server does with a server function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionRole {
    /// The `fn` of a socket namespace: awaited once for every connection.
    Socket,
    /// `server.setupFn`: awaited once before the server accepts connections.
    Setup,
    /// A `middlewareConfigFn` (of the server, an `api` or an `apiNamespace`): called while the
    /// router is built, so it cannot be async.
    Middleware,
    /// An item of `db.seeds`: awaited by `appc db seed`.
    Seed,
    /// The `fn` of a `query`: awaited for every call.
    Query,
    /// The `fn` of an `action`: awaited for every call.
    Action,
    /// The `fn` of an `api`: awaited for every request.
    Api,
}

impl FunctionRole {
    /// Whether the server awaits the function (`pub async fn`) or calls it (`pub fn`).
    fn must_be_async(self) -> bool {
        !matches!(self, FunctionRole::Middleware)
    }

    /// The error message and its help when `function` has the wrong asyncness.
    fn wrong_asyncness(self, function: &ServerFunction) -> (String, String) {
        let name = &function.function;
        let file = &function.file;
        let server_context = "crate::app::server::ServerContext";
        let box_error = "crate::app::server::BoxError";
        match self {
            FunctionRole::Socket => (
                format!("the socket function `{name}` in `{file}` must be async"),
                format!(
                    "declare it `pub async fn {name}(socket, ctx)`: the server awaits it once for every connection"
                ),
            ),
            FunctionRole::Setup => (
                format!("the setup function `{name}` in `{file}` must be async"),
                format!(
                    "declare it `pub async fn {name}(ctx: {server_context}) -> Result<(), {box_error}>`: the server awaits it once before it accepts connections"
                ),
            ),
            FunctionRole::Seed => (
                format!("the seed `{name}` in `{file}` must be async"),
                format!(
                    "declare it `pub async fn {name}(ctx: {server_context}) -> Result<(), {box_error}>`: `appc db seed` awaits it"
                ),
            ),
            FunctionRole::Middleware => (
                format!("the middleware function `{name}` in `{file}` must not be async"),
                format!(
                    "declare it `pub fn {name}(router: crate::app::server::Router) -> crate::app::server::Router`: it adds routes and layers while the router is built, before anything runs"
                ),
            ),
            FunctionRole::Query | FunctionRole::Action => (
                format!(
                    "the {} function `{name}` in `{file}` must be async",
                    if self == FunctionRole::Query {
                        "query"
                    } else {
                        "action"
                    }
                ),
                format!("declare it `pub async fn {name}`: the server awaits it for every call"),
            ),
            FunctionRole::Api => (
                format!("the api function `{name}` in `{file}` must be async"),
                format!("declare it `pub async fn {name}`: the server awaits it for every request"),
            ),
        }
    }
}

/// Resolves `import` as a server function of `role`: the file and the public function exist
/// (see [`ImportChecker::server_function`]) and the function is `async` exactly when `role`
/// needs it. `what` names the field, e.g. "`fn` of query `getTasks`".
pub fn import(
    import: &ExtImport,
    what: &dyn Display,
    role: FunctionRole,
    imports: &mut ImportChecker,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ServerFunction> {
    let function = imports.server_function(import, what, diagnostics)?;
    if function.is_async == role.must_be_async() {
        return Some(function);
    }
    let label = if function.is_async {
        "declared `pub async fn`"
    } else {
        "declared `pub fn`"
    };
    let (message, help) = role.wrong_asyncness(&function);
    diagnostics.push(Diagnostic::error(message, import.name.span, label).with_help(help));
    None
}
