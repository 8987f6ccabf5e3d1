//! Server configuration from the environment (and a `.env` file in development): address,
//! database, JWT secret, CORS origins and Redis. Every invalid value is reported as one line that
//! names the variable and the expected form, and never echoes secrets.
//!
//! The mode is explicit: `APPC_ENV=production` or `APPC_ENV=development`. When `APPC_ENV` is
//! unset, the generated `main` passes its default, [`Mode::for_this_build`]: development for debug
//! builds (`appc dev`), production for release builds (`appc build`).
//!
//! | variable | default in development | default in production |
//! |---|---|---|
//! | `PORT` | 3000 | 3000 |
//! | `HOST` | 127.0.0.1 | 0.0.0.0 |
//! | `DATABASE_URL` | `sqlite://<data dir>/app.db` | same (required if the spec's db is PostgreSQL) |
//! | `JWT_SECRET` | generated once, kept in `<data dir>/jwt-secret` | required, at least 32 bytes |
//! | `CORS_ORIGINS` | any origin | none (same origin only) |
//! | `REDIS_URL` | unset | unset |
//! | `APPC_REDIS_PREFIX` | `appc:<app name>` | same |
//! | `APPC_TRUSTED_PROXIES` | none (the TCP peer is the client) | none |
//! | `APPC_TOKEN_LIFETIME_SECS` | the server's (`Server::token_lifetime`, else 7 days) | same |
//!
//! A `postgres://` `DATABASE_URL` may ask for TLS as libpq does: `?sslmode=require` (hosted
//! PostgreSQL needs it), `verify-ca` or `verify-full` with `sslrootcert=/path/to/ca.pem`, and
//! `sslcert`/`sslkey` for a client certificate. An unknown `sslmode` or a certificate file that
//! cannot be read stops the server at start-up with the parameter's name.
//!
//! The limits that keep one slow, greedy or hostile client from hurting the others ([`Limits`])
//! have the same defaults in both modes; `runtime/README.md` has the table of what happens at each.
//!
//! The per-socket limits ([`SocketLimits`]) are read from `APPC_SOCKET_EVENTS_PER_SECOND` (20),
//! `APPC_SOCKET_EVENT_BURST` (40), `APPC_SOCKET_QUEUED_EVENTS` (32),
//! `APPC_SOCKET_REFUSALS_BEFORE_DISCONNECT` (10) and `APPC_SOCKET_USER_CHECK_SECS` (60; 0 turns
//! the check off), with the same defaults in both modes.
//!
//! Queries, actions and apis are limited per client (the user of a valid token, else the
//! address) by `APPC_OPERATIONS_PER_SECOND` (50) and `APPC_OPERATION_BURST` (100): more get
//! `429 rate_limited` with `Retry-After`. A live-query subscription counts as one call; one
//! connection follows at most `APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET` (100) live queries at once,
//! each pushed at most once per `APPC_LIVE_WINDOW_MS` (15) while changes keep coming.
//!
//! `APPC_REDIS_PREFIX` starts every Redis channel and key the server uses (Socket.IO's channels,
//! `<prefix>-request#...`, and presence's keys, `<prefix>:presence:...`). Redis's pub/sub channels
//! are shared by the whole Redis server whatever the database number, so two apps, or a staging
//! and a production deployment of one app, on one Redis need different prefixes: the default
//! names the app (the generated `main` passes its name to the server), and a second deployment of
//! the same app sets its own.
//!
//! Behind a reverse proxy, list it in `APPC_TRUSTED_PROXIES` (addresses and networks, such as
//! `127.0.0.1,10.0.0.0/8`; default none): requests from those peers are counted against the
//! client their `X-Forwarded-For` names (read from the right, past trusted entries), and the
//! header of any other peer is ignored, so a client cannot choose its own address.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client_address::TrustedProxies;
use crate::db::DbSystem;
use crate::socket::limits::SocketLimits;

/// Development or production behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Local development: loads `.env`, generates a JWT secret, allows any CORS origin.
    Development,
    /// Production: requires `JWT_SECRET`, listens on all interfaces, CORS only as configured.
    Production,
}

impl Mode {
    /// Development for debug builds, production for release builds.
    pub fn for_this_build() -> Mode {
        if cfg!(debug_assertions) {
            Mode::Development
        } else {
            Mode::Production
        }
    }
}

/// Which origins may call the server from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin access (the web client is served by this server).
    SameOriginOnly,
    /// Any origin (`*`, the development default).
    Any,
    /// Exactly these origins, such as `https://app.example.com`.
    List(Vec<String>),
}

/// The JWT signing secret. Its `Debug` output never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    /// The minimum length accepted, in bytes.
    pub const MINIMUM_BYTES: usize = 32;

    /// Wraps secret bytes, refusing ones shorter than [`JwtSecret::MINIMUM_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<JwtSecret, ConfigError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MINIMUM_BYTES {
            return Err(ConfigError::new(format!(
                "JWT_SECRET must be at least {} bytes long, got {} bytes; set it to a random string such as the output of `openssl rand -hex 32`",
                Self::MINIMUM_BYTES,
                bytes.len()
            )));
        }
        Ok(JwtSecret(bytes))
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("JwtSecret(<redacted>)")
    }
}

/// An invalid or missing setting; the message is one line naming the variable and the expected
/// form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    fn new(message: String) -> Self {
        ConfigError { message }
    }
}

/// What the generated `main` knows that the environment does not.
#[derive(Debug, Clone)]
pub struct ConfigDefaults {
    /// The directory for development data: the SQLite file and the generated JWT secret
    /// (the project's `.appc/`).
    pub data_dir: PathBuf,
    /// The spec's `db.system`.
    pub db_system: DbSystem,
    /// The mode when `APPC_ENV` is unset.
    pub mode: Mode,
}

impl ConfigDefaults {
    /// Defaults for a project whose data directory is `data_dir`, on SQLite, in the mode of
    /// this build.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ConfigDefaults {
            data_dir: data_dir.into(),
            db_system: DbSystem::Sqlite,
            mode: Mode::for_this_build(),
        }
    }

    /// Sets the spec's database system.
    pub fn db_system(mut self, db_system: DbSystem) -> Self {
        self.db_system = db_system;
        self
    }

    /// Sets the mode used when `APPC_ENV` is unset.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

