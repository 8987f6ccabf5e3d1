//! Username and password auth: argon2id password hashes, HS256 JWTs, the user lookup behind
//! every token, and the HTTP routes and axum extractors built on them.
//!
//! The user table is the spec's user entity (it must have an `id` primary key and a
//! `username String @unique` field) plus one column the runtime manages, `passwordHash`, which
//! never appears in responses. Tokens carry `sub` (the user id as a string), `iat` and `exp`
//! (7 days by default). A token with a bad signature, another algorithm (including `none`),
//! past its expiry, or for a user who no longer exists gives no user. A user loaded from a token
//! keeps that token's claims ([`AuthUser::claims`]).

mod hashing;
mod hs256;
pub(crate) mod http;
mod rules;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{JwtSecret, Limits};
use crate::db::{
    ColumnSchema, Database, DbError, Entity, FromValue, Pooled, Row, RowOps, Selection, SqlType,
    TableSchema, Value,
};
use crate::error::HttpError;

use rules::{check_password_length, check_password_rules, normalize_username};

use hashing::PasswordHashing;
use throttle::LoginThrottle;

/// The column the runtime adds to the user table for the argon2id hash.
pub const PASSWORD_HASH_COLUMN: &str = "passwordHash";
/// The user table column holding the username.
pub const USERNAME_COLUMN: &str = "username";
/// How long a token is valid unless [`Auth::with_token_lifetime`] says otherwise.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A user id: an integer for `@default(autoincrement())`, a string for `@default(uuid())`.
/// It serializes as the bare number or string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum UserId {
    /// An integer id.
    Int(i64),
    /// A string id.
    Text(String),
}

impl std::fmt::Display for UserId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserId::Int(id) => write!(formatter, "{id}"),
            UserId::Text(id) => formatter.write_str(id),
        }
    }
}

/// An integer user id, as a typed user's `id` holds it: `emit_*_to_user(ctx.user.id, ..)`.
impl From<i64> for UserId {
    fn from(id: i64) -> UserId {
        UserId::Int(id)
    }
}

impl From<&i64> for UserId {
    fn from(id: &i64) -> UserId {
        UserId::Int(*id)
    }
}

/// A string user id (`@default(uuid())`), as a typed user's `id` holds it.
impl From<String> for UserId {
    fn from(id: String) -> UserId {
        UserId::Text(id)
    }
}

impl From<&String> for UserId {
    fn from(id: &String) -> UserId {
        UserId::Text(id.clone())
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> UserId {
        UserId::Text(id.to_owned())
    }
}

/// [`AuthUser::id`]'s borrowed id, so `emitter.to_user(.., user.id(), ..)` reads naturally.
impl From<&UserId> for UserId {
    fn from(id: &UserId) -> UserId {
        id.clone()
    }
}

impl From<UserId> for Value {
    fn from(id: UserId) -> Value {
        match id {
            UserId::Int(id) => Value::Int(id),
            UserId::Text(id) => Value::Text(id),
        }
    }
}

/// The authenticated user: their id, username and the other fields of their row (never the
/// password hash), and the claims of the token they were authenticated with. Serializes as the
/// user's JSON object (without the claims).
///
/// Socket contexts carry the user as the spec's typed user entity (`ctx.user.id`); this is the
/// untyped user behind it (`ctx.auth_user()`), and what hand-written axum routes extract.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthUser {
    id: UserId,
    username: String,
    row: Row,
    /// The columns whose integers travel as JSON strings (`BigInt`; see [`crate::json`]).
    json_string_columns: Vec<String>,
    /// The verified token's claims; `None` for the user a signup or login returns.
    claims: Option<TokenClaims>,
}

impl AuthUser {
    /// A user with integer id `id` and nothing else, for tests of what only reads the id.
    #[cfg(test)]
    pub(crate) fn with_id_for_tests(id: i64) -> Self {
        AuthUser {
            id: UserId::Int(id),
            username: format!("user{id}"),
            row: Row::from_values("User", vec![("id".into(), crate::db::Value::Int(id))]),
            json_string_columns: Vec::new(),
            claims: None,
        }
    }

