//! Queries, actions and apis over HTTP: the [`OperationContext`] the team's functions receive,
//! the [`ApiRequest`] an api reads, and the generated code's plumbing that answers one request
//! (the token, the body under its size limit, the input checked against its spec type, the
//! team's function, its result as JSON or its [`HttpError`]).
//!
//! ## The HTTP contract
//!
//! A query or action is `POST /operations/<kebab-name>`: the body is the input as JSON
//! (`Content-Type: application/json`; an operation without input takes an empty body, `{}` or
//! `null`), the token travels as `Authorization: Bearer <token>`. The answer is `200` with the
//! output as JSON, `204` without a body for an operation without output, or the error as
//! `{ "error": { "code", "message", "field"? } }`:
//!
//! | status | code | when |
//! | --- | --- | --- |
//! | 400 | `invalid_input` | the body is not JSON, or does not match the input's spec type (`field` is the dotted path, `tags.2`) |
//! | 401 | `unauthorized` | `auth: true` and no valid token |
//! | 403, 404, 409, ... | the team's | the team's function returned that [`HttpError`] |
//! | 405 | `method_not_allowed` | a method other than `POST` |
//! | 413 | `payload_too_large` | a body over `APPC_REQUEST_BODY_BYTES` |
//! | 415 | `unsupported_media_type` | a body that is not sent as `application/json` |
//! | 500 | `internal` | anything else; the cause goes to the log, never into the body |
//!
//! The checks run cheapest first, so that a refused request costs little: the declared length
//! against the limit, then the token (an `auth: true` route reads no body for an anonymous
//! caller), then the body, read only up to the limit whatever its declared length.
//!
//! An api answers its own method and path with whatever its function returns
//! ([`IntoResponse`]); the same token, body limit and [`HttpError`] apply, and [`ApiRoutes`]
//! puts each `apiNamespace`'s middleware around the apis under its path.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::app_state::AppState;
use crate::auth::AuthUser;
use crate::context::EntitySet;
use crate::context_user::{ConnectionUser, ContextUser, ContextUserError, NoUser};
use crate::db::Database;
use crate::error::HttpError;
use crate::operation_limit::ClientKey;
use crate::socket::Emitter;
use crate::socket::{Shape, SpecType, decode_payload_with_max_length};

/// What a query, action or api function receives besides its input: the caller as the spec's
/// typed user, typed access to exactly the entities the declaration lists, the raw database
/// and the socket emitter (so an action can tell sockets what changed).
///
/// `user` is typed by the declaration, as on sockets (see [`ContextUser`]): with `auth: true`
/// the user entity itself (the request was refused with 401 otherwise), without it an
/// `Option` of it (`None` for an anonymous caller, or one whose token is not valid), and
/// [`NoUser`] in an app without `auth`.
///
/// ```
/// # use appc_runtime::{HttpError, OperationContext};
/// # #[derive(Clone)] pub struct Tasks;
/// /// `action deleteAll { fn: ..., auth: true }` in an app whose user entity is `User`.
/// async fn delete_all(ctx: OperationContext<Tasks, appc_runtime::NoUser>) -> Result<(), HttpError> {
///     let _subject = ctx.auth_user().and_then(|user| user.claims()).map(|claims| claims.sub.clone());
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct OperationContext<Entities, User = NoUser> {
    /// The caller as the spec's user entity: the entity itself under `auth: true`, an `Option`
    /// of it otherwise, [`NoUser`] in an app without auth.
    pub user: User,
    /// Typed access to the entities the declaration lists.
    pub entities: Entities,
    /// The raw pool, for anything the typed access does not cover (and transactions).
    pub database: Database,
    /// Emits to sockets: wrap it in a namespace's generated emitter
    /// (`crate::app::web_socket::Emitter::new(ctx.emitter.clone())`) to send typed events.
    pub emitter: Emitter,
    auth_user: Option<Arc<AuthUser>>,
}

impl<Entities: EntitySet, User> OperationContext<Entities, User> {
    /// The context of one request over the app's state, on behalf of its `caller`. It counts
    /// as a running handler while its tables or database live, so shutdown lets its writes
    /// finish before the database closes.
    fn new(state: &AppState, caller: ConnectionUser<User>) -> Self {
        let database = state.database.for_handler(state.handlers.token());
        OperationContext {
            user: caller.user,
            entities: Entities::from_database(&database),
            database,
            emitter: state.emitter.clone(),
            auth_user: caller.auth_user,
        }
    }
}

