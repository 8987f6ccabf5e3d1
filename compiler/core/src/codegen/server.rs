//! The server generator: from the IR, the cargo workspace in `.appc/out/` and the server crate in
//! `.appc/out/server/` (its `Cargo.toml`, `main.rs` with the team's setup function, middleware and
//! seeds wired in, and the `crate::app` module with entities, records, the hooks' context
//! (`crate::app::server`) and one typed socket module per namespace; with pages, a build script
//! that embeds the bundled web client and the module that serves it).
//!
//! Each item kind has one askama template in `templates/server/`; this module only builds their
//! view models (plain strings and lists, computed with [`rust_names`](super::rust_names)).

use super::GeneratedFile;
use super::runtime_bundle;
use super::rust_names::{
    ENTITIES_MODULE, TYPES_MODULE, escape_keyword, payload_type, scalar_type, snake_identifier,
    sql_type, string_literal,
};
use super::web;
use crate::analysis::ir::{
    AppSpec, DatabaseSystem, DefaultValue, Encoding, Entity, EntityFieldKind, Event, Namespace,
    RecordType, ScalarType, ServerFunction,
};
use askama::Template;
use heck::{ToKebabCase, ToShoutySnakeCase};
use std::collections::BTreeSet;

/// What the generator needs besides the IR.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The team's Rust files under `src/server/`, relative to the project root with `/`
    /// separators (`src/server/chat.rs`); each becomes a module of the crate.
    pub team_files: Vec<String>,
}

/// The folder of the server crate inside the output folder.
pub const SERVER_DIR: &str = "server";

/// How the server crate's sources reach the project root: `main.rs` is in
/// `.appc/out/server/src/`, four levels below it. The CLI strips this prefix from compiler
/// messages so they name the team's files as `src/server/chat.rs`.
pub const TEAM_FILE_PREFIX: &str = "../../../../";

/// The generated workspace, the server crate and the runtime crate; paths are relative to
/// `.appc/out/`. (The lockfile is separate: see [`runtime_bundle::workspace_lockfile`].)
pub fn generate(spec: &AppSpec, options: &ServerOptions) -> Vec<GeneratedFile> {
    let package_name = package_name(spec);
    let namespaces: Vec<NamespaceView> = spec.namespaces.iter().map(NamespaceView::new).collect();
    let mut files = vec![
        GeneratedFile::new(
            "Cargo.toml",
            render(&WorkspaceManifest {
                shared_sections: runtime_bundle::shared_manifest_sections(),
            }),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/Cargo.toml"),
            render(&ServerManifest {
                package_name: package_name.clone(),
                binary_name: binary_name(spec),
            }),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/main.rs"),
            render(&MainRs::new(spec, options, &namespaces)),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/mod.rs"),
            render(&AppModule {
                app_name: spec.app.name.clone(),
                namespaces: namespaces.clone(),
            }),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/entities.rs"),
            render(&EntitiesModule {
                entities: spec.entities.iter().map(EntityView::new).collect(),
            }),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/server.rs"),
            render(&ServerHooksModule::new(spec)),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/types.rs"),
            render(&TypesModule {
                records: spec.types.iter().map(RecordView::new).collect(),
            }),
        ),
    ];
    for namespace in namespaces {
        files.push(GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/{}.rs", namespace.file_stem),
            render(&namespace),
        ));
    }
    if web::has_web_client(spec) {
        // The bundled web client goes into the binary: a build script lists its files.
        let app_name = spec.app.name.clone();
        files.push(GeneratedFile::new(
            format!("{SERVER_DIR}/build.rs"),
            render(&BuildScript {
                app_name: app_name.clone(),
            }),
        ));
        files.push(GeneratedFile::new(
            format!("{SERVER_DIR}/src/appc_web_client.rs"),
            render(&WebClientModule {
                app_name,
                base_path_literal: format!("{:?}", web::base_path(spec)),
                base_location_literal: format!("{:?}", format!("{}/", web::base_path(spec))),
            }),
        ));
    }
    files.extend(runtime_bundle::runtime_files());
    files
}

