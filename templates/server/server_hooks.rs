{%- import "server/context_types.rs" as context_types -%}
//! What the team's server hooks receive, generated from `main.wasp`; do not edit.
//!
//! - `server.setupFn`{% if let Some(setup) = setup %} (`{{ setup.name }}` in `{{ setup.file }}`){% endif %}: a `pub async fn setup(ctx: ServerContext) -> Result<(), BoxError>`
//!   that the server awaits once, after the database is migrated and before it accepts
//!   connections; an `Err` stops the start and its message is printed.
//! - `server.middlewareConfigFn`{% if let Some(middleware) = middleware %} (`{{ middleware.name }}` in `{{ middleware.file }}`){% endif %}: a `pub fn middleware(router: Router) -> Router`
//!   that receives the app's HTTP routes (auth, the web client) and returns them with its own
//!   routes and tower layers added; Socket.IO is not routed through it.
//! - `db.seeds`{% if !seeds.is_empty() %} ({% for seed in seeds %}{% if !loop.first %}, {% endif %}`{{ seed.name }}`{% endfor %}){% endif %}: `pub async fn seed_name(ctx: ServerContext) -> Result<(), BoxError>`, run
//!   by `appc db seed --name seed_name`.
//!
//! A setup function or a seed may also return `()`, or a `Result` whose error is any type that
//! converts into [`BoxError`] (such as `anyhow::Error`).

/// Every entity of the app, for setup functions and seeds.
{% call context_types::entity_set("", entities) %}{% endcall %}

/// What a setup function or a seed receives: `entities` (every entity), `database`, `auth`
/// (`ctx.auth.signup(username, password)` creates a user who can log in), `emitter` and
/// `config`.
pub type ServerContext = ::appc_runtime::ServerContext<Entities>;

/// The app's HTTP router, as `server.middlewareConfigFn` receives and returns it; its
/// handlers may extract `State<AppState>`.
pub type Router = ::appc_runtime::Router;

/// The state every HTTP handler can extract: database, auth, emitter and configuration.
pub type AppState = ::appc_runtime::AppState;

/// The error a setup function or a seed may return; `?` converts any error into it.
pub type BoxError = ::appc_runtime::BoxError;
