//! The auth HTTP routes (`POST /auth/signup`, `POST /auth/login`, `GET /auth/me`) and the axum
//! extractors for the current user: `AuthUser` (required, 401 otherwise) and
//! `Option<AuthUser>` (no user for a missing or invalid token).
//!
//! Signup and login are throttled per client address and per username before anything else
//! runs, and their bodies are capped at [`CREDENTIALS_BODY_LIMIT`]: credentials are tiny, and a
//! request waiting for a hashing slot should not hold megabytes.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, OptionalFromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{Auth, AuthSession, AuthUser, TokenRejection, TokenVerificationError};
use crate::error::HttpError;

/// The largest signup or login body accepted (16 KiB); larger ones get 413.
pub const CREDENTIALS_BODY_LIMIT: usize = 16 * 1024;

/// The auth routes, for a router whose state contains the [`Auth`] service.
pub fn auth_routes<S>() -> Router<S>
where
    Auth: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .layer(DefaultBodyLimit::max(CREDENTIALS_BODY_LIMIT))
        .route("/auth/me", get(me))
}

/// The client's address key (see [`crate::connections::client_address_key`]) of
/// [`crate::client_address`] (the forwarded client behind a trusted proxy), when the request
/// came through the server's own listener.
struct ClientAddress(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            crate::client_address(&parts.extensions).map(crate::connections::client_address_key),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

/// Decodes the JSON body, naming the failing field (`username`, `password`) in the 400.
fn parse_credentials(body: &[u8]) -> Result<Credentials, HttpError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        if let Some(field) = ["username", "password"].into_iter().find(|field| path == *field || message.contains(&format!("`{field}`"))) {
            HttpError::bad_request_field(field, format!("`{field}` must be a string: {message}"))
        } else {
            HttpError::bad_request(format!(
                "the body must be JSON like {{\"username\": \"...\", \"password\": \"...\"}}: {message}"
            ))
        }
    })
}

async fn signup(
    State(auth): State<Auth>,
    ClientAddress(address): ClientAddress,
    body: Bytes,
) -> Result<Json<AuthSession>, HttpError> {
    let credentials = parse_credentials(&body)?;
    auth.throttle_attempt(address, &credentials.username)?;
    Ok(Json(
        auth.signup(&credentials.username, &credentials.password)
            .await?,
    ))
}

async fn login(
    State(auth): State<Auth>,
    ClientAddress(address): ClientAddress,
    body: Bytes,
) -> Result<Json<AuthSession>, HttpError> {
    let credentials = parse_credentials(&body)?;
    auth.throttle_attempt(address, &credentials.username)?;
    Ok(Json(
        auth.login(&credentials.username, &credentials.password)
            .await?,
    ))
}

async fn me(user: AuthUser) -> Json<AuthUser> {
    Json(user)
}

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let header = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

/// Requires a valid bearer token: handlers taking `AuthUser` only run for logged-in users, and
/// other requests get 401 with the reason.
///
/// ```
/// use appc_runtime::AuthUser;
/// async fn profile(user: AuthUser) -> String {
///     format!("hello {}", user.username())
/// }
/// ```
impl<S> FromRequestParts<S> for AuthUser
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer_token(parts) else {
            return Err(HttpError::unauthorized(TokenRejection::Missing.to_string()));
        };
        match Auth::from_ref(state).user_from_token(token).await {
            Ok(user) => Ok(user),
            Err(TokenVerificationError::Rejected(rejection)) => {
                Err(HttpError::unauthorized(rejection.to_string()))
            }
            Err(TokenVerificationError::Database(error)) => Err(error.into()),
        }
    }
}

/// `Option<AuthUser>`: the user for a valid token, `None` for a missing or invalid one.
///
/// ```
/// use appc_runtime::AuthUser;
/// async fn greeting(user: Option<AuthUser>) -> String {
///     user.map_or("hello stranger".to_owned(), |user| format!("hello {}", user.username()))
/// }
/// ```
impl<S> OptionalFromRequestParts<S> for AuthUser
where
    Auth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let Some(token) = bearer_token(parts) else {
            return Ok(None);
        };
        match Auth::from_ref(state).user_from_token(token).await {
            Ok(user) => Ok(Some(user)),
            Err(TokenVerificationError::Rejected(_)) => Ok(None),
            Err(TokenVerificationError::Database(error)) => Err(error.into()),
        }
    }
}