/// The name of the compiled binary in the target folder; it is unique per app so that two apps
/// sharing a target folder do not overwrite each other's binary. `appc build` copies it to
/// `.appc/build/server`.
pub fn binary_name(spec: &AppSpec) -> String {
    format!("{}-server", spec.app.name.to_kebab_case())
}

fn package_name(spec: &AppSpec) -> String {
    binary_name(spec)
}

/// Renders a template. The templates are compiled with the binary and their inputs are plain
/// strings, so rendering can only fail on a bug in a template, which tests would catch.
fn render(template: &impl Template) -> String {
    template
        .render()
        .unwrap_or_else(|error| panic!("a server template failed to render: {error}"))
}

#[derive(Template)]
#[template(path = "server/build.rs", escape = "none")]
struct BuildScript {
    app_name: String,
}

#[derive(Template)]
#[template(path = "server/web_client.rs", escape = "none")]
struct WebClientModule {
    app_name: String,
    /// `client.baseDir` without a trailing `/` (`""` at the root), as a Rust string literal.
    base_path_literal: String,
    /// The same with a trailing `/`, where `/` redirects to, as a Rust string literal.
    base_location_literal: String,
}

#[derive(Template)]
#[template(path = "server/workspace.toml", escape = "none")]
struct WorkspaceManifest {
    shared_sections: String,
}

#[derive(Template)]
#[template(path = "server/server.toml", escape = "none")]
struct ServerManifest {
    package_name: String,
    binary_name: String,
}

/// A team file compiled into the crate as a module.
#[derive(Debug, Clone)]
struct TeamModule {
    name: String,
    /// The `#[path]` from `main.rs` to the team's file.
    path_from_main: String,
    /// The file relative to the project root, for the comment.
    file: String,
}

#[derive(Template)]
#[template(path = "server/main.rs", escape = "none")]
struct MainRs {
    app_name: String,
    team_modules: Vec<TeamModule>,
    /// The user entity's schema (a path to its `schema()`), with auth.
    user_table: Option<String>,
    /// Entity schemas to migrate, referenced tables first, without the user entity.
    tables: Vec<String>,
    db_system: &'static str,
    encoding: &'static str,
    namespace_modules: Vec<String>,
    /// Whether the app has a web client, which the binary embeds and serves.
    web_client: bool,
    /// `server.setupFn`.
    setup: Option<HookView>,
    /// `server.middlewareConfigFn`.
    middleware: Option<HookView>,
    /// `db.seeds`, in the spec's order.
    seeds: Vec<HookView>,
}

/// One of the team's server hooks (`server.setupFn`, `server.middlewareConfigFn`, a seed).
#[derive(Debug, Clone)]
struct HookView {
    /// The function's name, which is also the seed's name for `appc db seed --name`.
    name: String,
    name_literal: String,
    /// The team's file, relative to the project root.
    file: String,
    file_literal: String,
    /// The function as a path from the crate root, e.g. `crate::seeds::seed_dev_data`.
    path: String,
}

impl HookView {
    fn new(function: &ServerFunction) -> Self {
        HookView {
            name: function.function.clone(),
            name_literal: string_literal(&function.function),
            file: function.file.clone(),
            file_literal: string_literal(&function.file),
            path: team_function_path(function),
        }
    }
}

/// The path from the crate root to a function in the team's code: each team file is a module
/// named after its file (`src/server/chat.rs` is `crate::chat`).
fn team_function_path(function: &ServerFunction) -> String {
    let team_module = function
        .file
        .rsplit('/')
        .next()
        .unwrap_or(&function.file)
        .trim_end_matches(".rs")
        .to_owned();
    format!(
        "crate::{}::{}",
        escape_keyword(team_module),
        function.function
    )
}

/// `crate::app::server`: the context of setup functions and seeds, with every entity.
#[derive(Template)]
#[template(path = "server/server_hooks.rs", escape = "none")]
struct ServerHooksModule {
    entities: Vec<EntityFieldView>,
    setup: Option<HookView>,
    middleware: Option<HookView>,
    seeds: Vec<HookView>,
}

