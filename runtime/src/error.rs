//! [`HttpError`]: the JSON error every HTTP route returns, the auth routes as the team's
//! queries, actions and apis: `{ "error": { "code", "message" } }` with the matching status,
//! plus `field` when one input field is at fault and a `Retry-After` header when the client
//! should come back later (429, 503). A 500 never carries its cause: the cause is logged.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An HTTP error response: what a query, action or api of the team returns to refuse a
/// request. Messages are lower-case sentences that say what to do.
///
/// ```
/// use appc_runtime::HttpError;
/// let error = HttpError::not_found("no task with id 7; it may have been deleted");
/// assert_eq!(error.status().as_u16(), 404);
/// assert_eq!(error.code(), "not_found");
/// let error = HttpError::bad_request_field("description", "the description must not be empty");
/// assert_eq!(error.to_json()["error"]["field"], "description");
/// ```
///
/// `?` turns a [`DbError`](crate::DbError) into a 500 whose cause goes to the log only (or a
/// 503 `database_busy` when every connection stayed in use); any other error becomes one with
/// [`HttpError::internal`] (`.map_err(HttpError::internal)?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

impl HttpError {
    /// Any status with a machine-readable `code` and a human `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_input` naming the field at fault by its path in the spec's names
    /// (`description`, `tags.2`).
    pub fn bad_request_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        HttpError {
            field: Some(field.into()),
            ..HttpError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
        }
    }

    /// 400 `invalid_input` for a body that is not the expected JSON at all.
    pub fn bad_request(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: the caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 `conflict`: the request clashes with the current state (for a more precise code,
    /// such as `username_taken`, use [`HttpError::new`]).
    pub fn conflict(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 500 `internal`. The cause is logged here and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error; see the server log",
        )
    }

    /// 429 `too_many_requests`, to be retried after `retry_after_seconds`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u64) -> Self {
        HttpError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
            .with_retry_after(retry_after_seconds)
    }

    /// 503 `database_busy`: every database connection stayed in use for the whole wait.
    pub fn database_busy() -> Self {
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_busy",
            "the database is busy; try again in a moment",
        )
        .with_retry_after(1)
    }

    /// Adds a `Retry-After` header (whole seconds) to the response.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The `Retry-After` seconds, if the client should retry later.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The response body.
    pub fn to_json(&self) -> serde_json::Value {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(field) = &self.field {
            error["field"] = serde_json::Value::String(field.clone());
        }
        serde_json::json!({ "error": error })
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for HttpError {}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.to_json())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<crate::db::DbError> for HttpError {
    fn from(error: crate::db::DbError) -> Self {
        match error {
            // Not a fault of the server's code: every connection is in use, so the client is
            // told to come back instead of waiting on a stuck request.
            crate::db::DbError::Sqlx(sqlx::Error::PoolTimedOut) => HttpError::database_busy(),
            error => HttpError::internal(&error),
        }
    }
}