/// The server's settings, resolved and validated. Its `Debug` output hides the passwords in
/// `database_url` and `redis_url`, so logging it is safe.
#[derive(Clone)]
pub struct Config {
    /// Development or production.
    pub mode: Mode,
    /// The address to listen on (`HOST`).
    pub host: IpAddr,
    /// The port to listen on (`PORT`; 0 picks a free one).
    pub port: u16,
    /// `sqlite://...` or `postgres://...` (`DATABASE_URL`).
    pub database_url: String,
    /// The HS256 signing secret (`JWT_SECRET`).
    pub jwt_secret: JwtSecret,
    /// Allowed browser origins (`CORS_ORIGINS`).
    pub cors_origins: CorsOrigins,
    /// A validated `redis://` url (`REDIS_URL`): sockets across processes through Redis. Only
    /// with a PostgreSQL database (see [`Config::from_env`]'s refusal of SQLite with Redis).
    pub redis_url: Option<String>,
    /// What starts every Redis channel and key of this deployment (`APPC_REDIS_PREFIX`); unset,
    /// the server uses `appc:<app name>` ([`Config::redis_prefix_or_default`]).
    pub redis_prefix: Option<String>,
    /// How long a token issued at signup or login is valid (`APPC_TOKEN_LIFETIME_SECS`, at
    /// least 60); unset, the server's own (`Server::token_lifetime`, else seven days).
    pub token_lifetime: Option<Duration>,
    /// The data directory from [`ConfigDefaults`].
    pub data_dir: PathBuf,
    /// Events per second, queued handlers and user checks per socket (`APPC_SOCKET_*`).
    pub socket_limits: SocketLimits,
    /// Connection, timeout, hashing and throttling limits (`APPC_MAX_CONNECTIONS`, ...).
    pub limits: Limits,
}

/// The limits that keep one client from exhausting the server: every one is read from an
/// `APPC_*` variable and has a safe default (see `runtime/README.md` for what happens at each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open HTTP and WebSocket connections in total (`APPC_MAX_CONNECTIONS`, default 10000);
    /// more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Open connections from one client address, an IPv4 address or an IPv6 /64
    /// (`APPC_MAX_CONNECTIONS_PER_IP`, default 256).
    pub max_connections_per_address: usize,
    /// How long a client may take to send a request's headers, which is also how long a kept-alive
    /// connection may wait idle for its next request (`APPC_HEADER_TIMEOUT_SECS`, default 10).
    pub header_timeout: Duration,
    /// How long shutdown waits for open connections to finish (`APPC_SHUTDOWN_TIMEOUT_SECS`,
    /// default 10).
    pub shutdown_timeout: Duration,
    /// Password hashes computed at once, 19 MiB each (`APPC_HASH_CONCURRENCY`, default one per
    /// core).
    pub hash_concurrency: usize,
    /// How long a signup or login waits for a hashing slot before 503 (`APPC_HASH_WAIT_SECS`,
    /// default 5).
    pub hash_wait: Duration,
    /// Login and signup attempts per minute for one username (`APPC_LOGIN_ATTEMPTS_PER_MINUTE`,
    /// default 10); more get 429.
    pub login_attempts_per_minute: NonZeroU32,
    /// Login and signup attempts per minute from one client address
    /// (`APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP`, default 60); more get 429.
    pub login_attempts_per_minute_per_address: NonZeroU32,
    /// How long auth waits for a database connection before 503 `database_busy`
    /// (`APPC_AUTH_DB_TIMEOUT_SECS`, default 3).
    pub auth_database_timeout: Duration,
    /// Bytes the server may hold for one WebSocket client that does not read what it is sent
    /// (`APPC_SOCKET_SEND_BUFFER_BYTES`, default 1 MiB); past it the connection is closed and the
    /// client reconnects and loads what it missed.
    pub socket_send_buffer: usize,
    /// The largest request body a query, action or api accepts (`APPC_REQUEST_BODY_BYTES`,
    /// default 1 MiB); a larger one gets 413 `payload_too_large` before it is read whole.
    pub request_body: usize,
    /// Queries, actions and api requests per second from one client, sustained: one user (a
    /// valid token) or, without one, one address (`APPC_OPERATIONS_PER_SECOND`, default 50);
    /// more get 429 `rate_limited` with `Retry-After`.
    pub operations_per_second: NonZeroU32,
    /// Requests one client may make at once before the sustained rate applies
    /// (`APPC_OPERATION_BURST`, default 100): a page that loads many queries at once.
    pub operation_burst: NonZeroU32,
    /// Live queries one connection may follow at once (`APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET`,
    /// default 100); past it a `subscribe` is answered `too_many_subscriptions`.
    pub live_subscriptions_per_socket: usize,
    /// While changes keep coming, how often at most one live-query subscription is computed
    /// again and pushed (`APPC_LIVE_WINDOW_MS`, default 15, from 1 to 10000); the first change
    /// after a quiet window is pushed at once. Shorter: fresher data, more computations and frames.
    pub live_window: Duration,
    /// The reverse proxies whose `X-Forwarded-For` names the client (`APPC_TRUSTED_PROXIES`,
    /// addresses and networks such as `127.0.0.1,10.0.0.0/8`; default none): every per-address
    /// limit above and every log line then counts the forwarded client instead of the proxy,
    /// and a trusted proxy's own connections are not capped by `APPC_MAX_CONNECTIONS_PER_IP`.
    pub trusted_proxies: TrustedProxies,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            max_connections_per_address: 256,
            header_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            hash_concurrency: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            hash_wait: Duration::from_secs(5),
            login_attempts_per_minute: NonZeroU32::new(10).expect("10 is not zero"),
            login_attempts_per_minute_per_address: NonZeroU32::new(60).expect("60 is not zero"),
            auth_database_timeout: Duration::from_secs(3),
            socket_send_buffer: 1024 * 1024,
            request_body: 1024 * 1024,
            operations_per_second: NonZeroU32::new(50).expect("50 is not zero"),
            operation_burst: NonZeroU32::new(100).expect("100 is not zero"),
            live_subscriptions_per_socket: DEFAULT_LIVE_SUBSCRIPTIONS_PER_SOCKET,
            live_window: DEFAULT_LIVE_WINDOW,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

