//! The `type` declarations of `main.wasp` as serde structs: the payloads of socket events and the
//! typed handshakes. Field names travel as written in the spec.
{%- for record in records %}

/// `type {{ record.name }}` in `main.wasp`.
#[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq, ::serde::Serialize, ::serde::Deserialize)]
pub struct {{ record.name }} {
{%- for field in record.fields %}
{%- if let Some(rename) = field.serde_rename %}
    #[serde(rename = "{{ rename }}")]
{%- endif %}
    pub {{ field.rust_name }}: {{ field.field_type|rust_type }},
{%- endfor %}
}
{%- endfor %}
