//! The `type` declarations of `main.wasp` as serde structs: the payloads of socket events and the
//! typed handshakes. Field names travel as written in the spec.
//!
//! Beside each struct, and for every entity, its spec type (`SpecType`): what the runtime checks
//! a received payload against before serde decodes it, so that a wrong one is answered in the
//! spec's words (`lines[2].text: expected String, found null`) and a field's `maxLength` holds
//! before any handler runs.
{%- for record in records %}

/// `type {{ record.name }}` in `main.wasp`.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq, ::serde::Serialize, ::serde::Deserialize)]
pub struct {{ record.name }} {
{%- for field in record.fields %}
{%- if let Some(doc) = field.doc %}
    /// {{ doc }}
{%- endif %}
{%- if let Some(rename) = field.serde_rename %}
    #[serde(rename = "{{ rename }}")]
{%- endif %}
    pub {{ field.rust_name }}: {{ field.field_type|rust_type }},
{%- endfor %}
}

impl ::appc_runtime::codegen::SpecType for {{ record.name }} {
    const SHAPE: ::appc_runtime::codegen::Shape = ::appc_runtime::codegen::Shape::Record(|| {
        static RECORD: ::appc_runtime::codegen::RecordShape = ::appc_runtime::codegen::RecordShape {
            name: {{ record.name|rust_string }},
            fields: &[
{%- for field in record.fields %}
                ::appc_runtime::codegen::FieldShape {
                    name: {{ field.name|rust_string }},
                    shape: <{{ field.field_type|rust_type }} as ::appc_runtime::codegen::SpecType>::SHAPE,
                    max_length: {{ field.max_length|rust_max_length }},
                },
{%- endfor %}
            ],
        };
        &RECORD
    });
}
{%- endfor %}
{%- for entity in entities %}

/// `entity {{ entity.name }}` as a payload: its scalar fields.
impl ::appc_runtime::codegen::SpecType for crate::app::entities::{{ entity.name }} {
    const SHAPE: ::appc_runtime::codegen::Shape = ::appc_runtime::codegen::Shape::Record(|| {
        static RECORD: ::appc_runtime::codegen::RecordShape = ::appc_runtime::codegen::RecordShape {
            name: {{ entity.name|rust_string }},
            fields: &[
{%- for field in entity.fields %}
                ::appc_runtime::codegen::FieldShape {
                    name: {{ field.field_name|rust_string }},
{%- if field.optional %}
                    shape: ::appc_runtime::codegen::Shape::Optional(&::appc_runtime::codegen::Shape::{{ field.scalar|shape_variant }}),
{%- else %}
                    shape: ::appc_runtime::codegen::Shape::{{ field.scalar|shape_variant }},
{%- endif %}
                    max_length: ::std::option::Option::None,
                },
{%- endfor %}
            ],
        };
        &RECORD
    });
}
{%- endfor %}
