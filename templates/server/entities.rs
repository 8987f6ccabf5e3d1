//! The entities of `main.wasp`: one struct per entity with its scalar fields (relations are
//! reached through their foreign key fields), a `New*` struct for inserts and an `*Update`
//! struct for partial updates. Handlers reach the tables through `ctx.entities`; each table
//! offers `find`, `find_many`, `find_first`, `create`, `update`, `delete` and `count`
//! (see `appc_runtime::db::Table`).
{%- for entity in entities %}

/// A row of the `{{ entity.name }}` table (`entity {{ entity.name }}` in `main.wasp`).
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq, ::serde::Serialize, ::serde::Deserialize)]
pub struct {{ entity.name }} {
{%- for field in entity.fields %}
{%- if let Some(rename) = field.serde_rename %}
    #[serde(rename = "{{ rename }}")]
{%- endif %}
{%- if let Some(with) = field.serde_with %}
    #[serde(with = "{{ with }}")]
{%- endif %}
    pub {{ field.rust_name }}: {{ field.rust_type }},
{%- endfor %}
}

/// A new `{{ entity.name }}` row, for `create`.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::default::Default)]
pub struct {{ entity.new_name }} {
{%- for field in entity.fields %}
{%- if !field.doc.is_empty() %}
    /// {{ field.doc }}
{%- endif %}
    pub {{ field.rust_name }}: {{ field.insert_type }},
{%- endfor %}
}

/// Changes to a `{{ entity.name }}` row, for `update`: only `Some` fields are written.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::default::Default)]
pub struct {{ entity.update_name }} {
{%- for field in entity.fields %}
    pub {{ field.rust_name }}: ::std::option::Option<{{ field.rust_type }}>,
{%- endfor %}
}

static {{ entity.schema_static }}: ::std::sync::LazyLock<::appc_runtime::db::TableSchema> =
    ::std::sync::LazyLock::new(|| {
        ::appc_runtime::db::TableSchema::new("{{ entity.name }}")
{%- for field in entity.fields %}
            .column({{ field.schema }})
{%- endfor %}
    });

impl ::appc_runtime::db::Entity for {{ entity.name }} {
    type Id = {{ entity.id_type }};
    type New = {{ entity.new_name }};
    type Update = {{ entity.update_name }};

    fn schema() -> &'static ::appc_runtime::db::TableSchema {
        &{{ entity.schema_static }}
    }

    fn from_row(row: &::appc_runtime::db::Row) -> ::std::result::Result<Self, ::appc_runtime::db::DbError> {
        ::std::result::Result::Ok({{ entity.name }} {
{%- for field in entity.fields %}
            {{ field.rust_name }}: row.get({{ field.column }})?,
{%- endfor %}
        })
    }
}

impl ::appc_runtime::db::IntoColumns for {{ entity.new_name }} {
    fn into_columns(self) -> ::std::vec::Vec<(&'static str, ::appc_runtime::db::Value)> {
        let mut columns = ::std::vec::Vec::new();
{%- for field in entity.fields %}
{%- if field.insert_optional %}
        if let ::std::option::Option::Some(value) = self.{{ field.rust_name }} {
            columns.push(({{ field.column }}, ::appc_runtime::db::Value::from(value)));
        }
{%- else %}
        columns.push(({{ field.column }}, ::appc_runtime::db::Value::from(self.{{ field.rust_name }})));
{%- endif %}
{%- endfor %}
        columns
    }
}

impl ::appc_runtime::db::IntoColumns for {{ entity.update_name }} {
    fn into_columns(self) -> ::std::vec::Vec<(&'static str, ::appc_runtime::db::Value)> {
        let mut columns = ::std::vec::Vec::new();
{%- for field in entity.fields %}
        if let ::std::option::Option::Some(value) = self.{{ field.rust_name }} {
            columns.push(({{ field.column }}, ::appc_runtime::db::Value::from(value)));
        }
{%- endfor %}
        columns
    }
}
{%- endfor %}