impl ServerHooksModule {
    fn new(spec: &AppSpec) -> Self {
        ServerHooksModule {
            entities: spec
                .entities
                .iter()
                .map(|entity| EntityFieldView {
                    field: snake_identifier(&entity.name),
                    entity: entity.name.clone(),
                })
                .collect(),
            setup: spec.server.setup_fn.as_ref().map(HookView::new),
            middleware: spec.server.middleware_config_fn.as_ref().map(HookView::new),
            seeds: spec.db.seeds.iter().map(HookView::new).collect(),
        }
    }
}

impl MainRs {
    fn new(spec: &AppSpec, options: &ServerOptions, namespaces: &[NamespaceView]) -> Self {
        let team_modules = options
            .team_files
            .iter()
            .map(|file| {
                let stem = file
                    .rsplit('/')
                    .next()
                    .unwrap_or(file)
                    .trim_end_matches(".rs");
                TeamModule {
                    name: escape_keyword(stem.to_owned()),
                    path_from_main: format!("{TEAM_FILE_PREFIX}{file}"),
                    file: file.clone(),
                }
            })
            .collect();
        let user_entity = spec.auth.as_ref().map(|auth| auth.user_entity.clone());
        let tables = migration_order(&spec.entities)
            .into_iter()
            .filter(|name| Some(name) != user_entity.as_ref())
            .map(|name| entity_schema_path(&name))
            .collect();
        // A Socket.IO server has one parser for all its namespaces, so the first namespace (the
        // root webSocket when there is one) decides; a different `encoding` on a later namespace
        // is not honoured yet.
        let encoding = match spec.namespaces.first().map(|namespace| namespace.encoding) {
            Some(Encoding::Msgpack) => "MsgPack",
            _ => "Json",
        };
        MainRs {
            app_name: spec.app.name.clone(),
            team_modules,
            user_table: user_entity.map(|name| entity_schema_path(&name)),
            tables,
            db_system: match spec.db.system {
                DatabaseSystem::Sqlite => "Sqlite",
                DatabaseSystem::Postgresql => "Postgres",
            },
            encoding,
            namespace_modules: namespaces
                .iter()
                .map(|namespace| namespace.module.clone())
                .collect(),
            web_client: web::has_web_client(spec),
            setup: spec.server.setup_fn.as_ref().map(HookView::new),
            middleware: spec.server.middleware_config_fn.as_ref().map(HookView::new),
            seeds: spec.db.seeds.iter().map(HookView::new).collect(),
        }
    }
}

fn entity_schema_path(entity: &str) -> String {
    format!("<{ENTITIES_MODULE}::{entity} as ::appc_runtime::db::Entity>::schema()")
}

/// Entities ordered so that every table comes after the tables its foreign keys point at (the
/// runtime migrates in this order). Cycles, which SQL cannot create in one pass anyway, keep the
/// spec's order.
fn migration_order(entities: &[Entity]) -> Vec<String> {
    let mut ordered: Vec<String> = Vec::new();
    let mut remaining: Vec<&Entity> = entities.iter().collect();
    while !remaining.is_empty() {
        let placed: BTreeSet<&str> = ordered.iter().map(String::as_str).collect();
        let ready = remaining.iter().position(|entity| {
            foreign_key_targets(entity)
                .all(|target| target == entity.name || placed.contains(target))
        });
        let next = remaining.remove(ready.unwrap_or(0));
        ordered.push(next.name.clone());
    }
    ordered
}

fn foreign_key_targets(entity: &Entity) -> impl Iterator<Item = &str> {
    entity.fields.iter().filter_map(|field| match &field.kind {
        EntityFieldKind::Relation(relation) if !relation.fields.is_empty() => {
            Some(relation.target_entity.as_str())
        }
        _ => None,
    })
}

#[derive(Template)]
#[template(path = "server/app_mod.rs", escape = "none")]
struct AppModule {
    app_name: String,
    namespaces: Vec<NamespaceView>,
}

#[derive(Template)]
#[template(path = "server/entities.rs", escape = "none")]
struct EntitiesModule {
    entities: Vec<EntityView>,
}

