//! The `serve` entry point the generated `main` calls: connects the database, migrates it,
//! builds the router (auth routes, the team's routes, the web client's static files, the team's
//! `server.middlewareConfigFn`, the Socket.IO layer, CORS, tracing), awaits the team's
//! `server.setupFn`, binds, logs the URL, serves through the connection-limited accept loop of
//! `connections.rs`, and shuts down gracefully on SIGTERM or SIGINT: it closes sockets cleanly,
//! stops accepting, and lets in-flight requests finish (up to `APPC_SHUTDOWN_TIMEOUT_SECS`).
//! The web client's files carry the security headers of [`web_security_headers`].
//! [`Server::run`] is the binary's whole command line: serving, running one of the `db.seeds`,
//! or applying and listing the migrations (`migrate`, `migrate status`).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app_state::AppState;
use crate::auth::http::auth_routes;
use crate::auth::{Auth, UserTableError};
use crate::config::{Config, CorsOrigins};
use crate::db::{Database, DbError, EmbeddedMigration, MigrationError, TableSchema};
use crate::handlers::RunningHandlers;
use crate::hooks::{BoxError, Hook, HookOutcome, ServerCommand, USAGE};
use crate::live::{LiveHub, LiveQuery};
use crate::operation_limit::OperationLimiter;
use crate::presence::{Presence, PresenceError};
use crate::socket::{
    AdapterState, AppAdapter, Emitter, NamespaceConfig, RedisConnectError, RedisDriver,
    SocketSettings,
};
use crate::startup_schema::{self, Migrations};

pub use crate::connections::ConnectionStats;

/// The `Content-Security-Policy` of the web client's pages. Vite's production bundle is one
/// module script and stylesheets loaded from `/assets/` (no inline script); small images and
/// fonts may be inlined as `data:` URLs; React sets inline `style` attributes, hence
/// `'unsafe-inline'` for styles only. The socket connects back to this server over `ws:`/`wss:`
/// (listed because older browsers do not count them as `'self'`). No one may frame the pages.
pub const WEB_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The security headers of every web client response, embedded or served from disk:
/// the CSP above, `X-Content-Type-Options: nosniff` (files are only what their type says),
/// `X-Frame-Options: DENY` (for browsers without `frame-ancestors`) and a `Referrer-Policy` that
/// sends other sites the origin only.
pub fn web_security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(WEB_CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
    ]
}

/// Why the server did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be reached.
    #[error("could not open the database: {0}")]
    Database(#[from] DbError),
    /// The schema could not be migrated.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// The user entity cannot carry auth.
    #[error(transparent)]
    UserTable(#[from] UserTableError),
    /// The address is taken or not allowed.
    #[error(
        "could not listen on {address}: {source}; set PORT to a free port or stop the other server"
    )]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// `REDIS_URL` is set and Redis could not be reached at start-up.
    #[error(transparent)]
    Redis(#[from] RedisConnectError),
    /// A namespace could not subscribe to its Redis channels.
    #[error(
        "could not subscribe the socket namespace `{namespace}` to Redis: {source}; check that the Redis at REDIS_URL is version 7 or newer and accepts SUBSCRIBE"
    )]
    RedisSubscription {
        /// The namespace path.
        namespace: String,
        /// What the adapter said.
        source: socketioxide::adapter::AdapterError,
    },
    /// The server failed while running.
    #[error("the server stopped with an error: {0}")]
    Io(#[from] std::io::Error),
    /// SQLite's group-commit writer gave up after failing again and again, so the server
    /// stopped instead of failing every write.
    #[error(
        "the server stopped because the database writer stopped: {0}; check the database file and its disk, then start the server again"
    )]
    DatabaseWriter(String),
    /// The live queries could not subscribe to the other processes' changes on Redis.
    #[error(
        "could not subscribe the live queries to the other processes' changes on Redis: {source}; check that the Redis at REDIS_URL accepts SUBSCRIBE"
    )]
    LiveRelay { source: redis::RedisError },
    /// The presence store could not be set up (`REDIS_URL` refused by the Redis client).
    #[error("could not set up presence: {0}; check REDIS_URL")]
    Presence(#[from] PresenceError),
    /// The team's `server.setupFn` returned an error.
    #[error("the server's setup function {function} failed: {source}; the server did not start")]
    Setup {
        /// The function, as `name` in `file`.
        function: String,
        /// Its error.
        source: BoxError,
    },
}

