//! The entities of `main.wasp`: one struct per entity with its scalar fields, a `New*` struct
//! for inserts and an `*Update` struct for partial updates. Each entity has one `Column` const
//! per field (`Message::TEXT`), whose comparisons make the filters and orders of typed queries,
//! one `by_*` function per unique constraint (`User::by_username`) for `find_unique`, and one
//! const per relation field (`Message::USER`, `User::MESSAGES`) that `load` and
//! `find_many_with` take to fetch the related rows of many rows in one query. Handlers reach
//! the tables through `ctx.entities`; each table offers `find`, `find_unique`, `find_many`,
//! `find_first`, `count`, `exists`, `create`, `update`, `update_many`, `delete` and
//! `delete_many` (see `appc_runtime::Table`).
{#- The Rust type of a column in the entity struct: `Option` for `?`. -#}
{%- macro column_type(field) -%}
{%- if field.optional -%}
::std::option::Option<{{ field.scalar|column_type }}>
{%- else -%}
{{ field.scalar|column_type }}
{%- endif -%}
{%- endmacro -%}

{#- A column's `ColumnSchema`: its name and SQL type, then one builder call per attribute. -#}
{%- macro column_schema(field) -%}
::appc_runtime::codegen::ColumnSchema::new({{ field.column|rust_string }}, ::appc_runtime::codegen::SqlType::{{ field.scalar|sql_type }})
{%- if field.primary_key %}.primary_key(){% endif -%}
{%- if field.optional %}.nullable(){% endif -%}
{%- if field.unique %}.unique(){% endif -%}
{%- if field.updated_at %}.updated_at(){% endif -%}
{%- if field.big_int %}.json_string(){% endif -%}
{%- if let Some(default) = field.default %}.default({% call column_default(default) %}{% endcall %}){% endif -%}
{%- if let Some(foreign_key) = field.references %}.references({{ foreign_key.table|rust_string }}, {{ foreign_key.column|rust_string }})
{%- if let Some(action) = foreign_key.on_delete %}.on_delete({% call referential_action(action) %}{% endcall %}){% endif -%}
{%- if let Some(action) = foreign_key.on_update %}.on_update({% call referential_action(action) %}{% endcall %}){% endif -%}
{%- endif -%}
{%- endmacro -%}

{#- An `onDelete:`/`onUpdate:` of `@relation` as the runtime's `ReferentialAction`. -#}
{%- macro referential_action(action) -%}
{%- match action -%}
{%- when ReferentialAction::Cascade -%}
::appc_runtime::codegen::ReferentialAction::Cascade
{%- when ReferentialAction::Restrict -%}
::appc_runtime::codegen::ReferentialAction::Restrict
{%- when ReferentialAction::NoAction -%}
::appc_runtime::codegen::ReferentialAction::NoAction
{%- when ReferentialAction::SetNull -%}
::appc_runtime::codegen::ReferentialAction::SetNull
{%- when ReferentialAction::SetDefault -%}
::appc_runtime::codegen::ReferentialAction::SetDefault
{%- endmatch -%}
{%- endmacro -%}

{#- A column's `@default(...)` as the runtime's `ColumnDefault`. The runtime has no cuid
    generator; a random UUID is unique in the same way. -#}
{%- macro column_default(default) -%}
{%- match default -%}
{%- when DefaultValue::Autoincrement -%}
::appc_runtime::codegen::ColumnDefault::Autoincrement
{%- when DefaultValue::Now -%}
::appc_runtime::codegen::ColumnDefault::Now
{%- when DefaultValue::Uuid -%}
::appc_runtime::codegen::ColumnDefault::Uuid
{%- when DefaultValue::Cuid -%}
::appc_runtime::codegen::ColumnDefault::Uuid
{%- when DefaultValue::String(text) -%}
::appc_runtime::codegen::ColumnDefault::Value(::appc_runtime::Value::from({{ text|rust_string }}))
{%- when DefaultValue::Int(number) -%}
::appc_runtime::codegen::ColumnDefault::Value(::appc_runtime::Value::from({{ number }}_i64))
{%- when DefaultValue::Float(number) -%}
::appc_runtime::codegen::ColumnDefault::Value(::appc_runtime::Value::from({{ number|rust_f64 }}))
{%- when DefaultValue::Bool(flag) -%}
::appc_runtime::codegen::ColumnDefault::Value(::appc_runtime::Value::from({{ flag }}))
{%- endmatch -%}
{%- endmacro %}
{%- for entity in entities %}

/// A row of the `{{ entity.name }}` table (`entity {{ entity.name }}` in `main.wasp`).
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq, ::serde::Serialize, ::serde::Deserialize)]
pub struct {{ entity.name }} {
{%- for field in entity.fields %}
{%- if let Some(rename) = field.serde_rename %}
    #[serde(rename = "{{ rename }}")]
{%- endif %}
{%- if field.big_int %}
    #[serde(with = "::appc_runtime::codegen::{% if field.optional %}optional_big_int{% else %}big_int{% endif %}")]
{%- endif %}
    pub {{ field.rust_name }}: {% call column_type(field) %}{% endcall %},
{%- endfor %}
}

/// A new `{{ entity.name }}` row, for `create`.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::default::Default)]
pub struct New{{ entity.name }} {
{%- for field in entity.fields %}
{%- if !field.doc.is_empty() %}
    /// {{ field.doc }}
{%- endif %}
{%- if field.insert_optional %}
    pub {{ field.rust_name }}: ::std::option::Option<{{ field.scalar|column_type }}>,
{%- else %}
    pub {{ field.rust_name }}: {{ field.scalar|column_type }},
{%- endif %}
{%- endfor %}
}

/// Changes to a `{{ entity.name }}` row, for `update`: only `Some` fields are written.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::default::Default)]
pub struct {{ entity.name }}Update {
{%- for field in entity.fields %}
    pub {{ field.rust_name }}: ::std::option::Option<{% call column_type(field) %}{% endcall %}>,
{%- endfor %}
}

/// The columns of `{{ entity.name }}`, for typed queries, and its unique keys, for `find_unique`.
impl {{ entity.name }} {
{%- for field in entity.fields %}
    /// The `{{ field.column }}` column.
    pub const {{ field.const_name }}: ::appc_runtime::Column<{{ entity.name }}, {% call column_type(field) %}{% endcall %}> =
        ::appc_runtime::codegen::column({{ field.column|rust_string }});
{%- endfor %}
{%- for key in entity.unique_keys %}

    /// The row with the given {% for field in key.fields %}`{{ field.column }}`{% if !loop.last %} and {% endif %}{% endfor %} ({{ key.origin }}), for `find_unique`.
    pub fn {{ key.function_name }}({% for field in key.fields %}{{ field.rust_name }}: impl ::std::convert::Into<{{ field.scalar|column_type }}>{% if !loop.last %}, {% endif %}{% endfor %}) -> ::appc_runtime::UniqueKey<{{ entity.name }}> {
{%- for field in key.fields %}
        let {{ field.rust_name }}: {{ field.scalar|column_type }} = {{ field.rust_name }}.into();
{%- endfor %}
        ::appc_runtime::codegen::unique_key(
            {% for field in key.fields %}{% if !loop.first %}.and({% endif %}{{ entity.name }}::{{ field.const_name }}.eq({{ field.rust_name }}){% if !loop.first %}){% endif %}{% endfor %},
        )
    }
{%- endfor %}
}

static {{ entity.schema_static }}: ::std::sync::LazyLock<::appc_runtime::codegen::TableSchema> =
    ::std::sync::LazyLock::new(|| {
        ::appc_runtime::codegen::TableSchema::new({{ entity.table|rust_string }})
{%- for field in entity.fields %}
            .column({% call column_schema(field) %}{% endcall %})
{%- endfor %}
{%- for index in entity.indexes %}
{%- if index.origin == IndexOrigin::ForeignKey %}
            // The foreign key's index: finds the rows that point at one row.
{%- endif %}
            .{% if index.unique %}unique_index{% else %}index{% endif %}(&[{% for field in index.fields %}{{ field|rust_string }}{% if !loop.last %}, {% endif %}{% endfor %}])
{%- endfor %}
    });

impl ::appc_runtime::codegen::Entity for {{ entity.name }} {
    type Id = {{ entity.id_scalar|column_type }};
    type New = New{{ entity.name }};
    type Update = {{ entity.name }}Update;

    fn schema() -> &'static ::appc_runtime::codegen::TableSchema {
        &{{ entity.schema_static }}
    }

    fn from_row(row: &::appc_runtime::Row) -> ::std::result::Result<Self, ::appc_runtime::DbError> {
        ::std::result::Result::Ok({{ entity.name }} {
{%- for field in entity.fields %}
            {{ field.rust_name }}: row.get({{ field.column|rust_string }})?,
{%- endfor %}
        })
    }
}

impl ::appc_runtime::codegen::IntoColumns for New{{ entity.name }} {
    fn into_columns(self) -> ::std::vec::Vec<(&'static str, ::appc_runtime::Value)> {
        let mut columns = ::std::vec::Vec::new();
{%- for field in entity.fields %}
{%- if field.insert_optional %}
        if let ::std::option::Option::Some(value) = self.{{ field.rust_name }} {
            columns.push(({{ field.column|rust_string }}, ::appc_runtime::Value::from(value)));
        }
{%- else %}
        columns.push(({{ field.column|rust_string }}, ::appc_runtime::Value::from(self.{{ field.rust_name }})));
{%- endif %}
{%- endfor %}
        columns
    }
}

impl ::appc_runtime::codegen::IntoColumns for {{ entity.name }}Update {
    fn into_columns(self) -> ::std::vec::Vec<(&'static str, ::appc_runtime::Value)> {
        let mut columns = ::std::vec::Vec::new();
{%- for field in entity.fields %}
        if let ::std::option::Option::Some(value) = self.{{ field.rust_name }} {
            columns.push(({{ field.column|rust_string }}, ::appc_runtime::Value::from(value)));
        }
{%- endfor %}
        columns
    }
}
{%- if !entity.relations.is_empty() %}

/// The relations of `{{ entity.name }}`, for `load` and `find_many_with`: one query per relation,
/// whatever the number of rows.
impl {{ entity.name }} {
{%- for relation in entity.relations %}
{%- if !loop.first %}
{% endif %}
    /// `{{ relation.spec_name }}`: {{ relation.doc.0 }}
    /// {{ relation.doc.1 }}
    pub const {{ relation.const_name }}: ::appc_runtime::Relation<{{ entity.name }}, {{ relation.target }}, ::appc_runtime::{% if relation.to_many %}ToMany{% else %}ToOne{% endif %}> =
        ::appc_runtime::codegen::relation(
            {{ relation.spec_name|rust_string }},
            &[{% for column in relation.local_columns %}{{ column|rust_string }}{% if !loop.last %}, {% endif %}{% endfor %}],
            &[{% for column in relation.remote_columns %}{{ column|rust_string }}{% if !loop.last %}, {% endif %}{% endfor %}],
            |row| ::std::vec![{% for field in relation.local_fields %}::appc_runtime::codegen::key_value(&row.{{ field }}){% if !loop.last %}, {% endif %}{% endfor %}],
        );
{%- endfor %}
}
{%- endif %}
{%- endfor %}