    /// The user's id.
    pub fn id(&self) -> &UserId {
        &self.id
    }

    /// The user's username (lower case).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Reads one field of the user's row.
    pub fn get<T: FromValue>(&self, column: &str) -> Result<T, DbError> {
        self.row.get(column)
    }

    /// The user as the app's typed user entity. Socket contexts decode it once per connection
    /// (see [`ContextUser`](crate::ContextUser)); this is the one place a row becomes the entity.
    pub fn to_entity<E: Entity>(&self) -> Result<E, DbError> {
        E::from_row(&self.row)
    }

    /// The claims of the token this user was authenticated with (its subject, when it was
    /// issued and when it expires): always there for a user that came from a token (a socket's
    /// or a request's), `None` for the user a signup or login returns with its new token.
    pub fn claims(&self) -> Option<&TokenClaims> {
        self.claims.as_ref()
    }

    /// The user as a JSON object without the password hash.
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = self.row.to_json_without(&[PASSWORD_HASH_COLUMN]);
        if let serde_json::Value::Object(fields) = &mut json {
            for column in &self.json_string_columns {
                if let Some(value) = fields.get_mut(column)
                    && let Some(number) = value.as_i64()
                {
                    *value = serde_json::Value::String(number.to_string());
                }
            }
        }
        json
    }
}

impl Serialize for AuthUser {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// A successful signup or login: the token and the user, as `POST /auth/*` returns them.
#[derive(Debug, Clone, Serialize)]
pub struct AuthSession {
    /// The bearer token.
    pub token: String,
    /// The user.
    pub user: AuthUser,
}

/// Why a token gave no user. The message is what clients see after `unauthorized: `.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// No token was sent.
    #[error(
        "no token was sent; log in and send it as `Authorization: Bearer <token>` or as the socket's `auth.token`"
    )]
    Missing,
    /// The token is not a well-formed JWT.
    #[error("the token is malformed; log in again to get a new one")]
    Malformed,
    /// The token was signed with another algorithm (including `none`).
    #[error("the token must be signed with HS256; log in again to get a new one")]
    WrongAlgorithm,
    /// The signature does not match this server's secret.
    #[error("the token signature is invalid; log in again to get a new one")]
    BadSignature,
    /// The token has expired.
    #[error("the token has expired; log in again to get a new one")]
    Expired,
    /// The app has no auth, so no token can be accepted.
    #[error("this app has no auth, so tokens are not accepted")]
    NotEnabled,
    /// The token's user no longer exists.
    #[error("the token's user no longer exists; sign up or log in again")]
    UnknownUser,
}

/// The claims of a token this server issued (HS256, verified before they are read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The subject: the user's id as a string.
    pub sub: String,
    /// When the token was issued, in seconds since the Unix epoch.
    pub iat: i64,
    /// When the token expires, in seconds since the Unix epoch.
    pub exp: i64,
}

impl TokenClaims {
    /// When the token was issued.
    pub fn issued_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.iat, 0).unwrap_or_default()
    }

    /// When the token expires (a socket authenticated with it is disconnected then).
    pub fn expires_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.exp, 0)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
    }
}

#[derive(Clone)]
struct AuthInner {
    database: Database,
    user_table: TableSchema,
    id_type: SqlType,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    token_lifetime: Duration,
    hashing: Arc<PasswordHashing>,
    throttle: Arc<LoginThrottle>,
    database_timeout: Duration,
}

/// The auth service: signup, login and token verification against the user table. Cheap to
/// clone; it is part of the server state, and [`AuthUser`] extractors find it there.
#[derive(Clone)]
pub struct Auth {
    inner: Option<Arc<AuthInner>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Auth")
            .field(
                "user_table",
                &self.inner.as_ref().map(|inner| &inner.user_table.name),
            )
            .finish_non_exhaustive()
    }
}

