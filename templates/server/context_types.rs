{#- Macros for the types a context is made of, imported by the templates of namespaces, server
    hooks, operations and apis so that every context prints its entities and user the same way. -#}

{#- The `<type_prefix>Entities` struct of a context and its `EntitySet` impl: one typed table per
    entity in `entities`. The caller writes the struct's doc comment. -#}
{%- macro entity_set(type_prefix, entities) -%}
#[derive(::std::fmt::Debug, ::std::clone::Clone)]
pub struct {{ type_prefix }}Entities {
{%- for entity in entities.iter() %}
    /// The `{{ entity.entity }}` table.
    pub {{ entity.field }}: ::appc_runtime::Table<crate::app::entities::{{ entity.entity }}>,
{%- endfor %}
}

impl ::appc_runtime::codegen::EntitySet for {{ type_prefix }}Entities {
    fn from_database(database: &::appc_runtime::Database) -> Self {
{%- if entities.is_empty() %}
        let _ = database;
{%- endif %}
        {{ type_prefix }}Entities {
{%- for entity in entities.iter() %}
            {{ entity.field }}: database.table(),
{%- endfor %}
        }
    }
}
{%- endmacro -%}

{#- The `<type_prefix>Entities` and `<type_prefix>Context` types of a query, action or api (its
    view model in `function`: `name`, `type_prefix`, `entities`, `user_entity`, `auth_required`).
    `besides` is what the team's function receives besides its context ("input", "request"), and
    `anonymous_callers` what an anonymous caller makes ("calls", "requests"). -#}
{%- macro operation_context(function, besides, anonymous_callers) %}

/// The entities `{{ function.name }}` may use (`entities` in `main.wasp`).
{% call entity_set(function.type_prefix, function.entities) %}{% endcall %}

/// What `{{ function.name }}` receives besides its {{ besides }}:
{%- if let Some(user_entity) = function.user_entity %}
{%- if function.auth_required %}
/// `ctx.user` is the caller's `{{ user_entity }}` (`auth: true`: anonymous {{ anonymous_callers }} get 401),
{%- else %}
/// `ctx.user` is the caller's `{{ user_entity }}`, or `None` for an anonymous caller,
{%- endif %}
{%- else %}
/// `ctx.user` is `NoUser` (the app has no `auth`),
{%- endif %}
/// `ctx.entities` the listed tables, `ctx.database` and `ctx.emitter`.
pub type {{ function.type_prefix }}Context = ::appc_runtime::OperationContext<
    {{ function.type_prefix }}Entities,
{%- if let Some(user_entity) = function.user_entity %}
{%- if function.auth_required %}
    crate::app::entities::{{ user_entity }},
{%- else %}
    ::std::option::Option<crate::app::entities::{{ user_entity }}>,
{%- endif %}
{%- else %}
    ::appc_runtime::NoUser,
{%- endif %}
>;
{%- endmacro -%}