impl<Entities, User> OperationContext<Entities, User> {
    /// Tells the live queries that read `E` that its rows changed, after a write made with raw
    /// SQL (writes through `ctx.entities` and transactions are noticed on their own); see
    /// [`Database::invalidate`](crate::Database::invalidate).
    pub fn invalidate<E: crate::db::Entity>(&self) {
        self.database.invalidate::<E>();
    }

    /// The caller as the token check loaded it, untyped, with the claims of the request's
    /// token (`ctx.auth_user().and_then(AuthUser::claims)`); `None` for an anonymous caller.
    pub fn auth_user(&self) -> Option<&AuthUser> {
        self.auth_user.as_deref()
    }
}

/// One request to an `api`, as its function reads it: the method, the URI with its query
/// string, the headers, the path's parameters and the whole body (at most
/// `APPC_REQUEST_BODY_BYTES`).
///
/// ```
/// # use appc_runtime::{ApiRequest, HttpError};
/// # async fn example(request: ApiRequest) -> Result<String, HttpError> {
/// // `httpRoute: (GET, "/api/tasks/:id")`, called as `/api/tasks/7?verbose=true`.
/// let id: i64 = request.path_param("id").unwrap_or_default().parse()
///     .map_err(|_| HttpError::bad_request_field("id", "the task id must be a whole number"))?;
/// let verbose = request.query_param("verbose").as_deref() == Some("true");
/// let agent = request.header("user-agent").unwrap_or("unknown");
/// Ok(format!("task {id}, verbose {verbose}, from {agent}"))
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The request's method (`ALL` routes answer any).
    pub method: Method,
    /// The path and query string as requested.
    pub uri: Uri,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The body, read whole.
    pub body: Bytes,
    path_params: Vec<(String, String)>,
}

impl ApiRequest {
    /// The value of the path parameter `name` (`:id` in `/api/tasks/:id`), percent-decoded.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(param, _)| param == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every path parameter with its value, in the path's order.
    pub fn path_params(&self) -> &[(String, String)] {
        &self.path_params
    }

    /// The raw query string after `?` (empty without one).
    pub fn query_string(&self) -> &str {
        self.uri.query().unwrap_or_default()
    }

    /// The first value of the query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&self.uri).ok()?;
        pairs
            .into_iter()
            .find(|(param, _)| param == name)
            .map(|(_, value)| value)
    }

    /// The query string decoded as `T` (a struct with `serde::Deserialize`); 400 naming the
    /// problem when it does not fit.
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        Query::<T>::try_from_uri(&self.uri)
            .map(|Query(query)| query)
            .map_err(|rejection| {
                HttpError::bad_request(format!(
                    "the query string does not fit this route: {}",
                    rejection.body_text()
                ))
            })
    }

    /// The value of the header `name` (any case), when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The body decoded as JSON into `T`; 400 naming the failing field when it does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        let mut deserializer = serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let message = format!("the body does not fit this route: {}", error.inner());
            if path == "." {
                HttpError::bad_request(message)
            } else {
                HttpError::bad_request_field(path, message)
            }
        })
    }
}

/// How the generated code describes one query or action to [`answer_operation`].
#[derive(Debug)]
pub struct OperationSpec {
    /// The declaration's name (`getTasks`), for messages and logs.
    pub name: &'static str,
    /// `auth: true`: callers without a valid token get 401.
    pub auth_required: bool,
    /// `maxLength` of the input (characters of a `String`, items of a list).
    pub input_max_length: Option<usize>,
}

/// How the generated code describes one api to [`answer_api`].
#[derive(Debug)]
pub struct ApiSpec {
    /// The declaration's name (`taskCount`), for logs.
    pub name: &'static str,
    /// `auth: true`: requests without a valid token get 401.
    pub auth_required: bool,
}

/// An operation's input as the request body carries it: a spec type (checked against its
/// shape, then decoded) or [`NoInput`].
pub trait OperationInput: Sized {
    /// Decodes the body of a call to `operation` (already checked to be JSON when not empty).
    fn decode(operation: &OperationSpec, body: &[u8]) -> Result<Self, HttpError>;
}