/// The spec's user entity cannot carry username and password auth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UserTableError(String);

impl Auth {
    /// Auth over `user_table` (the spec's user entity), signing with `secret`. The returned
    /// service's [`Auth::user_table`] has the `passwordHash` column added; migrate that one.
    pub fn new(
        database: Database,
        secret: &JwtSecret,
        user_table: &TableSchema,
    ) -> Result<Auth, UserTableError> {
        let id_type = match user_table.primary_key() {
            Some(column) if matches!(column.sql_type, SqlType::Integer | SqlType::Text) => {
                column.sql_type
            }
            _ => {
                return Err(UserTableError(format!(
                    "the user entity `{}` needs an `id Int @id` or `id String @id` field",
                    user_table.name
                )));
            }
        };
        match user_table.find_column(USERNAME_COLUMN) {
            Some(column) if column.sql_type == SqlType::Text && column.unique => {}
            _ => {
                return Err(UserTableError(format!(
                    "the user entity `{}` needs a `username String @unique` field for usernameAndPassword auth",
                    user_table.name
                )));
            }
        }
        if user_table.find_column(PASSWORD_HASH_COLUMN).is_some() {
            return Err(UserTableError(format!(
                "the user entity `{}` declares `{PASSWORD_HASH_COLUMN}`, which the runtime manages; rename that field",
                user_table.name
            )));
        }
        // Signup only knows a username and a password, so every other field must be able to
        // take care of itself.
        if let Some(required) = user_table.columns.iter().find(|column| {
            !column.primary_key
                && column.name != USERNAME_COLUMN
                && !column.nullable
                && column.default.is_none()
                && !column.updated_at
        }) {
            return Err(UserTableError(format!(
                "the user entity `{}` has the required field `{}` without a default, but signup only receives a username and a password; make it optional (`?`) or give it a @default",
                user_table.name, required.name
            )));
        }
        hs256::install();
        let limits = Limits::default();
        // Nullable so that it can be added to an existing user table; a user without a hash
        // simply cannot log in with a password.
        let user_table = user_table
            .clone()
            .column(ColumnSchema::new(PASSWORD_HASH_COLUMN, SqlType::Text).nullable());
        Ok(Auth {
            inner: Some(Arc::new(AuthInner {
                database,
                user_table,
                id_type,
                encoding_key: EncodingKey::from_secret(secret.as_bytes()),
                decoding_key: DecodingKey::from_secret(secret.as_bytes()),
                token_lifetime: DEFAULT_TOKEN_LIFETIME,
                hashing: Arc::new(PasswordHashing::new(
                    limits.hash_concurrency,
                    limits.hash_wait,
                )),
                throttle: Arc::new(LoginThrottle::new(
                    limits.login_attempts_per_minute,
                    limits.login_attempts_per_minute_per_address,
                )),
                database_timeout: limits.auth_database_timeout,
            })),
        })
    }

    /// Applies the hashing, throttling and database-wait limits of `limits` (the defaults
    /// apply until then).
    pub fn with_limits(mut self, limits: &Limits) -> Auth {
        if let Some(inner) = self.inner.as_mut() {
            let inner = Arc::make_mut(inner);
            inner.hashing = Arc::new(PasswordHashing::new(
                limits.hash_concurrency,
                limits.hash_wait,
            ));
            inner.throttle = Arc::new(LoginThrottle::new(
                limits.login_attempts_per_minute,
                limits.login_attempts_per_minute_per_address,
            ));
            inner.database_timeout = limits.auth_database_timeout;
        }
        self
    }

    /// Counts one login or signup attempt from `address` (the client address key, see
    /// [`crate::connections::client_address_key`]) for `username`, or refuses it with 429 and
    /// `Retry-After` (`APPC_LOGIN_ATTEMPTS_PER_MINUTE`, `APPC_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP`).
    /// The HTTP routes call it; the team's own code (seeds) is not throttled.
    pub(crate) fn throttle_attempt(
        &self,
        address: Option<IpAddr>,
        username: &str,
    ) -> Result<(), HttpError> {
        self.enabled()?.throttle.check(address, username)
    }

