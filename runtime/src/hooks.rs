//! The team's server hooks from `main.wasp` and what they receive: `server.setupFn` (awaited
//! once after the database is migrated and before the server accepts connections),
//! `server.middlewareConfigFn` (adds routes and layers to the HTTP [`Router`]) and `db.seeds`
//! (functions that fill the database, run by `appc db seed` through the binary's `seed NAME`
//! command, see [`ServerCommand`]).
//!
//! Setup functions and seeds are `pub async fn`s that take a [`ServerContext`] and return `()`
//! or a `Result<(), E>` whose error converts into a [`BoxError`] (any `std::error::Error`,
//! `anyhow::Error`, a `String`), so `?` works on every error the runtime returns:
//!
//! ```
//! use appc_runtime::codegen::EntitySet;
//! use appc_runtime::{BoxError, ServerContext};
//!
//! async fn setup<Entities: EntitySet>(ctx: ServerContext<Entities>) -> Result<(), BoxError> {
//!     if ctx.config.port == 0 {
//!         return Err("refusing to start on a random port".into());
//!     }
//!     Ok(())
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::app_state::AppState;
use crate::auth::Auth;
use crate::config::Config;
use crate::context::EntitySet;
use crate::db::Database;
use crate::socket::Emitter;

/// The error a setup function or a seed may return: anything that converts with `?` or
/// `.into()`, such as a `DbError`, an `HttpError`, an `anyhow::Error` or a `String`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The app's HTTP router as `server.middlewareConfigFn` receives and returns it. Its state is
/// the [`AppState`], so handlers may extract `State<AppState>` (or `State<Database>`,
/// `State<Auth>`, `State<Emitter>`).
pub type Router = axum::Router<AppState>;

/// What a setup function or a seed receives: typed access to every entity of the app, the raw
/// database, auth (to create users with passwords), the socket emitter and the configuration.
#[derive(Debug, Clone)]
pub struct ServerContext<Entities> {
    /// Typed access to every entity of the app.
    pub entities: Entities,
    /// The raw pool, for anything the typed access does not cover (and transactions).
    pub database: Database,
    /// The auth service: `ctx.auth.signup(username, password)` creates a user who can log in
    /// (it fails on an app without auth).
    pub auth: Auth,
    /// Emits to sockets; a setup function may hand it to tasks it spawns. While seeding no
    /// client is connected, so emits reach no one.
    pub emitter: Emitter,
    /// The resolved configuration (mode, address, database URL, data folder).
    pub config: Arc<Config>,
}

impl<Entities: EntitySet> ServerContext<Entities> {
    /// Tells the live queries that read `E` that its rows changed, after a write made with raw
    /// SQL (writes through `ctx.entities` and transactions are noticed on their own); see
    /// [`Database::invalidate`](crate::Database::invalidate).
    pub fn invalidate<E: crate::db::Entity>(&self) {
        self.database.invalidate::<E>();
    }

    /// The context over the app's state.
    pub fn new(state: &AppState) -> Self {
        ServerContext {
            entities: Entities::from_database(&state.database),
            database: state.database.clone(),
            auth: state.auth.clone(),
            emitter: state.emitter.clone(),
            config: state.config.clone(),
        }
    }
}

/// What a setup function or a seed may return: `()` (it cannot fail) or `Result<(), E>` with an
/// error that converts into a [`BoxError`].
#[diagnostic::on_unimplemented(
    message = "a server setup function or seed must return `()` or `Result<(), E>` with an error that converts into `BoxError`, not `{Self}`",
    label = "this function's return type is not allowed",
    note = "declare it `pub async fn name(ctx: crate::app::server::ServerContext) -> Result<(), crate::app::server::BoxError>`"
)]
pub trait HookOutcome {
    /// The outcome as a result.
    fn into_result(self) -> Result<(), BoxError>;
}

impl HookOutcome for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> HookOutcome for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

pub(crate) type HookFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
type HookFn = Box<dyn FnOnce(AppState) -> HookFuture + Send>;

/// One of the team's functions, with the name it is known by in messages.
pub(crate) struct Hook {
    /// `seed_dev_data`: the function's name, which `seed NAME` selects.
    pub name: String,
    /// Where it is, for messages: `src/server/seeds.rs`.
    pub file: String,
    pub run: HookFn,
}

impl Hook {
    pub(crate) fn new<Run, Output, Outcome>(name: &str, file: &str, run: Run) -> Hook
    where
        Run: FnOnce(AppState) -> Output + Send + 'static,
        Output: Future<Output = Outcome> + Send + 'static,
        Outcome: HookOutcome,
    {
        Hook {
            name: name.to_owned(),
            file: file.to_owned(),
            run: Box::new(move |state| {
                let future = run(state);
                Box::pin(async move { future.await.into_result() })
            }),
        }
    }

    /// `seed_dev_data` in `src/server/seeds.rs`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("`{}` in `{}`", self.name, self.file)
    }
}