impl Limits {
    /// The defaults, overridden by the `APPC_*` variables that are set.
    fn from_variables(non_empty: impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
        let defaults = Limits::default();
        let count = |name: &str, default: usize| -> Result<usize, ConfigError> {
            match non_empty(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<usize>() {
                    Ok(number) if number > 0 => Ok(number),
                    _ => Err(ConfigError::new(format!(
                        "{name} must be a whole number of at least 1, got `{text}`; unset it for the default of {default}"
                    ))),
                },
            }
        };
        let seconds = |name: &str,
                       default: Duration,
                       minimum: u64|
         -> Result<Duration, ConfigError> {
            match non_empty(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<u64>() {
                    Ok(number) if number >= minimum && number <= 86_400 => {
                        Ok(Duration::from_secs(number))
                    }
                    _ => Err(ConfigError::new(format!(
                        "{name} must be a whole number of seconds from {minimum} to 86400, got `{text}`; unset it for the default of {}",
                        default.as_secs()
                    ))),
                },
            }
        };
        let positive = |name: &str, default: NonZeroU32| -> Result<NonZeroU32, ConfigError> {
            let number = count(name, default.get() as usize)?;
            u32::try_from(number)
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| {
                    ConfigError::new(format!(
                        "{name} must be a whole number from 1 to {}, got `{number}`",
                        u32::MAX
                    ))
                })
        };
        Ok(Limits {
            max_connections: count("APPC_MAX_CONNECTIONS", defaults.max_connections)?,
            max_connections_per_address: count(
                "APPC_MAX_CONNECTIONS_PER_IP",
                defaults.max_connections_per_address,
            )?,
            header_timeout: seconds("APPC_HEADER_TIMEOUT_SECS", defaults.header_timeout, 1)?,
            shutdown_timeout: seconds("APPC_SHUTDOWN_TIMEOUT_SECS", defaults.shutdown_timeout, 0)?,
            hash_concurrency: count("APPC_HASH_CONCURRENCY", defaults.hash_concurrency)?,
            hash_wait: seconds("APPC_HASH_WAIT_SECS", defaults.hash_wait, 0)?,
            login_attempts_per_minute: positive(
                "APPC_LOGIN_ATTEMPTS_PER_MINUTE",
                defaults.login_attempts_per_minute,
            )?,
            login_attempts_per_minute_per_address: positive(
                "APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP",
                defaults.login_attempts_per_minute_per_address,
            )?,
            auth_database_timeout: seconds(
                "APPC_AUTH_DB_TIMEOUT_SECS",
                defaults.auth_database_timeout,
                1,
            )?,
            socket_send_buffer: count(
                "APPC_SOCKET_SEND_BUFFER_BYTES",
                defaults.socket_send_buffer,
            )?,
            request_body: count("APPC_REQUEST_BODY_BYTES", defaults.request_body)?,
            operations_per_second: positive(
                "APPC_OPERATIONS_PER_SECOND",
                defaults.operations_per_second,
            )?,
            operation_burst: positive("APPC_OPERATION_BURST", defaults.operation_burst)?,
            live_subscriptions_per_socket: count(
                "APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET",
                defaults.live_subscriptions_per_socket,
            )?,
            live_window: match non_empty("APPC_LIVE_WINDOW_MS") {
                None => defaults.live_window,
                Some(text) => match text.trim().parse::<u64>() {
                    Ok(millis @ 1..=10_000) => Duration::from_millis(millis),
                    _ => {
                        return Err(ConfigError::new(format!(
                            "APPC_LIVE_WINDOW_MS must be a whole number of milliseconds from 1 to 10000, got `{text}`; unset it for the default of {}",
                            defaults.live_window.as_millis()
                        )));
                    }
                },
            },
            trusted_proxies: match non_empty("APPC_TRUSTED_PROXIES") {
                None => defaults.trusted_proxies,
                Some(text) => TrustedProxies::parse(&text).map_err(ConfigError::new)?,
            },
        })
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Config")
            .field("mode", &self.mode)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database_url", &redact_password(&self.database_url))
            .field("jwt_secret", &self.jwt_secret)
            .field("cors_origins", &self.cors_origins)
            .field("redis_url", &self.redis_url.as_deref().map(redact_password))
            .field("redis_prefix", &self.redis_prefix)
            .field("data_dir", &self.data_dir)
            .field("socket_limits", &self.socket_limits)
            .field("limits", &self.limits)
            .finish()
    }
}

/// `scheme://user:password@host/...` becomes `scheme://user:***@host/...`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            let hidden = if user_info.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

impl Config {
    /// Reads the process environment; in development, a `.env` file in the current directory
    /// fills in variables the environment does not set.
    ///
    /// ```no_run
    /// use appc_runtime::Config;
    /// use appc_runtime::codegen::ConfigDefaults;
    /// let config = Config::from_env(ConfigDefaults::new(".appc")).unwrap_or_else(|error| {
    ///     eprintln!("error: {error}");
    ///     std::process::exit(1);
    /// });
    /// ```
    pub fn from_env(defaults: ConfigDefaults) -> Result<Config, ConfigError> {
        let mut variables: HashMap<String, String> = std::env::vars().collect();
        let mode = resolve_mode(variables.get("APPC_ENV").map(String::as_str), defaults.mode)?;
        if mode == Mode::Development {
            load_dotenv(Path::new(".env"), &mut variables)?;
        }
        Config::from_variables(defaults, |name| variables.get(name).cloned())
    }