#[derive(Debug, Clone)]
struct EntityView {
    name: String,
    new_name: String,
    update_name: String,
    schema_static: String,
    id_type: String,
    fields: Vec<ColumnView>,
}

#[derive(Debug, Clone)]
struct ColumnView {
    rust_name: String,
    column: String,
    /// `Some(column)` when the Rust name differs from the column name.
    serde_rename: Option<String>,
    /// The module that (de)serializes the field, for `BigInt` (as a string).
    serde_with: Option<&'static str>,
    /// The field type in the entity struct (with `Option` for `?`).
    rust_type: String,
    /// Whether the column may be left out on insert (`?`, a default or `@updatedAt`).
    insert_optional: bool,
    /// The type in the `New*` struct.
    insert_type: String,
    /// The `ColumnSchema` builder expression.
    schema: String,
    doc: String,
}

impl EntityView {
    fn new(entity: &Entity) -> Self {
        let foreign_keys: Vec<(String, String, String)> = entity
            .fields
            .iter()
            .filter_map(|field| match &field.kind {
                EntityFieldKind::Relation(relation) => Some(
                    relation
                        .fields
                        .iter()
                        .zip(&relation.references)
                        .map(|(column, referenced)| {
                            (
                                column.clone(),
                                relation.target_entity.clone(),
                                referenced.clone(),
                            )
                        })
                        .collect::<Vec<_>>(),
                ),
                EntityFieldKind::Scalar { .. } => None,
            })
            .flatten()
            .collect();
        let mut id_type = "i64".to_owned();
        let fields = entity
            .fields
            .iter()
            .filter_map(|field| {
                let EntityFieldKind::Scalar { scalar } = &field.kind else {
                    return None;
                };
                let base = scalar_type(*scalar);
                if field.is_id {
                    id_type = base.to_owned();
                }
                let rust_type = if field.optional {
                    format!("::std::option::Option<{base}>")
                } else {
                    base.to_owned()
                };
                let insert_optional =
                    field.optional || field.default.is_some() || field.is_updated_at;
                let insert_type = if insert_optional {
                    format!("::std::option::Option<{base}>")
                } else {
                    base.to_owned()
                };
                let mut schema = format!(
                    "::appc_runtime::db::ColumnSchema::new({}, ::appc_runtime::db::SqlType::{})",
                    string_literal(&field.name),
                    sql_type(*scalar)
                );
                if field.is_id {
                    schema.push_str(".primary_key()");
                }
                if field.optional {
                    schema.push_str(".nullable()");
                }
                if field.is_unique {
                    schema.push_str(".unique()");
                }
                if field.is_updated_at {
                    schema.push_str(".updated_at()");
                }
                // A `BigInt` beyond 2^53 would lose precision as a JavaScript number, so it
                // travels as a string, in the entity struct and in the auth routes' user alike.
                let big_int = *scalar == ScalarType::BigInt;
                if big_int {
                    schema.push_str(".json_string()");
                }
                if let Some(default) = &field.default {
                    schema.push_str(&format!(".default({})", column_default(default)));
                }
                if let Some((_, table, column)) = foreign_keys
                    .iter()
                    .find(|(column, _, _)| *column == field.name)
                {
                    schema.push_str(&format!(
                        ".references({}, {})",
                        string_literal(table),
                        string_literal(column)
                    ));
                }
                let rust_name = snake_identifier(&field.name);
                let bare_name = rust_name.trim_start_matches("r#");
                let doc =
                    describe_column(field.optional, field.default.as_ref(), field.is_updated_at);
                Some(ColumnView {
                    serde_rename: (bare_name != field.name).then(|| field.name.clone()),
                    serde_with: big_int.then_some(if field.optional {
                        "::appc_runtime::json::optional_big_int"
                    } else {
                        "::appc_runtime::json::big_int"
                    }),
                    rust_name,
                    column: string_literal(&field.name),
                    rust_type,
                    insert_optional,
                    insert_type,
                    schema,
                    doc,
                })
            })
            .collect();
        EntityView {
            name: entity.name.clone(),
            new_name: format!("New{}", entity.name),
            update_name: format!("{}Update", entity.name),
            schema_static: format!("{}_SCHEMA", entity.name.to_shouty_snake_case()),
            id_type,
            fields,
        }
    }
}