/// Why a seed did not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Prepare(#[from] ServeError),
    /// No seed has that name.
    #[error("{0}")]
    Unknown(String),
    /// The seed returned an error.
    #[error("the seed {function} failed: {source}")]
    Failed {
        /// The seed, as `name` in `file`.
        function: String,
        /// Its error.
        source: BoxError,
    },
}

type RoutesFn = Box<dyn FnOnce(Router<AppState>) -> Router<AppState> + Send>;

/// Describes the server to start. The generated `main` fills it from the spec.
///
/// ```no_run
/// use appc_runtime::Config;
/// use appc_runtime::codegen::{
///     ColumnDefault, ColumnSchema, ConfigDefaults, NamespaceConfig, Server, SqlType, TableSchema,
/// };
///
/// #[tokio::main]
/// async fn main() {
///     appc_runtime::codegen::init_tracing();
///     let config = Config::from_env(ConfigDefaults::new(".appc")).unwrap_or_else(|error| {
///         eprintln!("error: {error}");
///         std::process::exit(1);
///     });
///     let user = TableSchema::new("User")
///         .column(ColumnSchema::new("id", SqlType::Integer).primary_key().default(ColumnDefault::Autoincrement))
///         .column(ColumnSchema::new("username", SqlType::Text).unique());
///     let result = Server::new(config)
///         .user_table(user)
///         .namespace(NamespaceConfig::new("/"))
///         .static_dir("web")
///         .serve()
///         .await;
///     if let Err(error) = result {
///         eprintln!("error: {error}");
///         std::process::exit(1);
///     }
/// }
/// ```
pub struct Server {
    config: Config,
    app_name: String,
    user_table: Option<TableSchema>,
    token_lifetime: Option<std::time::Duration>,
    tables: Vec<TableSchema>,
    socket_settings: SocketSettings,
    namespaces: Vec<Box<dyn FnOnce(AppState) -> NamespaceConfig + Send>>,
    routes: Vec<RoutesFn>,
    static_dir: Option<PathBuf>,
    middleware: Vec<RoutesFn>,
    setup: Option<Hook>,
    seeds: Vec<Hook>,
    migrations: Migrations,
    live_queries: Vec<LiveQuery>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Server")
            .field("config", &self.config)
            .field(
                "tables",
                &self
                    .tables
                    .iter()
                    .map(|table| &table.name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with this configuration, no tables, no auth and no sockets yet.
    pub fn new(config: Config) -> Self {
        Server {
            config,
            app_name: "app".to_owned(),
            user_table: None,
            token_lifetime: None,
            tables: Vec::new(),
            socket_settings: SocketSettings::default(),
            namespaces: Vec::new(),
            routes: Vec::new(),
            static_dir: None,
            middleware: Vec::new(),
            setup: None,
            seeds: Vec::new(),
            migrations: None,
            live_queries: Vec::new(),
        }
    }

    /// Names the app (the generated server passes `main.wasp`'s app name; default `app`): the
    /// default of `APPC_REDIS_PREFIX`, `appc:<app name>`, keeps the Redis channels and keys of
    /// different apps on one Redis apart.
    pub fn app_name(mut self, name: &str) -> Self {
        self.app_name = name.to_owned();
        self
    }

    /// Sets the migrations of the project's `migrations/` folder, which the server applies at
    /// start-up under a lock, refusing a database that is ahead of or diverged from them; then
    /// in development mode it adds what they do not cover yet, and in production it refuses a
    /// schema that still differs from the tables (see `db/versioned.rs`). The generated server
    /// always sets them; without them the server keeps its tables up to date additively in
    /// every mode.
    pub fn migrations(mut self, migrations: &'static [EmbeddedMigration]) -> Self {
        self.migrations = Some(migrations);
        self
    }

    /// Enables username and password auth on the spec's user entity.
    pub fn user_table(mut self, user_table: TableSchema) -> Self {
        self.user_table = Some(user_table);
        self
    }

    /// Sets how long auth tokens stay valid (default 7 days).
    pub fn token_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// Adds entity tables to migrate at start-up (referenced tables first; the user table is
    /// always migrated before them).
    pub fn tables(mut self, tables: impl IntoIterator<Item = TableSchema>) -> Self {
        self.tables.extend(tables);
        self
    }

    /// Sets the Socket.IO options; their per-socket limits are the configuration's
    /// ([`Config::socket_limits`]).
    pub fn socket_settings(mut self, settings: SocketSettings) -> Self {
        self.socket_settings = settings;
        self
    }

    /// Declares the app's live queries: every committed write to an entity one of them reads
    /// pushes its new result to the clients following it, through the built-in namespace
    /// `/appc-live` (see `live/`), which is mounted only when there are live queries.
    pub fn live_queries(mut self, queries: impl IntoIterator<Item = LiveQuery>) -> Self {
        self.live_queries.extend(queries);
        self
    }

    /// Adds a Socket.IO namespace.
    pub fn namespace(self, namespace: NamespaceConfig) -> Self {
        self.namespace_with_state(move |_| namespace)
    }

    /// Adds a Socket.IO namespace built from the app state, so its handlers can capture the
    /// database and the emitter.
    pub fn namespace_with_state(
        mut self,
        build: impl FnOnce(AppState) -> NamespaceConfig + Send + 'static,
    ) -> Self {
        self.namespaces.push(Box::new(build));
        self
    }

    /// Adds the app's own HTTP routes.
    pub fn routes(
        mut self,
        add_routes: impl FnOnce(Router<AppState>) -> Router<AppState> + Send + 'static,
    ) -> Self {
        self.routes.push(Box::new(add_routes));
        self
    }

    /// Serves the web client from this directory when it exists, with `index.html` for any
    /// other path so client-side routes work.
    pub fn static_dir(mut self, directory: impl Into<PathBuf>) -> Self {
        self.static_dir = Some(directory.into());
        self
    }

    /// Hands the HTTP router to the team's `server.middlewareConfigFn` once it holds every
    /// route (auth, the app's routes, the web client): routes the function adds are served and
    /// layers it adds wrap all of them. Socket.IO is outside its reach, as in Wasp, so a layer
    /// meant for HTTP requests (a timeout, compression) cannot break long-lived connections.
    pub fn middleware(
        mut self,
        configure: impl FnOnce(Router<AppState>) -> Router<AppState> + Send + 'static,
    ) -> Self {
        self.middleware.push(Box::new(configure));
        self
    }

    /// Sets the team's `server.setupFn`, `name` in `file`: awaited once after the database is
    /// migrated and before the port is bound; an error stops the start with
    /// [`ServeError::Setup`].
    pub fn setup<Run, Output, Outcome>(mut self, name: &str, file: &str, run: Run) -> Self
    where
        Run: FnOnce(AppState) -> Output + Send + 'static,
        Output: Future<Output = Outcome> + Send + 'static,
        Outcome: HookOutcome,
    {
        self.setup = Some(Hook::new(name, file, run));
        self
    }

    /// Adds one of the team's `db.seeds`, `name` in `file`, which `seed NAME` runs.
    pub fn seed<Run, Output, Outcome>(mut self, name: &str, file: &str, run: Run) -> Self
    where
        Run: FnOnce(AppState) -> Output + Send + 'static,
        Output: Future<Output = Outcome> + Send + 'static,
        Outcome: HookOutcome,
    {
        self.seeds.push(Hook::new(name, file, run));
        self
    }

    /// Answers `--help` and a malformed command line on its own, before the caller reads the
    /// configuration, so that `server --help` works without `JWT_SECRET`. Returns the exit
    /// status when the command line is answered, `None` when the caller goes on to [`Server::run`].
    pub fn answer_usage(
        arguments: impl IntoIterator<Item = String>,
    ) -> Option<std::process::ExitCode> {
        match ServerCommand::from_args(arguments) {
            Ok(ServerCommand::Help) => {
                println!("{USAGE}");
                Some(std::process::ExitCode::SUCCESS)
            }
            Ok(_) => None,
            Err(message) => {
                eprintln!("error: {message}");
                Some(std::process::ExitCode::from(2))
            }
        }
    }

    /// Does what the binary's command line asks (see [`ServerCommand`]): serves, runs one seed,
    /// or applies, lists or resets the migrations, printing any error on stderr. Returns the exit
    /// status: 0 done, 1 failed, 2 a wrong command line.
    pub async fn run(self, arguments: impl IntoIterator<Item = String>) -> std::process::ExitCode {
        use std::process::ExitCode;
        let command = match ServerCommand::from_args(arguments) {
            Ok(command) => command,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        };
        match command {
            ServerCommand::Help => {
                println!("{USAGE}");
                ExitCode::SUCCESS
            }
            ServerCommand::ListSeeds => {
                eprintln!(
                    "error: {}",
                    crate::hooks::unknown_seed_message(None, &self.seeds)
                );
                ExitCode::from(2)
            }
            ServerCommand::Seed(name) => match self.run_seed(&name).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(SeedError::Unknown(message)) => {
                    eprintln!("error: {message}");
                    ExitCode::from(2)
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            },
            ServerCommand::Migrate => exit_code(self.run_migrate().await),
            ServerCommand::MigrationStatus => match self.run_migration_status().await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            },
            ServerCommand::MigrationReset => exit_code(self.run_migration_reset().await),
            ServerCommand::Serve => exit_code(self.serve().await),
        }
    }

    /// Connects, migrates, runs the seed named `name` with a context over every entity, and
    /// closes the database. It prints what ran on stdout; the setup function does not run.
    pub async fn run_seed(mut self, name: &str) -> Result<(), SeedError> {
        let Some(index) = self.seeds.iter().position(|seed| seed.name == name) else {
            return Err(SeedError::Unknown(crate::hooks::unknown_seed_message(
                Some(name),
                &self.seeds,
            )));
        };
        let seed = self.seeds.swap_remove(index);
        let (state, _socket_layer) = self.connect_and_migrate().await?;
        let started = std::time::Instant::now();
        let description = seed.describe();
        let result = (seed.run)(state.clone()).await;
        // Writes queued on SQLite's group-commit writer are applied before the process exits.
        state.database.close().await;
        match result {
            Ok(()) => {
                println!(
                    "seeded the database with {description} in {} ms",
                    started.elapsed().as_millis()
                );
                Ok(())
            }
            Err(source) => Err(SeedError::Failed {
                function: description,
                source,
            }),
        }
    }

    /// `migrate`: connects, applies the pending migrations (in development also the additive
    /// changes they do not cover), prints what it did and closes the database.
    pub async fn run_migrate(self) -> Result<(), ServeError> {
        let (migrations, mode) = (self.migrations, self.config.mode);
        self.with_database(async |database, tables| {
            startup_schema::run_migrate_command(database, migrations, tables, mode).await
        })
        .await
    }

    /// `migrate reset`: refuses in production mode before connecting; otherwise connects,
    /// drops every table the app may own (`db/reset.rs`), applies every migration as `migrate`
    /// does, prints what it did and closes the database.
    pub async fn run_migration_reset(self) -> Result<(), ServeError> {
        if self.config.mode == crate::config::Mode::Production {
            return Err(MigrationError::ResetInProduction.into());
        }
        let (migrations, mode) = (self.migrations, self.config.mode);
        self.with_database(async |database, tables| {
            startup_schema::run_reset_command(database, migrations, tables, mode).await
        })
        .await
    }

    /// `migrate status`: connects and prints the applied and pending migrations and any
    /// problem; `Ok(false)` when the database is ahead of or diverged from this build.
    pub async fn run_migration_status(self) -> Result<bool, ServeError> {
        let migrations = self.migrations;
        self.with_database(async |database, tables| {
            startup_schema::print_status(database, migrations, tables).await
        })
        .await
    }

    /// Connects as the server would, runs one database `command` (a `migrate` subcommand) on
    /// every table the app owns (the user table included) and closes the database, whatever
    /// the command returned.
    async fn with_database<T, E>(
        &self,
        command: impl AsyncFnOnce(&Database, &[&TableSchema]) -> Result<T, E>,
    ) -> Result<T, ServeError>
    where
        ServeError: From<E>,
    {
        let (database, auth) = self.connect_with_auth().await?;
        let result = command(&database, &self.all_tables(&auth)).await;
        database.close().await;
        Ok(result?)
    }

    /// Starts everything, serves until SIGTERM or SIGINT, then shuts down gracefully.
    pub async fn serve(self) -> Result<(), ServeError> {
        self.bind().await?.run_until(shutdown_signal()).await
    }

    /// Connects, opens auth, migrates, and builds the Socket.IO layer and the app state; the
    /// parts of the builder that serve HTTP are left for [`Server::bind`].
    async fn connect_and_migrate(
        &mut self,
    ) -> Result<(AppState, socketioxide::layer::SocketIoLayer<AppAdapter>), ServeError> {
        let redis_prefix = self.config.redis_prefix_or_default(&self.app_name);
        // Redis first: a process that cannot reach its peers should not touch the database.
        let (adapter, redis_driver) = match &self.config.redis_url {
            None => (AdapterState::local(), None),
            Some(url) => {
                let shown_url = crate::config::redact_password(url);
                let driver = RedisDriver::connect(url, &shown_url).await?;
                tracing::info!(redis = %shown_url, prefix = %redis_prefix, "sockets reach the other processes through Redis");
                (
                    AdapterState::redis(driver.clone(), &redis_prefix),
                    Some(driver),
                )
            }
        };
        let (database, auth) = self.connect_with_auth().await?;
        let config = Arc::new(self.config.clone());
        startup_schema::prepare_for_serving(
            &database,
            self.migrations,
            &self.all_tables(&auth),
            config.mode,
        )
        .await?;

        let socket_settings = self
            .socket_settings
            .clone()
            .limits(config.socket_limits.clone());
        let (socket_layer, io) = socket_settings.build_layer(auth.clone(), adapter);
        let operation_limiter = Arc::new(OperationLimiter::new(
            config.limits.operations_per_second,
            config.limits.operation_burst,
        ));
        let emitter = Emitter::new(io);
        let presence =
            Presence::for_server(config.redis_url.as_deref(), &redis_prefix, emitter.clone())?;
        let state = AppState {
            database,
            auth,
            emitter,
            presence,
            config,
            handlers: RunningHandlers::default(),
            operation_limiter,
        };
        for build in std::mem::take(&mut self.namespaces) {
            let namespace = build(state.clone());
            let path = namespace.path().to_owned();
            namespace
                .register(state.emitter.io())
                .ready()
                .await
                .map_err(|source| ServeError::RedisSubscription {
                    namespace: path,
                    source,
                })?;
        }
        if !self.live_queries.is_empty() {
            let hub = LiveHub::new(
                std::mem::take(&mut self.live_queries),
                &self.all_tables(&state.auth),
                state.auth.user_table().map(|table| table.name.as_str()),
                &state,
                state.config.limits.live_window,
                state.config.limits.live_subscriptions_per_socket,
            );
            if let Some(driver) = redis_driver {
                hub.relay_through(driver, &redis_prefix)
                    .await
                    .map_err(|source| ServeError::LiveRelay { source })?;
            }
            // Awaited like the app's namespaces: with Redis, socketioxide adds a namespace only
            // once its channels are subscribed, and a dropped subscription leaves it missing.
            hub.namespace()
                .register(state.emitter.io())
                .ready()
                .await
                .map_err(|source| ServeError::RedisSubscription {
                    namespace: crate::live::LIVE_NAMESPACE.to_owned(),
                    source,
                })?;
            state.database.listen_for_changes(Arc::new(hub));
        }
        Ok((state, socket_layer))
    }

    /// Connects to the database and opens auth on the user table.
    async fn connect_with_auth(&self) -> Result<(Database, Auth), ServeError> {
        let config = &self.config;
        ensure_sqlite_directory(&config.database_url)?;
        let database = Database::connect(&config.database_url).await?;
        let auth = match &self.user_table {
            Some(user_table) => {
                let auth = Auth::new(database.clone(), &config.jwt_secret, user_table)?;
                // The deployment's variable wins over the lifetime built into the server.
                match config.token_lifetime.or(self.token_lifetime) {
                    Some(lifetime) => auth.with_token_lifetime(lifetime),
                    None => auth,
                }
            }
            None => Auth::disabled(),
        }
        .with_limits(&config.limits);
        Ok((database, auth))
    }

    /// Every table of the app, the user table (with the columns auth adds) first.
    fn all_tables<'t>(&'t self, auth: &'t Auth) -> Vec<&'t TableSchema> {
        let mut tables: Vec<&TableSchema> = auth.user_table().into_iter().collect();
        tables.extend(self.tables.iter());
        tables
    }

    /// Connects, migrates, awaits the setup function and binds without serving yet; tests use
    /// this to learn the address (with `PORT=0`) and to stop the server with their own signal.
    pub async fn bind(mut self) -> Result<BoundServer, ServeError> {
        let (state, socket_layer) = self.connect_and_migrate().await?;
        let config = state.config.clone();
        let auth = state.auth.clone();
        let mut router: Router<AppState> = Router::new();
        if auth.is_enabled() {
            router = router.merge(auth_routes());
        }
        for add_routes in self.routes {
            router = add_routes(router);
        }
        if let Some(directory) = self.static_dir.filter(|directory| directory.is_dir()) {
            let index = directory.join("index.html");
            let [csp, nosniff, frame_options, referrer_policy] = web_security_headers()
                .map(|(name, value)| SetResponseHeaderLayer::if_not_present(name, value));
            let files = ServiceBuilder::new()
                .layer(csp)
                .layer(nosniff)
                .layer(frame_options)
                .layer(referrer_policy)
                .service(ServeDir::new(&directory).fallback(ServeFile::new(index)));
            router = router.fallback_service(files);
        }
        for configure in self.middleware {
            router = configure(router);
        }
        let mut router = router
            .layer(socket_layer)
            // Outside the Socket.IO layer, so Engine.IO stores the compact copy.
            .layer(tower::util::MapRequestLayer::new(compact_socket_request));
        if let Some(cors) = cors_layer(&config.cors_origins) {
            router = router.layer(cors);
        }
        let router = router
            .layer(TraceLayer::new_for_http())
            .with_state(state.clone());

        // The team's setup runs on the migrated database before the port is bound, so no
        // request reaches an app that is not ready, and a failure leaves no port half-open.
        if let Some(setup) = self.setup {
            let function = setup.describe();
            (setup.run)(state.clone())
                .await
                .map_err(|source| ServeError::Setup { function, source })?;
        }

        let address = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Bind { address, source })?;
        let local_address = listener.local_addr()?;
        Ok(BoundServer {
            listener,
            router,
            state,
            local_address,
            connection_stats: Arc::new(ConnectionStats::default()),
        })
    }
}