/// Every spec type: the body is parsed as JSON, checked against the type's shape and its
/// `maxLength` (messages in the spec's words, `field` the dotted path), then decoded. An empty
/// body is `null`, which only an optional input and `Json` accept: the web client sends none for
/// `getTaskStats()` as for `getTaskStats(null)`.
impl<T: DeserializeOwned + SpecType> OperationInput for T {
    fn decode(operation: &OperationSpec, body: &[u8]) -> Result<Self, HttpError> {
        let value = if body.iter().all(u8::is_ascii_whitespace) {
            if !matches!(T::SHAPE, Shape::Optional(_) | Shape::Json) {
                return Err(HttpError::bad_request(format!(
                    "missing input, expected {}; send it as the JSON body",
                    T::SHAPE
                )));
            }
            serde_json::Value::Null
        } else {
            parse_json(body)?
        };
        decode_payload_with_max_length::<T>(operation.name, &value, operation.input_max_length)
            .map_err(|error| match error.field {
                Some(field) => HttpError::bad_request_field(dotted_path(&field), error.message),
                None => HttpError::bad_request(error.message),
            })
    }
}

/// The input of an operation declared without `input`: an empty body, `{}` or `null`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoInput;

impl OperationInput for NoInput {
    fn decode(operation: &OperationSpec, body: &[u8]) -> Result<Self, HttpError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(NoInput);
        }
        match parse_json(body)? {
            serde_json::Value::Null => Ok(NoInput),
            serde_json::Value::Object(fields) if fields.is_empty() => Ok(NoInput),
            other => Err(HttpError::bad_request(format!(
                "`{}` takes no input, found {}; send an empty body, `{{}}` or `null`",
                operation.name,
                crate::socket::describe(&other)
            ))),
        }
    }
}

/// Answers one call of a query or action with an output: 200 and the output as JSON, or the
/// error (see the module docs). `run` is the generated wrapper around the team's function.
pub async fn answer_operation<Input, Output, Entities, User, Run, Done>(
    state: AppState,
    request: Request,
    operation: &'static OperationSpec,
    run: Run,
) -> Response
where
    Input: OperationInput,
    Output: Serialize,
    Entities: EntitySet,
    User: ContextUser,
    Run: FnOnce(Input, OperationContext<Entities, User>) -> Done,
    Done: Future<Output = Result<Output, HttpError>>,
{
    match run_operation(state, request, operation, run).await {
        Ok(output) => match serde_json::to_vec(&output) {
            Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(error) => HttpError::internal(format_args!(
                "the output of `{}` could not be written as JSON: {error}",
                operation.name
            ))
            .into_response(),
        },
        Err(error) => error.into_response(),
    }
}