    /// Sets how long new tokens stay valid.
    pub fn with_token_lifetime(mut self, token_lifetime: Duration) -> Auth {
        if let Some(inner) = self.inner.as_mut() {
            Arc::make_mut(inner).token_lifetime = token_lifetime;
        }
        self
    }

    /// The service of an app without auth: the routes answer 404 and tokens give no user.
    pub fn disabled() -> Auth {
        Auth { inner: None }
    }

    /// Whether the app has username and password auth.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    fn enabled(&self) -> Result<&AuthInner, HttpError> {
        self.inner.as_deref().ok_or_else(|| {
            HttpError::new(
                axum::http::StatusCode::NOT_FOUND,
                "auth_not_enabled",
                "this app has no auth; add `auth` with `usernameAndPassword` to the app in main.wasp",
            )
        })
    }

    /// The user table including the runtime's `passwordHash` column (`None` without auth).
    pub fn user_table(&self) -> Option<&TableSchema> {
        self.inner.as_ref().map(|inner| &inner.user_table)
    }

    /// Creates a user. Fails with 400 naming the field for invalid input and 409
    /// `username_taken` if the username exists.
    pub async fn signup(&self, username: &str, password: &str) -> Result<AuthSession, HttpError> {
        let username = normalize_username(username)?;
        check_password_rules(password)?;
        let inner = self.enabled()?;
        let password_hash = inner.hashing.hash(password.to_owned()).await?;
        let columns = vec![
            (USERNAME_COLUMN, Value::Text(username.clone())),
            (PASSWORD_HASH_COLUMN, Value::Text(password_hash)),
        ];
        let mut pooled = inner.acquire().await?;
        let row = match RowOps::new(&inner.user_table)
            .insert(&mut pooled.conn(), columns)
            .await
        {
            Ok(row) => row,
            Err(error) if error.is_unique_violation() => {
                return Err(HttpError::new(
                    axum::http::StatusCode::CONFLICT,
                    "username_taken",
                    format!("username `{username}` is already taken; choose another one"),
                ));
            }
            Err(error) => return Err(error.into()),
        };
        let user = self.user_from_row(row)?;
        tracing::info!(user = %user.id, "user signed up");
        Ok(AuthSession {
            token: self.issue_token(&user.id)?,
            user,
        })
    }

    /// Checks a username and password. Every failure is the same 401, so the response does not
    /// reveal whether the username exists, and an unknown username costs one hash verification
    /// too so that timing does not reveal it either. A password over [`PASSWORD_MAX_CHARS`] is
    /// refused with 400 before any lookup or hash (no account can have one).
    pub async fn login(&self, username: &str, password: &str) -> Result<AuthSession, HttpError> {
        let inner = self.enabled()?;
        check_password_length(password)?;
        let invalid = || HttpError::unauthorized("invalid username or password");
        let selection =
            Selection::one_where(USERNAME_COLUMN, Value::Text(username.to_ascii_lowercase()));
        let mut pooled = inner.acquire().await?;
        let row = RowOps::new(&inner.user_table)
            .find_many(&mut pooled.conn(), &selection)
            .await?
            .pop();
        drop(pooled);
        let stored_hash = row.as_ref().and_then(|row| {
            row.get::<Option<String>>(PASSWORD_HASH_COLUMN)
                .ok()
                .flatten()
        });
        let verified = inner
            .hashing
            .verify(password.to_owned(), stored_hash)
            .await?;
        match row {
            Some(row) if verified => {
                let user = self.user_from_row(row)?;
                Ok(AuthSession {
                    token: self.issue_token(&user.id)?,
                    user,
                })
            }
            _ => Err(invalid()),
        }
    }

    /// Signs a token for a user id, valid for the token lifetime from now.
    pub fn issue_token(&self, user_id: &UserId) -> Result<String, HttpError> {
        let inner = self.enabled()?;
        let now = chrono::Utc::now().timestamp();
        let lifetime = i64::try_from(inner.token_lifetime.as_secs()).unwrap_or(i64::MAX);
        let claims = TokenClaims {
            sub: user_id.to_string(),
            iat: now,
            exp: now.saturating_add(lifetime),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &inner.encoding_key)
            .map_err(HttpError::internal)
    }

    /// Verifies a token and loads its user.
    pub async fn user_from_token(&self, token: &str) -> Result<AuthUser, TokenVerificationError> {
        let inner = self
            .inner
            .as_deref()
            .ok_or(TokenVerificationError::Rejected(TokenRejection::NotEnabled))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        // A few seconds of tolerance for clock drift between machines.
        validation.leeway = 5;
        let claims =
            jsonwebtoken::decode::<TokenClaims>(token.trim(), &inner.decoding_key, &validation)
                .map_err(|error| {
                    TokenVerificationError::Rejected(match error.kind() {
                        ErrorKind::ExpiredSignature => TokenRejection::Expired,
                        ErrorKind::InvalidSignature => TokenRejection::BadSignature,
                        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                            TokenRejection::WrongAlgorithm
                        }
                        _ => TokenRejection::Malformed,
                    })
                })?
                .claims;
        let id = match inner.id_type {
            SqlType::Integer => match claims.sub.parse::<i64>() {
                Ok(id) => Value::Int(id),
                Err(_) => {
                    return Err(TokenVerificationError::Rejected(
                        TokenRejection::UnknownUser,
                    ));
                }
            },
            _ => Value::Text(claims.sub.clone()),
        };
        let mut pooled = inner
            .acquire()
            .await
            .map_err(TokenVerificationError::Database)?;
        let row = RowOps::new(&inner.user_table)
            .find_by_id(&mut pooled.conn(), id)
            .await
            .map_err(TokenVerificationError::Database)?
            .ok_or(TokenVerificationError::Rejected(
                TokenRejection::UnknownUser,
            ))?;
        let user = self
            .user_from_row(row)
            .map_err(|_| TokenVerificationError::Rejected(TokenRejection::UnknownUser))?;
        Ok(AuthUser {
            claims: Some(claims),
            ..user
        })
    }

    fn user_from_row(&self, row: Row) -> Result<AuthUser, HttpError> {
        let user_table = &self.enabled()?.user_table;
        let json_string_columns = user_table
            .columns
            .iter()
            .filter(|column| column.json_string)
            .map(|column| column.name.clone())
            .collect();
        let primary_key = user_table
            .primary_key()
            .map(|column| column.name.clone())
            .unwrap_or_default();
        let id = match row.get::<Value>(&primary_key)? {
            Value::Int(id) => UserId::Int(id),
            Value::Text(id) => UserId::Text(id),
            other => {
                return Err(HttpError::internal(format!(
                    "user id has an unexpected value {other:?}"
                )));
            }
        };
        let username = row.get::<String>(USERNAME_COLUMN)?;
        Ok(AuthUser {
            id,
            username,
            row,
            json_string_columns,
            claims: None,
        })
    }
}

/// A token gave no user: rejected (the client's problem) or the database failed (the server's).
#[derive(Debug, thiserror::Error)]
pub enum TokenVerificationError {
    /// The token is not acceptable.
    #[error("{0}")]
    Rejected(TokenRejection),
    /// The user could not be looked up.
    #[error("could not look up the token's user: {0}")]
    Database(DbError),
}

impl AuthInner {
    /// A pooled connection for auth, waiting at most `APPC_AUTH_DB_TIMEOUT_SECS`: when socket
    /// work holds every connection, `/auth/me` and login answer 503 `database_busy` at once
    /// instead of queueing behind it for the pool's own 30 s.
    async fn acquire(&self) -> Result<Pooled, DbError> {
        tokio::time::timeout(self.database_timeout, self.database.acquire())
            .await
            .unwrap_or(Err(DbError::Sqlx(sqlx::Error::PoolTimedOut)))
    }
}
