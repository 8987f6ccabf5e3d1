{%- import "server/context_types.rs" as context_types -%}
//! The app's apis, generated from `main.wasp`; do not edit.
//!
//! Each `api` is an HTTP route answered by the team's function, `pub async fn name(request:
//! appc_runtime::ApiRequest, ctx: <Name>Context) -> Result<impl IntoResponse,
//! appc_runtime::HttpError>`: the request gives the path's parameters (`request.path_param("id")`),
//! the query string (`request.query_param("limit")`, `request.query::<T>()`), the headers
//! (`request.header("x-name")`) and the body (`request.body`, `request.json::<T>()`, at most
//! `APPC_REQUEST_BODY_BYTES`); the context the caller as the spec's user, exactly the listed
//! entities, the database and the socket emitter. An api with `auth: true` answers 401 without
//! a valid token; an `HttpError` becomes its status and JSON body.
//!
//! An api's `middlewareConfigFn` receives a router holding only its route; an `apiNamespace`'s
//! receives one holding every api under its path (innermost namespace first), as in Wasp.
{%- for api in apis %}
//! - api `{{ api.name }}`: `{{ api.method }} {{ api.path }}`, `crate::{{ api.function.module }}::{{ api.function.name }}` in `{{ api.function.file }}`{% if let Some(middleware) = api.middleware %}, through `crate::{{ middleware.module }}::{{ middleware.name }}`{% endif %};
{%- endfor %}
{%- for namespace in namespaces %}
//! - apiNamespace `{{ namespace.name }}`: the apis under `{{ namespace.path }}` go through `crate::{{ namespace.middleware.module }}::{{ namespace.middleware.name }}`;
{%- endfor %}
{%- for api in apis %}
{%- call context_types::operation_context(api, "request", "requests") %}{% endcall %}
{%- endfor %}

/// Every api's route, with its own middleware and its namespaces'; the generated `main` mounts
/// them beside the auth routes.
pub fn routes(router: ::appc_runtime::Router) -> ::appc_runtime::Router {
    let apis = ::appc_runtime::codegen::ApiRoutes::new()
{%- for api in apis %}
        .api({{ api.path|rust_string }}, {{ api.snake_name }}_route())
{%- endfor %}
{%- for namespace in namespaces %}
        .namespace({{ namespace.path|rust_string }}, crate::{{ namespace.middleware.module }}::{{ namespace.middleware.name }})
{%- endfor %}
        ;
    router.merge(apis.into_router())
}
{%- for api in apis %}

/// api `{{ api.name }}`{% if api.auth_required %} (`auth: true`){% endif %}.
static {{ api.const_name }}: ::appc_runtime::codegen::ApiSpec = ::appc_runtime::codegen::ApiSpec {
    name: {{ api.name|rust_string }},
    auth_required: {{ api.auth_required }},
};

/// `{{ api.method }} {{ api.path }}`{% if let Some(middleware) = api.middleware %}, through its `middlewareConfigFn`{% endif %}.
fn {{ api.snake_name }}_route() -> ::appc_runtime::Router {
{%- if let Some(middleware) = api.middleware %}
    let router = ::appc_runtime::Router::new().route(
        {{ api.axum_path|rust_string }},
        ::appc_runtime::axum::routing::{{ api.method_router }}(answer_{{ api.snake_name }}),
    );
    crate::{{ middleware.module }}::{{ middleware.name }}(router)
{%- else %}
    ::appc_runtime::Router::new().route(
        {{ api.axum_path|rust_string }},
        ::appc_runtime::axum::routing::{{ api.method_router }}(answer_{{ api.snake_name }}),
    )
{%- endif %}
}

/// Calls `crate::{{ api.function.module }}::{{ api.function.name }}` (in `{{ api.function.file }}`).
async fn answer_{{ api.snake_name }}(
    ::appc_runtime::axum::extract::State(state): ::appc_runtime::axum::extract::State<::appc_runtime::AppState>,
    request: ::appc_runtime::axum::extract::Request,
) -> ::appc_runtime::axum::response::Response {
    ::appc_runtime::codegen::answer_api(
        state,
        request,
        &{{ api.const_name }},
        |request: ::appc_runtime::ApiRequest, ctx: {{ api.type_prefix }}Context| {
            crate::{{ api.function.module }}::{{ api.function.name }}(request, ctx)
        },
    )
    .await
}
{%- endfor %}