/// A server that is bound and migrated but not serving yet.
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    router: Router,
    state: AppState,
    local_address: SocketAddr,
    connection_stats: Arc<ConnectionStats>,
}

impl BoundServer {
    /// The counters of accepted, refused and open connections, live while the server runs.
    pub fn connection_stats(&self) -> Arc<ConnectionStats> {
        self.connection_stats.clone()
    }

    /// The address the server listens on.
    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// The app state (database, auth, emitter).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then closes sockets, stops accepting, lets in-flight
    /// requests finish (up to the shutdown timeout) and closes the database pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let BoundServer {
            listener,
            router,
            state,
            local_address,
            connection_stats,
        } = self;
        tracing::info!("listening on http://{local_address}");
        let emitter = state.emitter.clone();
        let database = state.database.clone();
        let graceful = async move {
            // A database writer that gave up would fail every later write: the server stops
            // instead, through the same graceful path, and `run_until` returns the reason.
            tokio::select! {
                () = shutdown => {}
                reason = database.writer_stopped() => {
                    tracing::error!("stopping the server: the database writer stopped ({reason})");
                }
            }
            tracing::info!("shutting down: closing sockets and finishing in-flight requests");
            // Sockets are closed first: they are long-lived and would otherwise keep the
            // server waiting; requests in flight still complete.
            emitter.close().await;
        };
        crate::connections::serve(
            listener,
            router,
            &state.config.limits,
            connection_stats,
            graceful,
        )
        .await;
        // Socket handlers are tasks of their own, still running after their sockets closed:
        // their database writes finish (up to the same timeout) before the database closes,
        // which applies every write the SQLite writer has queued. A write that comes later
        // fails with an error; none is reported done and then lost.
        let handlers = &state.handlers;
        if !handlers
            .wait_until_idle(state.config.limits.shutdown_timeout)
            .await
        {
            tracing::warn!(
                "{} socket handlers still running after APPC_SHUTDOWN_TIMEOUT_SECS ({} s); closing the database under them",
                handlers.running(),
                state.config.limits.shutdown_timeout.as_secs()
            );
        }
        state.database.close().await;
        if let Some(reason) = state.database.writer_stop_reason() {
            return Err(ServeError::DatabaseWriter(reason));
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// Copies the URI and headers of a Socket.IO request into allocations of their own.
///
/// hyper parses a request without copying: the URI and every header value are slices of the
/// connection's 8 KiB read buffer. Engine.IO keeps the parts of the request that opened a
/// session for the session's whole life (`socket.req_parts()`), and with them that buffer:
/// about 8 KiB per idle connection (BENCHMARKS.md). The copies hold only the bytes they need.
fn compact_socket_request<B>(request: axum::http::Request<B>) -> axum::http::Request<B> {
    if !request.uri().path().starts_with("/socket.io") {
        return request;
    }
    let (mut parts, body) = request.into_parts();
    if let Ok(uri) = axum::http::Uri::try_from(parts.uri.to_string()) {
        parts.uri = uri;
    }
    let headers = std::mem::take(&mut parts.headers);
    let mut compact = axum::http::HeaderMap::with_capacity(headers.len());
    for (name, value) in &headers {
        let name = axum::http::HeaderName::from_bytes(name.as_str().as_bytes())
            .unwrap_or_else(|_| name.clone());
        let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        compact.append(name, copy);
    }
    parts.headers = compact;
    axum::http::Request::from_parts(parts, body)
}

/// The environment variable that sets how many threads run the server's tasks.
pub const WORKER_THREADS_VARIABLE: &str = "APPC_WORKER_THREADS";

/// The tokio runtime the generated `main` runs the server on.
///
/// `APPC_WORKER_THREADS` sets the number of worker threads; by default there is one per core the
/// process may use (which `taskset` or a container's CPU set limits). With one thread the
/// runtime is single-threaded: on one core the multi-threaded scheduler only adds wake-ups
/// across threads (measured in BENCHMARKS.md). Database drivers and blocking work (password
/// hashing) keep their own threads either way.
pub fn async_runtime() -> Result<tokio::runtime::Runtime, std::io::Error> {
    let threads = match std::env::var(WORKER_THREADS_VARIABLE) {
        Ok(value) => worker_threads_from(&value)?,
        Err(_) => std::thread::available_parallelism().map_or(1, |cores| cores.get()),
    };
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

fn worker_threads_from(value: &str) -> Result<usize, std::io::Error> {
    match value.trim().parse::<usize>() {
        Ok(threads) if threads > 0 => Ok(threads),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{WORKER_THREADS_VARIABLE} is `{value}`; set it to a number of threads of at least 1, or unset it for one per core"
            ),
        )),
    }
}