    /// Resolves the settings from any variable source (tests pass a map instead of mutating the
    /// process environment).
    ///
    /// ```
    /// use appc_runtime::codegen::ConfigDefaults;
    /// use appc_runtime::{Config, Mode};
    /// let defaults = ConfigDefaults::new("/tmp/unused").mode(Mode::Production);
    /// let error = Config::from_variables(defaults, |_| None).unwrap_err();
    /// assert!(error.to_string().starts_with("JWT_SECRET is required in production"));
    /// ```
    pub fn from_variables(
        defaults: ConfigDefaults,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let non_empty = |name: &str| variable(name).filter(|value| !value.trim().is_empty());
        let mode = resolve_mode(non_empty("APPC_ENV").as_deref(), defaults.mode)?;
        let port = match non_empty("PORT") {
            None => 3000,
            Some(text) => text.trim().parse::<u16>().map_err(|_| {
                ConfigError::new(format!(
                    "PORT must be a whole number from 0 to 65535, got `{text}`"
                ))
            })?,
        };
        let host = match non_empty("HOST") {
            None if mode == Mode::Development => IpAddr::from([127, 0, 0, 1]),
            None => IpAddr::from([0, 0, 0, 0]),
            Some(text) if text.trim() == "localhost" => IpAddr::from([127, 0, 0, 1]),
            Some(text) => text.trim().parse::<IpAddr>().map_err(|_| {
                ConfigError::new(format!(
                    "HOST must be an IP address such as 127.0.0.1, 0.0.0.0 or ::, got `{text}`"
                ))
            })?,
        };
        let database_url = resolve_database_url(non_empty("DATABASE_URL"), &defaults)?;
        let jwt_secret = match (non_empty("JWT_SECRET"), mode) {
            (Some(secret), _) => JwtSecret::new(secret.into_bytes())?,
            (None, Mode::Production) => {
                return Err(ConfigError::new(
                    "JWT_SECRET is required in production; set it to a random string of at least 32 bytes, such as the output of `openssl rand -hex 32`".to_owned(),
                ));
            }
            (None, Mode::Development) => development_secret(&defaults.data_dir)?,
        };
        let cors_origins = match non_empty("CORS_ORIGINS") {
            None if mode == Mode::Development => CorsOrigins::Any,
            None => CorsOrigins::SameOriginOnly,
            Some(text) => parse_cors_origins(&text)?,
        };
        let redis_url = non_empty("REDIS_URL")
            .map(|url| validate_redis_url(&url))
            .transpose()?;
        if redis_url.is_some() && DbSystem::from_url(&database_url) == Some(DbSystem::Sqlite) {
            return Err(ConfigError::new(
                "REDIS_URL is set, but the database is a SQLite file: several server processes cannot share one SQLite file safely (and processes on other machines cannot reach it at all); run them on PostgreSQL (DATABASE_URL=postgres://..., with `db: { system: PostgreSQL }` in main.wasp), or unset REDIS_URL to serve from one process".to_owned(),
            ));
        }
        let redis_prefix = variable("APPC_REDIS_PREFIX")
            .map(|prefix| validate_redis_prefix(&prefix))
            .transpose()?;
        let token_lifetime = non_empty("APPC_TOKEN_LIFETIME_SECS")
            .map(|text| parse_token_lifetime(&text))
            .transpose()?;
        let limits = Limits::from_variables(non_empty)?;
        Ok(Config {
            mode,
            host,
            port,
            database_url,
            jwt_secret,
            cors_origins,
            redis_url,
            redis_prefix,
            token_lifetime,
            data_dir: defaults.data_dir,
            socket_limits: socket_limits(&non_empty)?,
            limits,
        })
    }
}

impl Config {
    /// The prefix of this deployment's Redis channels and keys: `APPC_REDIS_PREFIX`, or
    /// `appc:<app name>`.
    pub fn redis_prefix_or_default(&self, app_name: &str) -> String {
        self.redis_prefix
            .clone()
            .unwrap_or_else(|| format!("appc:{app_name}"))
    }
}

/// How many live queries one connection may follow at once, unless
/// `APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET` says otherwise.
pub const DEFAULT_LIVE_SUBSCRIPTIONS_PER_SOCKET: usize = 100;

/// How often at most a live query's subscription is pushed while changes keep coming, unless
/// `APPC_LIVE_WINDOW_MS` says otherwise (why 15 ms: ARCHITECTURE.md, "Live queries").
pub const DEFAULT_LIVE_WINDOW: Duration = Duration::from_millis(15);

/// The longest token lifetime accepted: ten years, far past any session worth keeping.
const MAX_TOKEN_LIFETIME_SECS: u64 = 10 * 365 * 24 * 60 * 60;

fn parse_token_lifetime(text: &str) -> Result<Duration, ConfigError> {
    match text.trim().parse::<u64>() {
        Ok(seconds) if (60..=MAX_TOKEN_LIFETIME_SECS).contains(&seconds) => {
            Ok(Duration::from_secs(seconds))
        }
        _ => Err(ConfigError::new(format!(
            "APPC_TOKEN_LIFETIME_SECS must be whole seconds from 60 to {MAX_TOKEN_LIFETIME_SECS} (ten years), such as 86400 for one day; got `{text}`"
        ))),
    }
}

fn resolve_mode(value: Option<&str>, default: Mode) -> Result<Mode, ConfigError> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some("production") => Ok(Mode::Production),
        Some("development") => Ok(Mode::Development),
        Some(other) => Err(ConfigError::new(format!(
            "APPC_ENV must be `development` or `production`, got `{other}`"
        ))),
    }
}

fn load_dotenv(path: &Path, variables: &mut HashMap<String, String>) -> Result<(), ConfigError> {
    let entries = match dotenvy::from_path_iter(path) {
        Ok(entries) => entries,
        // No `.env` file is the normal case.
        Err(error) if error.not_found() => return Ok(()),
        Err(error) => return Err(ConfigError::new(format!("could not read `.env`: {error}"))),
    };
    for entry in entries {
        let (name, value) = entry.map_err(|error| {
            ConfigError::new(format!(
                "`.env` is not valid: {error}; use NAME=value lines"
            ))
        })?;
        // Variables set in the real environment win over the file.
        variables.entry(name).or_insert(value);
    }
    Ok(())
}

fn scheme_of(url: &str) -> &str {
    url.split_once(':').map_or("", |(scheme, _)| scheme)
}

fn resolve_database_url(
    value: Option<String>,
    defaults: &ConfigDefaults,
) -> Result<String, ConfigError> {
    let Some(url) = value else {
        return match defaults.db_system {
            DbSystem::Sqlite => Ok(format!("sqlite://{}", defaults.data_dir.join("app.db").display())),
            DbSystem::Postgres => Err(ConfigError::new(
                "DATABASE_URL is required because the spec's db.system is PostgreSQL; set it to postgres://USER:PASSWORD@HOST:5432/DATABASE".to_owned(),
            )),
        };
    };
    let url = url.trim().to_owned();
    // The url may hold a password, so messages show only its scheme.
    match (DbSystem::from_url(&url), defaults.db_system) {
        (None, _) => Err(ConfigError::new(format!(
            "DATABASE_URL must start with sqlite:// or postgres://, got a url with scheme `{}`",
            scheme_of(&url)
        ))),
        (Some(DbSystem::Sqlite), DbSystem::Postgres) => Err(ConfigError::new(
            "DATABASE_URL must be a postgres:// url because the spec's db.system is PostgreSQL"
                .to_owned(),
        )),
        (Some(DbSystem::Postgres), _) => {
            crate::db::check_postgres_tls_settings(&url).map_err(ConfigError::new)?;
            Ok(url)
        }
        (Some(DbSystem::Sqlite), DbSystem::Sqlite) => Ok(url),
    }
}