fn column_default(default: &DefaultValue) -> String {
    let value = |expression: String| {
        format!(
            "::appc_runtime::db::ColumnDefault::Value(::appc_runtime::db::Value::from({expression}))"
        )
    };
    match default {
        DefaultValue::Autoincrement => {
            "::appc_runtime::db::ColumnDefault::Autoincrement".to_owned()
        }
        DefaultValue::Now => "::appc_runtime::db::ColumnDefault::Now".to_owned(),
        // The runtime has no cuid generator; a random UUID is unique in the same way.
        DefaultValue::Uuid | DefaultValue::Cuid => {
            "::appc_runtime::db::ColumnDefault::Uuid".to_owned()
        }
        DefaultValue::String(text) => value(string_literal(text)),
        DefaultValue::Int(number) => value(format!("{number}_i64")),
        DefaultValue::Float(number) => value(format!("{number:?}_f64")),
        DefaultValue::Bool(flag) => value(flag.to_string()),
    }
}

fn describe_column(optional: bool, default: Option<&DefaultValue>, updated_at: bool) -> String {
    if updated_at {
        "`None` lets the runtime set the current time (`@updatedAt`).".to_owned()
    } else if let Some(default) = default {
        let what = match default {
            DefaultValue::Autoincrement => "the database assign the next number".to_owned(),
            DefaultValue::Now => "the runtime store the current time".to_owned(),
            DefaultValue::Uuid | DefaultValue::Cuid => {
                "the runtime generate a random id".to_owned()
            }
            DefaultValue::String(text) => format!("the default {text:?} apply"),
            DefaultValue::Int(number) => format!("the default {number} apply"),
            DefaultValue::Float(number) => format!("the default {number} apply"),
            DefaultValue::Bool(flag) => format!("the default {flag} apply"),
        };
        format!("`None` lets {what}.")
    } else if optional {
        "`None` stores NULL.".to_owned()
    } else {
        String::new()
    }
}

#[derive(Template)]
#[template(path = "server/types.rs", escape = "none")]
struct TypesModule {
    records: Vec<RecordView>,
}

#[derive(Debug, Clone)]
struct RecordView {
    name: String,
    fields: Vec<RecordFieldView>,
}

#[derive(Debug, Clone)]
struct RecordFieldView {
    rust_name: String,
    serde_rename: Option<String>,
    rust_type: String,
}

impl RecordView {
    fn new(record: &RecordType) -> Self {
        RecordView {
            name: record.name.clone(),
            fields: record
                .fields
                .iter()
                .map(|field| {
                    let rust_name = snake_identifier(&field.name);
                    let bare_name = rust_name.trim_start_matches("r#");
                    RecordFieldView {
                        serde_rename: (bare_name != field.name).then(|| field.name.clone()),
                        rust_name,
                        rust_type: payload_type(&field.field_type),
                    }
                })
                .collect(),
        }
    }
}

/// One namespace's typed socket module.
#[derive(Template, Debug, Clone)]
#[template(path = "server/namespace.rs", escape = "none")]
struct NamespaceView {
    /// The declaration name (`webSocket`, `Inbox`).
    name: String,
    /// The module name (`web_socket`), also its path under `crate::app`.
    module: String,
    file_stem: String,
    path: String,
    path_literal: String,
    /// The team's function, as a path from the crate root.
    function: String,
    function_file: String,
    entities: Vec<EntityFieldView>,
    auth_required: bool,
    handshake: Option<String>,
    handshake_name: String,
    encoding: &'static str,
    client_events: Vec<EventView>,
    server_events: Vec<EventView>,
}

#[derive(Debug, Clone)]
struct EntityFieldView {
    field: String,
    entity: String,
}

#[derive(Debug, Clone)]
struct EventView {
    /// The event name on the wire.
    name: String,
    name_literal: String,
    /// The event name as a snake_case method suffix.
    method: String,
    payload_type: String,
    payload_description: String,
    ack_type: Option<String>,
}