/// Answers one call of a query or action declared without `output`: 204 with no body, or the
/// error.
pub async fn answer_operation_without_output<Input, Entities, User, Run, Done>(
    state: AppState,
    request: Request,
    operation: &'static OperationSpec,
    run: Run,
) -> Response
where
    Input: OperationInput,
    Entities: EntitySet,
    User: ContextUser,
    Run: FnOnce(Input, OperationContext<Entities, User>) -> Done,
    Done: Future<Output = Result<(), HttpError>>,
{
    match run_operation(state, request, operation, run).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn run_operation<Input, Output, Entities, User, Run, Done>(
    state: AppState,
    request: Request,
    operation: &'static OperationSpec,
    run: Run,
) -> Result<Output, HttpError>
where
    Input: OperationInput,
    Entities: EntitySet,
    User: ContextUser,
    Run: FnOnce(Input, OperationContext<Entities, User>) -> Done,
    Done: Future<Output = Result<Output, HttpError>>,
{
    let span = tracing::info_span!("operation", name = operation.name);
    async move {
        let (mut parts, body) = request.into_parts();
        let limit = state.config.limits.request_body;
        refuse_declared_length_over(&parts.headers, limit)?;
        let caller = caller::<User>(&state, &mut parts, operation.auth_required).await?;
        let body = read_body(body, limit).await?;
        if !body.iter().all(u8::is_ascii_whitespace) {
            require_json_content_type(&parts.headers)?;
        }
        let input = Input::decode(operation, &body)?;
        answer_panics_with_500(run(input, OperationContext::new(&state, caller))).await
    }
    .instrument(span)
    .await
}

/// Runs a live query for a subscription group (`live/`): the same decoding of the input and the
/// same function as the query's HTTP route, with the user of the sockets' handshake token
/// instead of a request's; the output as JSON.
pub(crate) async fn run_live_query<Input, Output, Entities, User, Run, Done>(
    state: AppState,
    operation: &'static OperationSpec,
    auth_user: Option<Arc<AuthUser>>,
    input: Arc<str>,
    run: Run,
) -> Result<serde_json::Value, HttpError>
where
    Input: OperationInput,
    Output: Serialize,
    Entities: EntitySet,
    User: ContextUser,
    Run: FnOnce(Input, OperationContext<Entities, User>) -> Done,
    Done: Future<Output = Result<Output, HttpError>>,
{
    let span = tracing::info_span!("live_query", name = operation.name);
    async move {
        // No input is an empty body, as the web client sends it over HTTP.
        let body = if &*input == "null" { "" } else { &*input };
        let input = Input::decode(operation, body.as_bytes())?;
        let caller =
            ConnectionUser::<User>::decode(auth_user.as_deref().cloned()).map_err(|error| {
                match error {
                    ContextUserError::Missing => HttpError::unauthorized(
                        "this live query needs a logged-in user; connect with a valid token",
                    ),
                    error => HttpError::internal(error),
                }
            })?;
        let output =
            answer_panics_with_500(run(input, OperationContext::new(&state, caller))).await?;
        serde_json::to_value(&output).map_err(|error| {
            HttpError::internal(format_args!(
                "the output of `{}` could not be written as JSON: {error}",
                operation.name
            ))
        })
    }
    .instrument(span)
    .await
}

/// Counts one live-query subscription against its client's allowance of operations (see
/// [`count_against_client`]): subscribing runs the query like a call.
pub(crate) fn count_live_subscription(
    state: &AppState,
    parts: &Parts,
    user: Option<&AuthUser>,
) -> Result<(), HttpError> {
    count_against_client(state, parts, user)
}

/// Runs a team function; a panic in it becomes a 500 like any other failure the caller cannot
/// fix (the panic's message goes to the log, never to the caller), instead of a dropped
/// connection. The request's own state dies with it; what it shares with other requests (the
/// pool, the emitter) stays usable, so asserting unwind safety is sound here.
async fn answer_panics_with_500<T>(
    function: impl Future<Output = Result<T, HttpError>>,
) -> Result<T, HttpError> {
    match AssertUnwindSafe(function).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(HttpError::internal(format!(
                "the team's function panicked: {message}"
            )))
        }
    }
}

/// Answers one request to an api: its function's response, or the error.
pub async fn answer_api<Entities, User, Run, Done, Reply>(
    state: AppState,
    request: Request,
    api: &'static ApiSpec,
    run: Run,
) -> Response
where
    Entities: EntitySet,
    User: ContextUser,
    Run: FnOnce(ApiRequest, OperationContext<Entities, User>) -> Done,
    Done: Future<Output = Result<Reply, HttpError>>,
    Reply: IntoResponse,
{
    let span = tracing::info_span!("api", name = api.name);
    let result = async move {
        let (mut parts, body) = request.into_parts();
        let limit = state.config.limits.request_body;
        refuse_declared_length_over(&parts.headers, limit)?;
        let caller = caller::<User>(&state, &mut parts, api.auth_required).await?;
        let Path(path_params) =
            <Path<Vec<(String, String)>> as FromRequestParts<AppState>>::from_request_parts(
                &mut parts, &state,
            )
            .await
            .map_err(|rejection| {
                HttpError::bad_request(format!(
                    "the path does not fit this route: {}",
                    rejection.body_text()
                ))
            })?;
        let body = read_body(body, limit).await?;
        let request = ApiRequest {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            path_params,
        };
        answer_panics_with_500(run(request, OperationContext::new(&state, caller)))
            .await
            .map(IntoResponse::into_response)
    }
    .instrument(span)
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The answer to a query or action called with another method than `POST`.
pub async fn operation_method_not_allowed() -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "queries and actions are called with POST and the input as the JSON body",
    )
}

