{#- The `Entities` struct of a context (a namespace's, or the server hooks'), included by
    namespace.rs and server_hooks.rs: one typed table per entity in `entities`. The including
    template writes the struct's doc comment. -#}
#[derive(::std::fmt::Debug, ::std::clone::Clone)]
pub struct Entities {
{%- for entity in entities %}
    /// The `{{ entity.entity }}` table.
    pub {{ entity.field }}: ::appc_runtime::Table<crate::app::entities::{{ entity.entity }}>,
{%- endfor %}
}

impl ::appc_runtime::codegen::EntitySet for Entities {
    fn from_database(database: &::appc_runtime::Database) -> Self {
{%- if entities.is_empty() %}
        let _ = database;
{%- endif %}
        Entities {
{%- for entity in entities %}
            {{ entity.field }}: database.table(),
{%- endfor %}
        }
    }
}
