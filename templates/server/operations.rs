{%- import "server/context_types.rs" as context_types -%}
//! The app's queries and actions, generated from `main.wasp`; do not edit.
//!
//! Each is served at `POST /operations/<kebab-case-name>`: the body is its input as JSON, the
//! answer its output as JSON (200), no body for one without output (204), or an error
//! `{ "error": { "code", "message", "field"? } }`: 400 `invalid_input` for a body that does not
//! match the input's type (in the spec's words, `field` the dotted path), 401 for `auth: true`
//! without a valid token, 413 over `APPC_REQUEST_BODY_BYTES`, the status of the `HttpError` the
//! team's function returns, 500 for anything else (the cause goes to the log only).
//!
//! The team's function of each is `pub async fn name(input: Input, ctx: <Name>Context) ->
//! Result<Output, appc_runtime::HttpError>` (without `input` when the declaration has none,
//! `Result<(), HttpError>` when it has no output); its context holds the caller as the spec's
//! user (`ctx.user`), exactly the listed entities (`ctx.entities`), the database and the socket
//! emitter:
{%- for operation in operations %}
//! - {{ operation.keyword }} `{{ operation.name }}`: `POST {{ operation.route_path }}`, `crate::{{ operation.function.module }}::{{ operation.function.name }}` in `{{ operation.function.file }}`;
{%- endfor %}
{%- for operation in operations %}
{%- call context_types::operation_context(operation, "input", "calls") %}{% endcall %}
{%- endfor %}

{%- if !live_queries.is_empty() %}

/// The live queries, for the runtime: after a committed write to one of their entities, the
/// runtime runs the query again, with each follower's own user and input, and pushes the result
/// to the clients following it (`scope: user`: only writes to rows their user owns).
pub fn live_queries() -> ::std::vec::Vec<::appc_runtime::codegen::LiveQuery> {
    ::std::vec![
{%- for query in live_queries %}
        ::appc_runtime::codegen::LiveQuery::new({{ query.name|rust_string }})
{%- if query.auth_required %}
            .auth_required()
{%- endif %}
{%- if query.scoped_to_user %}
            .scoped_to_user()
{%- endif %}
{%- for entity in query.entities %}
            .entity::<crate::app::entities::{{ entity }}>({{ entity|rust_string }})
{%- endfor %}
            .runs(&{{ query.const_name }}, call_{{ query.snake_name }}),
{%- endfor %}
    ]
}
{%- endif %}

/// The route of every query and action, and a JSON 404 for any other path under
/// `/operations/`; the generated `main` mounts them beside the auth routes.
pub fn routes(router: ::appc_runtime::Router) -> ::appc_runtime::Router {
    router
{%- for operation in operations %}
        .route(
            {{ operation.route_path|rust_string }},
            ::appc_runtime::axum::routing::post(answer_{{ operation.snake_name }})
                .fallback(::appc_runtime::codegen::operation_method_not_allowed),
        )
{%- endfor %}
        .route(
            "/operations/{*path}",
            ::appc_runtime::axum::routing::any(::appc_runtime::codegen::unknown_operation),
        )
}
{%- for operation in operations %}
{%- let result_type %}::std::result::Result<{% if let Some(output) = operation.output %}{{ output|rust_type }}{% else %}(){% endif %}, ::appc_runtime::HttpError>{% endlet %}

/// {{ operation.keyword }} `{{ operation.name }}`{% if operation.auth_required %} (`auth: true`){% endif %}.
static {{ operation.const_name }}: ::appc_runtime::codegen::OperationSpec = ::appc_runtime::codegen::OperationSpec {
    name: {{ operation.name|rust_string }},
    auth_required: {{ operation.auth_required }},
    input_max_length: {{ operation.input_max_length|rust_max_length }},
};

/// `POST {{ operation.route_path }}`.
async fn answer_{{ operation.snake_name }}(
    ::appc_runtime::axum::extract::State(state): ::appc_runtime::axum::extract::State<::appc_runtime::AppState>,
    request: ::appc_runtime::axum::extract::Request,
) -> ::appc_runtime::axum::response::Response {
{%- if operation.output.is_some() %}
    ::appc_runtime::codegen::answer_operation(state, request, &{{ operation.const_name }}, call_{{ operation.snake_name }}).await
{%- else %}
    ::appc_runtime::codegen::answer_operation_without_output(state, request, &{{ operation.const_name }}, call_{{ operation.snake_name }}).await
{%- endif %}
}

/// The signature `crate::{{ operation.function.module }}::{{ operation.function.name }}` (in `{{ operation.function.file }}`) must have:
/// input {% if let Some(input) = operation.input %}`{{ input|wasp_type }}`{% else %}none{% endif %}, output {% if let Some(output) = operation.output %}`{{ output|wasp_type }}`{% else %}none{% endif %}.
/// rustc reports a wrong input type in the team's file, a wrong output through
/// `{{ operation.type_prefix }}Output`.
async fn call_{{ operation.snake_name }}(
{%- if let Some(input) = operation.input %}
    input: {{ input|rust_type }},
{%- else %}
    _input: ::appc_runtime::codegen::NoInput,
{%- endif %}
    ctx: {{ operation.type_prefix }}Context,
) -> {{ result_type }} {
    {{ operation.type_prefix }}Output::checked(
        crate::{{ operation.function.module }}::{{ operation.function.name }}({% if operation.input.is_some() %}input, {% endif %}ctx).await,
    )
}

/// Implemented only for the result `crate::{{ operation.function.module }}::{{ operation.function.name }}` must return,
/// so that rustc reports any other with the team's file and line.
#[diagnostic::on_unimplemented(
    message = "`{{ operation.function.name }}` ({{ operation.function.file }}:{{ operation.function.line }}) returns `{Self}`, but {{ operation.keyword }} `{{ operation.name }}` declares {% if let Some(output) = operation.output %}`output: {{ output|wasp_type }}`{% else %}no `output`{% endif %}",
    label = "`{{ operation.function.name }}` returns `{Self}`",
    note = "change the return type of `{{ operation.function.name }}` in {{ operation.function.file }}:{{ operation.function.line }} to the one this trait is implemented for, or the `output` of `{{ operation.name }}` in main.wasp"
)]
trait {{ operation.type_prefix }}Output {
    fn checked(self) -> {{ result_type }};
}

impl {{ operation.type_prefix }}Output for {{ result_type }} {
    fn checked(self) -> Self {
        self
    }
}
{%- endfor %}