/// The answer to a path under `/operations/` that no query or action has.
pub async fn unknown_operation(uri: Uri) -> HttpError {
    HttpError::not_found(format!(
        "no query or action is served at `{}`; check the name against main.wasp (routes are `/operations/` and the name in kebab case)",
        uri.path()
    ))
}

/// The caller of a request: the typed user of the route's context and the token's user, decoded
/// as a socket's are ([`ConnectionUser::decode`]). With
/// `auth_required`, a request without a valid token is refused with 401 and the reason; without
/// it, a missing or invalid token makes an anonymous caller. An app without auth reads no token.
async fn caller<User: ContextUser>(
    state: &AppState,
    parts: &mut Parts,
    auth_required: bool,
) -> Result<ConnectionUser<User>, HttpError> {
    let auth_user = if !state.auth.is_enabled() {
        Ok(None)
    } else if auth_required {
        <AuthUser as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    } else {
        <AuthUser as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await
    };
    // Counted before a refused token is answered, so that bad tokens are limited too.
    let valid_user = auth_user.as_ref().ok().and_then(Option::as_ref);
    count_against_client(state, parts, valid_user)?;
    let auth_user = auth_user?;
    ConnectionUser::decode(auth_user).map_err(|error| match error {
        ContextUserError::Missing => {
            HttpError::unauthorized("this route needs a logged-in user; log in and send the token as `Authorization: Bearer <token>`")
        }
        error => HttpError::internal(error),
    })
}

/// Counts the request against its client's allowance: the user of a valid token, else the
/// client's address, the forwarded client behind a trusted proxy (a request that did not come through the server's listener has none and is
/// not limited).
fn count_against_client(
    state: &AppState,
    parts: &Parts,
    user: Option<&AuthUser>,
) -> Result<(), HttpError> {
    let key = match user {
        Some(user) => ClientKey::User(user.id().clone()),
        None => match crate::client_address(&parts.extensions) {
            Some(address) => ClientKey::Address(crate::connections::client_address_key(address)),
            None => return Ok(()),
        },
    };
    state.operation_limiter.check(key)
}

fn too_large(limit: usize) -> HttpError {
    HttpError::payload_too_large(format!(
        "the request body is larger than the {limit} bytes this server accepts; send a smaller one"
    ))
}

/// Refuses a body whose `Content-Length` is over `limit` before anything else runs.
fn refuse_declared_length_over(headers: &HeaderMap, limit: usize) -> Result<(), HttpError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// Reads the whole body, but never more than `limit` bytes, whatever its declared length.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, HttpError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(error) => Err(HttpError::bad_request(format!(
            "the request body could not be read: {error}"
        ))),
    }
}

/// A body must say it is JSON: a browser sends JSON across origins only after a CORS
/// preflight, so a form on another site cannot post to an operation unasked.
fn require_json_content_type(headers: &HeaderMap) -> Result<(), HttpError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let essence = content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if essence.is_some_and(|essence| essence.eq_ignore_ascii_case("application/json")) {
        return Ok(());
    }
    let found = match content_type {
        Some(content_type) => format!("`{content_type}`"),
        None => "no Content-Type".to_owned(),
    };
    Err(HttpError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("send the input as JSON with `Content-Type: application/json`, found {found}"),
    ))
}

/// Parses a body as JSON (serde_json refuses nesting deeper than 128 levels).
fn parse_json(body: &[u8]) -> Result<serde_json::Value, HttpError> {
    serde_json::from_slice(body).map_err(|error| {
        HttpError::bad_request(format!(
            "the body is not valid JSON: {error}; send the input as JSON"
        ))
    })
}

/// A field path in the socket messages' form (`lines[2].text`) in the HTTP contract's dotted
/// form (`lines.2.text`). Field names are identifiers, so brackets only ever mark items.
fn dotted_path(path: &str) -> String {
    let mut dotted = String::with_capacity(path.len());
    for character in path.chars() {
        match character {
            '[' if dotted.is_empty() => {}
            '[' => dotted.push('.'),
            ']' => {}
            other => dotted.push(other),
        }
    }
    dotted
}