/// The exit status of a command that either did its work or failed: 0, or the error on stderr
/// and 1.
fn exit_code(result: Result<(), ServeError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// SQLite creates the database file but not its directory; `.appc/` may not exist yet.
fn ensure_sqlite_directory(database_url: &str) -> Result<(), ServeError> {
    let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path)
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

fn cors_layer(origins: &CorsOrigins) -> Option<CorsLayer> {
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    let headers = [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT];
    match origins {
        CorsOrigins::SameOriginOnly => None,
        CorsOrigins::Any => Some(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(methods)
                .allow_headers(headers),
        ),
        CorsOrigins::List(list) => {
            // The origins were validated when the config was read, so each is a valid header.
            let values: Vec<HeaderValue> = list
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok())
                .collect();
            Some(
                CorsLayer::new()
                    .allow_origin(AllowOrigin::list(values))
                    .allow_methods(methods)
                    .allow_headers(headers),
            )
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::http::{HeaderName, Request, Uri};

    fn points_into(buffer: &Bytes, bytes: &[u8]) -> bool {
        let start = buffer.as_ptr() as usize;
        let address = bytes.as_ptr() as usize;
        address >= start && address < start + buffer.len()
    }

    /// A request as hyper hands it over: URI and header values are slices of one read buffer.
    fn request_sharing(buffer: &Bytes, path: &str) -> Request<()> {
        let text = std::str::from_utf8(buffer).unwrap();
        let path_start = text.find(path).unwrap();
        let value_start = text.find("websocket").unwrap();
        let uri =
            Uri::from_maybe_shared(buffer.slice(path_start..path_start + path.len())).unwrap();
        let value =
            HeaderValue::from_maybe_shared(buffer.slice(value_start..value_start + 9)).unwrap();
        let mut request = Request::builder().uri(uri).body(()).unwrap();
        request.headers_mut().insert(header::UPGRADE, value.clone());
        request
            .headers_mut()
            .insert(HeaderName::from_static("x-custom"), value);
        request
    }

    #[test]
    fn socket_requests_stop_sharing_the_connection_read_buffer() {
        let path = "/socket.io/?EIO=4&transport=websocket";
        let buffer = Bytes::from(format!("GET {path} HTTP/1.1\r\nupgrade: websocket\r\n\r\n"));
        let request = request_sharing(&buffer, path);
        assert!(points_into(&buffer, request.uri().path().as_bytes()));
        assert!(points_into(
            &buffer,
            request.headers()[header::UPGRADE].as_bytes()
        ));

        let compact = compact_socket_request(request);
        assert_eq!(compact.uri().to_string(), path);
        assert!(!points_into(&buffer, compact.uri().path().as_bytes()));
        for name in [header::UPGRADE.as_str(), "x-custom"] {
            let value = &compact.headers()[name];
            assert_eq!(value, "websocket");
            assert!(
                !points_into(&buffer, value.as_bytes()),
                "{name} still shares the buffer"
            );
        }
    }

    #[test]
    fn other_requests_are_left_alone() {
        let path = "/auth/login";
        let buffer = Bytes::from(format!(
            "POST {path} HTTP/1.1\r\nupgrade: websocket\r\n\r\n"
        ));
        let request = compact_socket_request(request_sharing(&buffer, path));
        assert!(points_into(&buffer, request.uri().path().as_bytes()));
    }

    #[test]
    fn worker_threads_must_be_a_positive_number() {
        assert_eq!(worker_threads_from("4").unwrap(), 4);
        assert_eq!(worker_threads_from(" 1 ").unwrap(), 1);
        for bad in ["0", "-2", "many", ""] {
            let error = worker_threads_from(bad).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("APPC_WORKER_THREADS is `{bad}`; set it to")),
                "{error}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_writer_that_gives_up_stops_the_server_with_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let data = directory.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let url = format!("sqlite://{}", data.join("app.db").display());
        let variables = [
            ("PORT", "0".to_owned()),
            ("HOST", "127.0.0.1".to_owned()),
            (
                "JWT_SECRET",
                "a-test-secret-that-is-at-least-32-bytes".to_owned(),
            ),
            ("DATABASE_URL", url),
        ];
        let config = Config::from_variables(
            crate::config::ConfigDefaults::new(&data).mode(crate::config::Mode::Production),
            |name| {
                variables
                    .iter()
                    .find(|(variable, _)| *variable == name)
                    .map(|(_, value)| value.clone())
            },
        )
        .unwrap();
        let bound = Server::new(config).bind().await.unwrap();
        let database = bound.state().database.clone();
        // The database's folder goes away, so the writer cannot reopen its connection after
        // the panic below, and gives up after its attempts (about three seconds).
        std::fs::rename(&data, directory.path().join("gone")).unwrap();
        database.panic_writer_for_test().await;
        let outcome = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            bound.run_until(std::future::pending()),
        )
        .await
        .expect("the server stops on its own, without a signal");
        let error = outcome.unwrap_err();
        assert!(matches!(error, ServeError::DatabaseWriter(_)), "{error}");
        let message = error.to_string();
        assert!(
            message.starts_with("the server stopped because the database writer stopped: it could not reopen its connection"),
            "{message}"
        );
        assert!(
            message.ends_with("then start the server again"),
            "{message}"
        );
    }
}