/// What the server binary was asked to do on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCommand {
    /// No arguments: serve the app.
    Serve,
    /// `seed NAME`: migrate the database, run the seed `NAME`, exit.
    Seed(String),
    /// `seed` without a name: list the seeds, exit with an error.
    ListSeeds,
    /// `migrate`: apply the pending migrations, exit.
    Migrate,
    /// `migrate status`: list the applied and pending migrations and any problem, exit.
    MigrationStatus,
    /// `migrate reset`: drop every table of a development database, apply every migration
    /// again, exit (refused in production).
    MigrationReset,
    /// `--help`: say what the binary accepts.
    Help,
}

/// What `--help` and a wrong command line print.
pub const USAGE: &str = "usage: server                 serve the app (configured by PORT, HOST, DATABASE_URL, JWT_SECRET, CORS_ORIGINS)\n       server seed NAME       migrate the database, run the seed NAME of `db.seeds`, and exit\n       server migrate         apply the pending migrations of `migrations/` to DATABASE_URL, and exit\n       server migrate status  list the applied and pending migrations and any problem, and exit\n       server migrate reset   development only: drop every table of DATABASE_URL, apply every migration again, and exit";

impl ServerCommand {
    /// Reads the arguments after the program name.
    pub fn from_args(arguments: impl IntoIterator<Item = String>) -> Result<ServerCommand, String> {
        let arguments: Vec<String> = arguments.into_iter().collect();
        let words: Vec<&str> = arguments.iter().map(String::as_str).collect();
        match words.as_slice() {
            [] => Ok(ServerCommand::Serve),
            ["--help" | "-h" | "help"] => Ok(ServerCommand::Help),
            ["seed"] => Ok(ServerCommand::ListSeeds),
            ["seed", name] => Ok(ServerCommand::Seed((*name).to_owned())),
            ["migrate"] => Ok(ServerCommand::Migrate),
            ["migrate", "status"] => Ok(ServerCommand::MigrationStatus),
            ["migrate", "reset"] => Ok(ServerCommand::MigrationReset),
            _ => Err(format!(
                "unexpected arguments `{}`\n{USAGE}",
                arguments.join(" ")
            )),
        }
    }
}

/// The message for a seed name that is not declared: the seeds there are, or how to add one.
pub(crate) fn unknown_seed_message(name: Option<&str>, seeds: &[Hook]) -> String {
    let names: Vec<String> = seeds
        .iter()
        .map(|seed| format!("`{}`", seed.name))
        .collect();
    let first = match name {
        Some(name) => format!("there is no seed `{name}` in `db.seeds`"),
        None => "name the seed to run".to_owned(),
    };
    if names.is_empty() {
        format!(
            "{first}; the app declares no seeds: add `db: {{ seeds: [import {{ seed_dev_data }} from \"@src/server/seeds.rs\"] }}` to main.wasp"
        )
    } else {
        format!("{first}; the seeds are {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_command_line_selects_serving_or_a_seed() {
        assert_eq!(
            ServerCommand::from_args(words("")),
            Ok(ServerCommand::Serve)
        );
        assert_eq!(
            ServerCommand::from_args(words("seed seed_dev_data")),
            Ok(ServerCommand::Seed("seed_dev_data".to_owned()))
        );
        assert_eq!(
            ServerCommand::from_args(words("seed")),
            Ok(ServerCommand::ListSeeds)
        );
        assert_eq!(
            ServerCommand::from_args(words("migrate")),
            Ok(ServerCommand::Migrate)
        );
        assert_eq!(
            ServerCommand::from_args(words("migrate status")),
            Ok(ServerCommand::MigrationStatus)
        );
        assert_eq!(
            ServerCommand::from_args(words("migrate reset")),
            Ok(ServerCommand::MigrationReset)
        );
        assert!(ServerCommand::from_args(words("migrate now")).is_err());
        assert_eq!(
            ServerCommand::from_args(words("--help")),
            Ok(ServerCommand::Help)
        );
        let error = ServerCommand::from_args(words("seed a b")).unwrap_err();
        assert!(
            error.starts_with("unexpected arguments `seed a b`\nusage:"),
            "{error}"
        );
    }

    #[test]
    fn outcomes_convert_every_error_kind() {
        assert!(().into_result().is_ok());
        assert!(Ok::<(), String>(()).into_result().is_ok());
        let error = Err::<(), _>("no admin user".to_owned())
            .into_result()
            .unwrap_err();
        assert_eq!(error.to_string(), "no admin user");
        let io = Err::<(), _>(std::io::Error::other("disk full")).into_result();
        assert_eq!(io.unwrap_err().to_string(), "disk full");
    }

    #[test]
    fn an_unknown_seed_lists_the_declared_ones() {
        let seed = Hook::new("seed_dev_data", "src/server/seeds.rs", |_| async {});
        assert_eq!(
            unknown_seed_message(Some("dev"), std::slice::from_ref(&seed)),
            "there is no seed `dev` in `db.seeds`; the seeds are `seed_dev_data`"
        );
        assert!(unknown_seed_message(None, &[]).contains("the app declares no seeds"));
    }
}