/// The HTTP routes of the app's apis, with each `apiNamespace`'s middleware around the apis
/// under its path (Wasp's per-path middleware). Each api comes as a router holding only its
/// route, already passed through its own `middlewareConfigFn`; each namespace's function then
/// receives one router holding every api under its path (segment by segment: `/bar` covers
/// `/bar/baz`, not `/barbaz`), innermost namespace first, so an api under `/api` and
/// `/api/admin` runs inside both, `/api`'s outermost. A request to a path under a namespace
/// that no api answers does not go through its middleware.
pub struct ApiRoutes<State = AppState> {
    apis: Vec<(String, Router<State>)>,
    namespaces: Vec<(String, NamespaceMiddleware<State>)>,
}

type NamespaceMiddleware<State> = Box<dyn FnOnce(Router<State>) -> Router<State>>;

impl<State: Clone + Send + Sync + 'static> Default for ApiRoutes<State> {
    fn default() -> Self {
        ApiRoutes {
            apis: Vec::new(),
            namespaces: Vec::new(),
        }
    }
}

impl<State: Clone + Send + Sync + 'static> ApiRoutes<State> {
    /// No apis yet.
    pub fn new() -> Self {
        ApiRoutes::default()
    }

    /// Adds the router of the api whose path (as `main.wasp` writes it) is `path`.
    pub fn api(mut self, path: &str, router: Router<State>) -> Self {
        self.apis.push((path.to_owned(), router));
        self
    }

    /// Adds an `apiNamespace`: `configure` receives the apis under `path`.
    pub fn namespace(
        mut self,
        path: &str,
        configure: impl FnOnce(Router<State>) -> Router<State> + 'static,
    ) -> Self {
        self.namespaces.push((path.to_owned(), Box::new(configure)));
        self
    }

    /// Every api in one router, each namespace's middleware applied.
    pub fn into_router(mut self) -> Router<State> {
        // Innermost first: a namespace's router then already holds the routers of the
        // namespaces inside it, which it covers too.
        self.namespaces.sort_by_key(|(path, _)| {
            std::cmp::Reverse(path.split('/').filter(|s| !s.is_empty()).count())
        });
        let mut groups = self.apis;
        for (prefix, configure) in self.namespaces {
            let (covered, rest): (Vec<_>, Vec<_>) = groups
                .into_iter()
                .partition(|(path, _)| path_is_under(path, &prefix));
            groups = rest;
            if covered.is_empty() {
                continue;
            }
            let merged = covered
                .into_iter()
                .fold(Router::new(), |merged, (_, router)| merged.merge(router));
            groups.push((prefix, configure(merged)));
        }
        groups
            .into_iter()
            .fold(Router::new(), |merged, (_, router)| merged.merge(router))
    }
}