/// Reads the development secret from `<data dir>/jwt-secret`, creating it with 32 random bytes
/// (hex encoded) the first time, so tokens survive restarts of `appc dev`.
fn development_secret(data_dir: &Path) -> Result<JwtSecret, ConfigError> {
    let path = data_dir.join("jwt-secret");
    let describe = |error: std::io::Error| {
        ConfigError::new(format!(
            "JWT_SECRET is unset and the development secret `{}` could not be used: {error}; set JWT_SECRET or make the directory writable",
            path.display()
        ))
    };
    match std::fs::read_to_string(&path) {
        Ok(secret) => JwtSecret::new(secret.trim().as_bytes().to_vec()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(describe)?;
            let mut random = [0_u8; 32];
            getrandom::fill(&mut random).map_err(|error| {
                ConfigError::new(format!("could not generate a JWT secret: {error}"))
            })?;
            let secret: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
            write_private_file(&path, &secret).map_err(describe)?;
            JwtSecret::new(secret.into_bytes())
        }
        Err(error) => Err(describe(error)),
    }
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only the owner may read the secret.
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

fn parse_cors_origins(text: &str) -> Result<CorsOrigins, ConfigError> {
    let origins: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .collect();
    if origins == ["*"] {
        return Ok(CorsOrigins::Any);
    }
    for origin in &origins {
        let valid = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/') && !rest.contains(' '));
        if !valid {
            return Err(ConfigError::new(format!(
                "CORS_ORIGINS must be `*` or a comma-separated list of origins such as https://app.example.com,http://localhost:5173 (scheme and host, no path), got `{origin}`"
            )));
        }
    }
    Ok(CorsOrigins::List(
        origins.into_iter().map(str::to_owned).collect(),
    ))
}

fn validate_redis_url(url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    if url.starts_with("rediss://") {
        // The adapter's Redis client is built without TLS, which would cost every app's build.
        return Err(ConfigError::new(
            "REDIS_URL asks for TLS (rediss://), which the server does not speak to Redis; use redis:// to a Redis on a private network or on this machine".to_owned(),
        ));
    }
    let host_part = url
        .strip_prefix("redis://")
        .or_else(|| url.strip_prefix("rediss://"));
    // Skip credentials (`user:password@`) when checking that a host is present.
    let has_host = host_part
        .map(|rest| rest.rsplit_once('@').map_or(rest, |(_, host)| host))
        .is_some_and(|host| !host.is_empty() && !host.starts_with('/') && !host.starts_with(':'));
    if !has_host {
        return Err(ConfigError::new(format!(
            "REDIS_URL must look like redis://HOST:6379 or redis://USER:PASSWORD@HOST:6379, got a url with scheme `{}`",
            scheme_of(url)
        )));
    }
    Ok(url.to_owned())
}

/// A set `APPC_REDIS_PREFIX` is used as it is, so it must be something: an empty prefix would put
/// the app's channels beside every other app's again, and whitespace is almost always a copy and
/// paste accident that would silently give a deployment a prefix its peers do not share.
fn validate_redis_prefix(prefix: &str) -> Result<String, ConfigError> {
    if prefix.is_empty() || prefix.chars().any(char::is_whitespace) {
        return Err(ConfigError::new(format!(
            "APPC_REDIS_PREFIX must be a non-empty prefix without whitespace, such as `appc:shop-staging`, got `{prefix}`; unset it for the default `appc:<app name>`"
        )));
    }
    Ok(prefix.to_owned())
}

/// The `APPC_SOCKET_*` variables over [`SocketLimits::default`].
fn socket_limits(non_empty: &impl Fn(&str) -> Option<String>) -> Result<SocketLimits, ConfigError> {
    let defaults = SocketLimits::default();
    let number = |name: &str, default: u64, minimum: u64| -> Result<u64, ConfigError> {
        match non_empty(name) {
            None => Ok(default),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(number) if number >= minimum && number <= u64::from(u32::MAX) => Ok(number),
                _ => Err(ConfigError::new(format!(
                    "{name} must be a whole number from {minimum} to {}, got `{text}`; unset it for the default of {default}",
                    u32::MAX
                ))),
            },
        }
    };
    let positive = |name: &str, default: u32| -> Result<NonZeroU32, ConfigError> {
        let value = number(name, u64::from(default), 1)?;
        Ok(u32::try_from(value)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or(NonZeroU32::MIN))
    };
    let queued_events = number(
        "APPC_SOCKET_QUEUED_EVENTS",
        defaults.queued_events.get() as u64,
        1,
    )?;
    let user_check_seconds = number(
        "APPC_SOCKET_USER_CHECK_SECS",
        defaults
            .user_check_interval
            .map_or(0, |interval| interval.as_secs()),
        0,
    )?;
    Ok(SocketLimits {
        events_per_second: positive(
            "APPC_SOCKET_EVENTS_PER_SECOND",
            defaults.events_per_second.get(),
        )?,
        event_burst: positive("APPC_SOCKET_EVENT_BURST", defaults.event_burst.get())?,
        queued_events: usize::try_from(queued_events)
            .ok()
            .and_then(NonZeroUsize::new)
            .unwrap_or(NonZeroUsize::MIN),
        refusals_before_disconnect: positive(
            "APPC_SOCKET_REFUSALS_BEFORE_DISCONNECT",
            defaults.refusals_before_disconnect.get(),
        )?,
        user_check_interval: (user_check_seconds > 0)
            .then(|| Duration::from_secs(user_check_seconds)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(
        mode: Mode,
        data_dir: &Path,
        variables: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        Config::from_variables(ConfigDefaults::new(data_dir).mode(mode), |name| {
            variables
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn error(mode: Mode, variables: &[(&str, &str)]) -> String {
        let directory = tempfile::tempdir().unwrap();
        load(mode, directory.path(), variables)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn development_defaults_need_no_setup() {
        let directory = tempfile::tempdir().unwrap();
        let config = load(Mode::Development, directory.path(), &[]).unwrap();
        assert_eq!(config.mode, Mode::Development);
        assert_eq!(config.port, 3000);
        assert_eq!(config.host, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(
            config.database_url,
            format!("sqlite://{}", directory.path().join("app.db").display())
        );
        assert_eq!(config.cors_origins, CorsOrigins::Any);
        assert_eq!(config.redis_url, None);
        assert!(config.jwt_secret.as_bytes().len() >= JwtSecret::MINIMUM_BYTES);
        assert_eq!(format!("{:?}", config.jwt_secret), "JwtSecret(<redacted>)");
    }

    #[test]
    fn the_token_lifetime_is_whole_seconds_from_a_minute_to_ten_years() {
        let directory = tempfile::tempdir().unwrap();
        let config = load(Mode::Development, directory.path(), &[]).unwrap();
        assert_eq!(config.token_lifetime, None);
        let config = load(
            Mode::Development,
            directory.path(),
            &[("APPC_TOKEN_LIFETIME_SECS", " 86400 ")],
        )
        .unwrap();
        assert_eq!(config.token_lifetime, Some(Duration::from_secs(86_400)));
        for bad in ["59", "-1", "1.5", "a day", "315360001"] {
            let message = error(Mode::Development, &[("APPC_TOKEN_LIFETIME_SECS", bad)]);
            assert!(
                message.starts_with("APPC_TOKEN_LIFETIME_SECS must be whole seconds from 60"),
                "{bad}: {message}"
            );
            assert!(message.ends_with(&format!("got `{bad}`")), "{message}");
        }
    }

    #[test]
    fn the_live_window_is_whole_milliseconds_from_1_to_10000() {
        let directory = tempfile::tempdir().unwrap();
        let window = |value: &str| {
            load(
                Mode::Development,
                directory.path(),
                &[("APPC_LIVE_WINDOW_MS", value)],
            )
            .map(|config| config.limits.live_window)
        };
        assert_eq!(window("").unwrap(), DEFAULT_LIVE_WINDOW);
        assert_eq!(window("10").unwrap(), Duration::from_millis(10));
        for bad in ["0", "10001", "2.5", "fast"] {
            let message = window(bad).unwrap_err().to_string();
            assert!(
                message.starts_with("APPC_LIVE_WINDOW_MS must be a whole number of milliseconds"),
                "{message}"
            );
        }
    }

    #[test]
    fn the_development_secret_is_generated_once_and_kept() {
        let directory = tempfile::tempdir().unwrap();
        let first = load(Mode::Development, directory.path(), &[])
            .unwrap()
            .jwt_secret;
        let second = load(Mode::Development, directory.path(), &[])
            .unwrap()
            .jwt_secret;
        assert_eq!(first, second);
        let stored = std::fs::read_to_string(directory.path().join("jwt-secret")).unwrap();
        assert_eq!(stored.as_bytes(), first.as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(directory.path().join("jwt-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner may read the secret");
        }
        let other_directory = tempfile::tempdir().unwrap();
        let other = load(Mode::Development, other_directory.path(), &[])
            .unwrap()
            .jwt_secret;
        assert_ne!(first, other, "each project gets its own random secret");
    }

    #[test]
    fn production_requires_a_long_enough_secret() {
        assert_eq!(
            error(Mode::Production, &[]),
            "JWT_SECRET is required in production; set it to a random string of at least 32 bytes, such as the output of `openssl rand -hex 32`"
        );
        assert!(
            error(Mode::Production, &[("JWT_SECRET", "short")])
                .starts_with("JWT_SECRET must be at least 32 bytes long, got 5 bytes")
        );
        let directory = tempfile::tempdir().unwrap();
        let config = load(
            Mode::Production,
            directory.path(),
            &[("JWT_SECRET", SECRET)],
        )
        .unwrap();
        assert_eq!(config.host, IpAddr::from([0, 0, 0, 0]));
        assert_eq!(config.cors_origins, CorsOrigins::SameOriginOnly);
        assert!(
            !directory.path().join("jwt-secret").exists(),
            "production never writes a secret"
        );
    }

    #[test]
    fn app_env_selects_the_mode() {
        let directory = tempfile::tempdir().unwrap();
        let production = load(
            Mode::Development,
            directory.path(),
            &[("APPC_ENV", "production"), ("JWT_SECRET", SECRET)],
        );
        assert_eq!(production.unwrap().mode, Mode::Production);
        assert_eq!(
            error(Mode::Development, &[("APPC_ENV", "prod")]),
            "APPC_ENV must be `development` or `production`, got `prod`"
        );
    }

    #[test]
    fn invalid_values_are_one_line_errors_naming_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("PORT", "http")],
                "PORT must be a whole number from 0 to 65535, got `http`",
            ),
            (
                &[("PORT", "70000")],
                "PORT must be a whole number from 0 to 65535, got `70000`",
            ),
            (
                &[("HOST", "example.com")],
                "HOST must be an IP address such as 127.0.0.1, 0.0.0.0 or ::, got `example.com`",
            ),
            (
                &[("DATABASE_URL", "mysql://root:hunter2@db/app")],
                "DATABASE_URL must start with sqlite:// or postgres://, got a url with scheme `mysql`",
            ),
            (
                &[(
                    "DATABASE_URL",
                    "postgres://app:hunter2@db/app?sslmode=requir",
                )],
                "DATABASE_URL has sslmode `requir`, which PostgreSQL does not know; use one of disable, allow, prefer, require, verify-ca, verify-full",
            ),
            (
                &[(
                    "DATABASE_URL",
                    "postgres://app:hunter2@db/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
                )],
                if cfg!(feature = "postgres-tls") {
                    "DATABASE_URL's sslrootcert `/nonexistent/ca.pem` cannot be read ("
                } else {
                    "DATABASE_URL asks for TLS (sslmode=verify-full), but this server was built without TLS to PostgreSQL"
                },
            ),
            (
                &[("CORS_ORIGINS", "https://ok.example.com, ftp://nope")],
                "CORS_ORIGINS must be `*` or a comma-separated list of origins",
            ),
            (
                &[("CORS_ORIGINS", "https://example.com/path")],
                "got `https://example.com/path`",
            ),
            (
                &[("REDIS_URL", "http://user:hunter2@cache:6379")],
                "REDIS_URL must look like redis://HOST:6379",
            ),
            (
                &[("REDIS_URL", "redis://")],
                "REDIS_URL must look like redis://HOST:6379",
            ),
            (
                &[("APPC_REDIS_PREFIX", "")],
                "APPC_REDIS_PREFIX must be a non-empty prefix without whitespace, such as `appc:shop-staging`, got ``; unset it",
            ),
            (
                &[("APPC_REDIS_PREFIX", "appc:shop staging")],
                "APPC_REDIS_PREFIX must be a non-empty prefix without whitespace, such as `appc:shop-staging`, got `appc:shop staging`",
            ),
            (
                &[("APPC_REDIS_PREFIX", "appc:shop\t")],
                "APPC_REDIS_PREFIX must be a non-empty prefix without whitespace",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://app@db/app"),
                    ("REDIS_URL", "rediss://cache:6380"),
                ],
                "REDIS_URL asks for TLS (rediss://), which the server does not speak to Redis; use redis://",
            ),
            (
                &[("REDIS_URL", "redis://cache:6379")],
                "REDIS_URL is set, but the database is a SQLite file: several server processes cannot share one SQLite file safely",
            ),
            (
                &[
                    ("DATABASE_URL", "sqlite://shared/app.db"),
                    ("REDIS_URL", "redis://cache:6379"),
                ],
                "run them on PostgreSQL (DATABASE_URL=postgres://...",
            ),
        ];
        for (variables, expected) in cases {
            let message = error(Mode::Development, variables);
            assert!(message.contains(expected), "{variables:?}: {message}");
            assert!(!message.contains('\n'), "one line: {message}");
            assert!(
                !message.contains("hunter2"),
                "secrets are never echoed: {message}"
            );
        }
    }

    #[test]
    fn socket_limits_come_from_their_variables() {
        let directory = tempfile::tempdir().unwrap();
        let defaults = load(
            Mode::Production,
            directory.path(),
            &[("JWT_SECRET", SECRET)],
        )
        .unwrap();
        assert_eq!(defaults.socket_limits, SocketLimits::default());
        let set = load(
            Mode::Production,
            directory.path(),
            &[
                ("JWT_SECRET", SECRET),
                ("APPC_SOCKET_EVENTS_PER_SECOND", "5"),
                ("APPC_SOCKET_EVENT_BURST", " 7 "),
                ("APPC_SOCKET_QUEUED_EVENTS", "3"),
                ("APPC_SOCKET_REFUSALS_BEFORE_DISCONNECT", "2"),
                ("APPC_SOCKET_USER_CHECK_SECS", "0"),
            ],
        )
        .unwrap()
        .socket_limits;
        assert_eq!(
            (
                set.events_per_second.get(),
                set.event_burst.get(),
                set.queued_events.get(),
                set.refusals_before_disconnect.get(),
                set.user_check_interval,
            ),
            (5, 7, 3, 2, None)
        );
        for (variable, value) in [
            ("APPC_SOCKET_EVENTS_PER_SECOND", "0"),
            ("APPC_SOCKET_QUEUED_EVENTS", "many"),
            ("APPC_SOCKET_USER_CHECK_SECS", "-1"),
        ] {
            let message = error(Mode::Development, &[(variable, value)]);
            assert!(
                message.starts_with(&format!("{variable} must be a whole number from")),
                "{message}"
            );
        }
    }

    #[test]
    fn debug_output_hides_passwords_and_the_secret() {
        let directory = tempfile::tempdir().unwrap();
        let config = load(
            Mode::Production,
            directory.path(),
            &[
                ("JWT_SECRET", SECRET),
                (
                    "DATABASE_URL",
                    "postgres://app:hunter2@db:5432/app?sslmode=disable",
                ),
                ("REDIS_URL", "redis://:hunter3@cache:6379"),
            ],
        )
        .unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("hunter3") && !debug.contains(SECRET),
            "{debug}"
        );
        assert!(
            debug.contains("postgres://app:***@db:5432/app?sslmode=disable"),
            "{debug}"
        );
        assert!(debug.contains("redis://:***@cache:6379"), "{debug}");
        assert_eq!(
            redact_password("sqlite://.appc/app.db"),
            "sqlite://.appc/app.db"
        );
        assert_eq!(
            redact_password("postgres://app@db/app"),
            "postgres://app@db/app"
        );
    }

    #[test]
    fn valid_values_are_accepted() {
        let directory = tempfile::tempdir().unwrap();
        let config = load(
            Mode::Development,
            directory.path(),
            &[
                ("PORT", "8080"),
                ("HOST", "::"),
                ("DATABASE_URL", "postgres://app:pw@db:5432/app"),
                (
                    "CORS_ORIGINS",
                    "https://app.example.com, http://localhost:5173",
                ),
                ("REDIS_URL", "redis://user:pw@cache:6380/0"),
            ],
        )
        .unwrap();
        assert_eq!(config.port, 8080);
        assert_eq!(config.host, "::".parse::<IpAddr>().unwrap());
        assert_eq!(config.database_url, "postgres://app:pw@db:5432/app");
        assert_eq!(
            config.cors_origins,
            CorsOrigins::List(vec![
                "https://app.example.com".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(
            config.redis_url.as_deref(),
            Some("redis://user:pw@cache:6380/0")
        );
        assert_eq!(config.redis_prefix, None);
        assert_eq!(config.redis_prefix_or_default("todo"), "appc:todo");
        let staging = load(
            Mode::Development,
            directory.path(),
            &[("APPC_REDIS_PREFIX", "appc:todo-staging")],
        )
        .unwrap();
        assert_eq!(staging.redis_prefix.as_deref(), Some("appc:todo-staging"));
        assert_eq!(staging.redis_prefix_or_default("todo"), "appc:todo-staging");
        assert_eq!(
            load(
                Mode::Development,
                directory.path(),
                &[("CORS_ORIGINS", "*")]
            )
            .unwrap()
            .cors_origins,
            CorsOrigins::Any
        );
    }

    #[test]
    fn limits_have_safe_defaults_and_read_their_variables() {
        let directory = tempfile::tempdir().unwrap();
        let defaults = load(Mode::Development, directory.path(), &[])
            .unwrap()
            .limits;
        assert_eq!(defaults, Limits::default());
        assert!(defaults.hash_concurrency >= 1);
        let limits = load(
            Mode::Development,
            directory.path(),
            &[
                ("APPC_MAX_CONNECTIONS", "50"),
                ("APPC_MAX_CONNECTIONS_PER_IP", "5"),
                ("APPC_HEADER_TIMEOUT_SECS", "2"),
                ("APPC_SHUTDOWN_TIMEOUT_SECS", "0"),
                ("APPC_HASH_CONCURRENCY", "3"),
                ("APPC_HASH_WAIT_SECS", "0"),
                ("APPC_LOGIN_ATTEMPTS_PER_MINUTE", "4"),
                ("APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "7"),
                ("APPC_AUTH_DB_TIMEOUT_SECS", "1"),
            ],
        )
        .unwrap()
        .limits;
        assert_eq!(limits.max_connections, 50);
        assert_eq!(limits.max_connections_per_address, 5);
        assert_eq!(limits.header_timeout, Duration::from_secs(2));
        assert_eq!(limits.shutdown_timeout, Duration::ZERO);
        assert_eq!(limits.hash_concurrency, 3);
        assert_eq!(limits.hash_wait, Duration::ZERO);
        assert_eq!(limits.login_attempts_per_minute.get(), 4);
        assert_eq!(limits.login_attempts_per_minute_per_address.get(), 7);
        assert_eq!(limits.auth_database_timeout, Duration::from_secs(1));
        assert_eq!(
            error(Mode::Development, &[("APPC_MAX_CONNECTIONS_PER_IP", "0")]),
            "APPC_MAX_CONNECTIONS_PER_IP must be a whole number of at least 1, got `0`; unset it for the default of 256"
        );
        assert_eq!(
            error(Mode::Development, &[("APPC_HEADER_TIMEOUT_SECS", "0")]),
            "APPC_HEADER_TIMEOUT_SECS must be a whole number of seconds from 1 to 86400, got `0`; unset it for the default of 10"
        );
        assert!(
            error(
                Mode::Development,
                &[("APPC_LOGIN_ATTEMPTS_PER_MINUTE", "9999999999")]
            )
            .starts_with("APPC_LOGIN_ATTEMPTS_PER_MINUTE must be a whole number from 1 to")
        );
    }

    #[test]
    fn trusted_proxies_are_read_and_a_wrong_entry_stops_the_start() {
        let directory = tempfile::tempdir().unwrap();
        let limits = load(
            Mode::Production,
            directory.path(),
            &[
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("APPC_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
            ],
        )
        .unwrap()
        .limits;
        assert!(limits.trusted_proxies.contains("10.2.3.4".parse().unwrap()));
        assert!(
            limits
                .trusted_proxies
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(
            !limits
                .trusted_proxies
                .contains("192.0.2.1".parse().unwrap())
        );
        assert!(Limits::default().trusted_proxies.is_empty());
        assert_eq!(
            error(Mode::Development, &[("APPC_TRUSTED_PROXIES", "nginx")]),
            "APPC_TRUSTED_PROXIES must list IP addresses or networks such as 127.0.0.1 or 10.0.0.0/8, separated by commas, got `nginx`; host names are not resolved, so write the proxy's address"
        );
        assert_eq!(
            error(Mode::Development, &[("APPC_TRUSTED_PROXIES", "10.1.0.0/8")]),
            "APPC_TRUSTED_PROXIES entry `10.1.0.0/8` has bits set past its prefix; write the network as 10.0.0.0/8, or the single address without a prefix"
        );
        assert!(
            error(Mode::Development, &[("APPC_TRUSTED_PROXIES", "0.0.0.0/0")])
                .starts_with("APPC_TRUSTED_PROXIES must not trust every address")
        );
    }

    #[test]
    #[cfg(feature = "postgres-tls")]
    fn postgres_tls_parameters_pass_through_unchanged() {
        let directory = tempfile::tempdir().unwrap();
        let root_certificate = directory.path().join("ca.pem");
        std::fs::write(
            &root_certificate,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let defaults = ConfigDefaults::new(directory.path())
            .mode(Mode::Development)
            .db_system(DbSystem::Postgres);
        for url in [
            "postgres://app:pw@db.example.com:5432/app?sslmode=require".to_owned(),
            format!(
                "postgresql://app:pw@db.example.com/app?sslmode=verify-full&sslrootcert={}",
                root_certificate.display()
            ),
        ] {
            let config = Config::from_variables(defaults.clone(), |name| {
                (name == "DATABASE_URL").then(|| url.clone())
            })
            .unwrap();
            assert_eq!(config.database_url, url);
        }
    }

    #[test]
    fn a_postgres_spec_requires_a_postgres_url() {
        let directory = tempfile::tempdir().unwrap();
        let defaults = ConfigDefaults::new(directory.path())
            .mode(Mode::Development)
            .db_system(DbSystem::Postgres);
        let missing = Config::from_variables(defaults.clone(), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            missing
                .starts_with("DATABASE_URL is required because the spec's db.system is PostgreSQL"),
            "{missing}"
        );
        let sqlite = Config::from_variables(defaults, |name| {
            (name == "DATABASE_URL").then(|| "sqlite://x.db".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            sqlite,
            "DATABASE_URL must be a postgres:// url because the spec's db.system is PostgreSQL"
        );
    }

    #[test]
    fn dotenv_fills_in_but_never_overrides_the_environment() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(".env");
        std::fs::write(&path, "PORT=4000\nHOST=0.0.0.0\n# a comment\n").unwrap();
        let mut variables = HashMap::from([("PORT".to_owned(), "5000".to_owned())]);
        load_dotenv(&path, &mut variables).unwrap();
        assert_eq!(variables["PORT"], "5000");
        assert_eq!(variables["HOST"], "0.0.0.0");
        let mut untouched = HashMap::new();
        load_dotenv(&directory.path().join("missing.env"), &mut untouched).unwrap();
        assert!(untouched.is_empty());
        std::fs::write(&path, "NOT A VALID LINE\n").unwrap();
        let message = load_dotenv(&path, &mut HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("`.env` is not valid"), "{message}");
    }
}