impl EventView {
    fn new(event: &Event) -> Self {
        EventView {
            name: event.name.clone(),
            name_literal: string_literal(&event.name),
            method: snake_identifier(&event.name)
                .trim_start_matches("r#")
                .to_owned(),
            payload_type: payload_type(&event.payload),
            payload_description: describe_type(&event.payload),
            ack_type: event.ack.as_ref().map(payload_type),
        }
    }
}

fn describe_type(type_ref: &crate::analysis::ir::TypeRef) -> String {
    use crate::analysis::ir::TypeRef;
    match type_ref {
        TypeRef::String => "String".to_owned(),
        TypeRef::Int => "Int".to_owned(),
        TypeRef::Float => "Float".to_owned(),
        TypeRef::Bool => "Bool".to_owned(),
        TypeRef::DateTime => "DateTime".to_owned(),
        TypeRef::Json => "Json".to_owned(),
        TypeRef::Entity { name } | TypeRef::Record { name } => name.clone(),
        TypeRef::List { item } => format!("[{}]", describe_type(item)),
        TypeRef::Optional { inner } => format!("{}?", describe_type(inner)),
    }
}

/// Module names the generated `crate::app` module already uses.
const RESERVED_MODULES: &[&str] = &["entities", "server", "types"];

/// The name of a namespace's module under `crate::app` (`webSocket` becomes `web_socket`).
pub fn namespace_module(namespace: &Namespace) -> String {
    let mut module = snake_identifier(&namespace.name)
        .trim_start_matches("r#")
        .to_owned();
    if RESERVED_MODULES.contains(&module.as_str()) {
        module.push_str("_namespace");
    }
    module
}

impl NamespaceView {
    fn new(namespace: &Namespace) -> Self {
        let module = namespace_module(namespace);
        NamespaceView {
            name: namespace.name.clone(),
            file_stem: module.clone(),
            module,
            path: namespace.path.clone(),
            path_literal: string_literal(&namespace.path),
            function: team_function_path(&namespace.function),
            function_file: namespace.function.file.clone(),
            entities: namespace
                .entities
                .iter()
                .map(|entity| EntityFieldView {
                    field: snake_identifier(entity),
                    entity: entity.clone(),
                })
                .collect(),
            auth_required: namespace.auth_required,
            handshake_name: namespace.handshake.clone().unwrap_or_default(),
            handshake: namespace
                .handshake
                .as_ref()
                .map(|name| format!("{TYPES_MODULE}::{name}")),
            encoding: match namespace.encoding {
                Encoding::Json => "json",
                Encoding::Msgpack => "msgpack",
            },
            client_events: namespace
                .client_to_server
                .iter()
                .map(EventView::new)
                .collect(),
            server_events: namespace
                .server_to_client
                .iter()
                .map(EventView::new)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namespace_named(name: &str) -> Namespace {
        Namespace {
            name: name.to_owned(),
            path: format!("/{}", name.to_lowercase()),
            function: ServerFunction {
                file: "src/server/sockets.rs".to_owned(),
                function: "socket".to_owned(),
                is_async: true,
            },
            entities: Vec::new(),
            auth_required: false,
            auto_connect: true,
            handshake: None,
            encoding: Encoding::Json,
            client_to_server: Vec::new(),
            server_to_client: Vec::new(),
        }
    }

    #[test]
    fn namespaces_never_take_the_generated_modules_names() {
        // `crate::app::server` holds the hooks' context; a namespace `Server` must not replace it.
        assert_eq!(
            namespace_module(&namespace_named("Server")),
            "server_namespace"
        );
        assert_eq!(
            namespace_module(&namespace_named("Types")),
            "types_namespace"
        );
        assert_eq!(
            namespace_module(&namespace_named("ChatRooms")),
            "chat_rooms"
        );
    }

    #[test]
    fn team_functions_are_reached_through_their_files_modules() {
        let function = ServerFunction {
            file: "src/server/type.rs".to_owned(),
            function: "seed_dev_data".to_owned(),
            is_async: true,
        };
        assert_eq!(
            team_function_path(&function),
            "crate::r#type::seed_dev_data"
        );
    }
}