/// Whether `path` is `prefix` or lies below it, segment by segment.
fn path_is_under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    #[test]
    fn socket_paths_become_dotted_paths() {
        assert_eq!(dotted_path("description"), "description");
        assert_eq!(dotted_path("tags[2]"), "tags.2");
        assert_eq!(dotted_path("lines[2].text"), "lines.2.text");
        assert_eq!(dotted_path("[0].id"), "0.id");
    }

    #[test]
    fn namespaces_cover_paths_segment_by_segment() {
        assert!(path_is_under("/bar", "/bar"));
        assert!(path_is_under("/bar/baz", "/bar"));
        assert!(!path_is_under("/barbaz", "/bar"));
        assert!(path_is_under("/anything", "/"));
    }

    fn operation(auth_required: bool, input_max_length: Option<usize>) -> OperationSpec {
        OperationSpec {
            name: "createTask",
            auth_required,
            input_max_length,
        }
    }

    #[test]
    fn an_input_is_checked_against_its_spec_type_and_its_max_length() {
        let spec = operation(false, Some(3));
        let error = <String as OperationInput>::decode(&spec, b"5").unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error.message(), "expected String, found Int 5");
        let error = <String as OperationInput>::decode(&spec, b"\"abcd\"").unwrap_err();
        assert_eq!(error.message(), "expected at most 3 characters, found 4");
        let error = <Vec<String> as OperationInput>::decode(&operation(false, None), b"[\"a\", 2]")
            .unwrap_err();
        assert_eq!(error.to_json()["error"]["field"], "1");
        let error = <String as OperationInput>::decode(&spec, b"").unwrap_err();
        assert_eq!(
            error.message(),
            "missing input, expected String; send it as the JSON body"
        );
        assert_eq!(
            <Option<String> as OperationInput>::decode(&spec, b"").unwrap(),
            None
        );
        assert_eq!(
            <serde_json::Value as OperationInput>::decode(&spec, b" ").unwrap(),
            serde_json::Value::Null
        );
        let error = <String as OperationInput>::decode(&spec, b"{\"text\": ").unwrap_err();
        assert!(
            error.message().starts_with("the body is not valid JSON"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn no_input_takes_an_empty_body_an_empty_record_or_null_only() {
        let spec = operation(false, None);
        for body in [&b""[..], b"  ", b"{}", b"null"] {
            assert_eq!(NoInput::decode(&spec, body).unwrap(), NoInput);
        }
        let error = NoInput::decode(&spec, b"[1]").unwrap_err();
        assert_eq!(
            error.message(),
            "`createTask` takes no input, found a list (1 item); send an empty body, `{}` or `null`"
        );
    }

    #[test]
    fn only_json_bodies_are_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            require_json_content_type(&headers).unwrap_err().status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        let error = require_json_content_type(&headers).unwrap_err();
        assert_eq!(
            error.message(),
            "send the input as JSON with `Content-Type: application/json`, found `text/plain`"
        );
        headers.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(require_json_content_type(&headers).is_ok());
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_whatever_its_declared_length() {
        let error = read_body(Body::from(vec![b'a'; 11]), 10).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(error.code(), "payload_too_large");
        assert_eq!(
            read_body(Body::from("0123456789"), 10).await.unwrap().len(),
            10
        );
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "11".parse().unwrap());
        assert!(refuse_declared_length_over(&headers, 10).is_err());
        headers.insert(header::CONTENT_LENGTH, "10".parse().unwrap());
        assert!(refuse_declared_length_over(&headers, 10).is_ok());
    }

    /// A layer that marks responses, as a namespace's middleware would.
    fn marked(name: &'static str) -> impl FnOnce(Router) -> Router {
        move |router: Router| {
            router.layer(axum::middleware::map_response(
                move |mut response: Response| async move {
                    let marks = response
                        .headers()
                        .get("x-marks")
                        .map(|value| format!("{},{name}", value.to_str().unwrap()))
                        .unwrap_or_else(|| name.to_owned());
                    response
                        .headers_mut()
                        .insert("x-marks", marks.parse().unwrap());
                    response
                },
            ))
        }
    }

    async fn marks(router: &Router, method: Method, path: &str) -> (StatusCode, String) {
        let response = router
            .clone()
            .oneshot(
                axum::http::Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let marks = response
            .headers()
            .get("x-marks")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), marks)
    }

    #[tokio::test]
    async fn namespace_middleware_wraps_the_apis_under_its_path_innermost_first() {
        let router: Router = ApiRoutes::new()
            .api(
                "/api/tasks",
                Router::new().route("/api/tasks", get(|| async { "tasks" })),
            )
            .api(
                "/api/admin/users",
                Router::new().route("/api/admin/users", get(|| async { "users" })),
            )
            .api(
                "/api/admin/users",
                Router::new().route(
                    "/api/admin/users",
                    axum::routing::delete(|| async { "gone" }),
                ),
            )
            .api(
                "/apiary",
                Router::new().route("/apiary", get(|| async { "bees" })),
            )
            .namespace("/api", marked("api"))
            .namespace("/api/admin", marked("admin"))
            .into_router();
        assert_eq!(
            marks(&router, Method::GET, "/api/tasks").await,
            (StatusCode::OK, "api".into())
        );
        assert_eq!(
            marks(&router, Method::GET, "/api/admin/users").await,
            (StatusCode::OK, "admin,api".into())
        );
        assert_eq!(
            marks(&router, Method::DELETE, "/api/admin/users").await,
            (StatusCode::OK, "admin,api".into())
        );
        assert_eq!(
            marks(&router, Method::GET, "/apiary").await,
            (StatusCode::OK, String::new())
        );
    }
}
