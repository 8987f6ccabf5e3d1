//! The server generator: from the IR, the cargo workspace in `.appc/out/` and the server crate in
//! `.appc/out/server/` (its `Cargo.toml`, `main.rs` with the team's setup function, middleware and
//! seeds wired in, and the `crate::app` module with entities (each with a typed `Column` const
//! per field and a `by_*` unique key per unique constraint, for typed queries), records, the
//! hooks' context (`crate::app::server`), one typed socket module per namespace, the queries' and
//! actions' routes (`crate::app::operations`) and the apis' (`crate::app::apis`); with pages,
//! a build script that embeds the bundled web client and the module that serves it).
//!
//! Each item kind has one askama template in `templates/server/`, which writes all the Rust;
//! this module only builds their view models: names, flags and IR values, which the templates
//! turn into Rust with the filters of [`rust_names`](super::rust_names).

use super::GeneratedFile;
use super::runtime_bundle;
use super::rust_names::{escape_keyword, snake_identifier};
// askama looks for custom filters in a module named `filters` beside the template structs.
use super::rust_names as filters;
use super::web;
use crate::analysis::ir::{
    Api, AppSpec, DatabaseSystem, DefaultValue, Encoding, Entity, EntityFieldKind, EntityIndex,
    Event, HttpMethod, IndexOrigin, LiveScope, Namespace, Operation, OperationKind, RecordType,
    ReferentialAction, ScalarType, ServerFunction, TypeRef,
};
use askama::Template;
use heck::{ToKebabCase, ToShoutySnakeCase, ToUpperCamelCase};
use std::collections::BTreeSet;

/// What the generator needs besides the IR.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The team's Rust files under `src/server/`, relative to the project root with `/`
    /// separators (`src/server/chat.rs`); each becomes a module of the crate.
    pub team_files: Vec<String>,
    /// The folders of the project's `migrations/` (`20260101093000_init`), oldest first; each
    /// holds `sqlite.sql` and `postgresql.sql`, which the server embeds and applies at start-up.
    pub migrations: Vec<String>,
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
    let user_entity = spec.auth.as_ref().map(|auth| auth.user_entity.as_str());
    let namespaces: Vec<NamespaceView> = spec
        .namespaces
        .iter()
        .map(|namespace| NamespaceView::new(namespace, user_entity))
        .collect();
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
                postgres_tls: spec.db.system == DatabaseSystem::Postgresql,
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
                has_operations: !spec.operations.is_empty(),
                has_apis: has_apis(spec),
            }),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/entities.rs"),
            render(&EntitiesModule::new(spec)),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/server.rs"),
            render(&ServerHooksModule::new(spec)),
        ),
        GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/types.rs"),
            render(&TypesModule {
                records: spec.types.iter().map(RecordView::new).collect(),
                entities: spec
                    .entities
                    .iter()
                    .map(|entity| EntityView::new(spec, entity))
                    .collect(),
            }),
        ),
    ];
    files.push(GeneratedFile::new(
        format!("{SERVER_DIR}/src/appc_migrations.rs"),
        render(&MigrationsModule {
            migrations: options.migrations.clone(),
            prefix: TEAM_FILE_PREFIX,
        }),
    ));
    for namespace in namespaces {
        files.push(GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/{}.rs", namespace.file_stem),
            render(&namespace),
        ));
    }
    if !spec.operations.is_empty() {
        files.push(GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/operations.rs"),
            render(&OperationsModule::new(spec)),
        ));
    }
    if has_apis(spec) {
        files.push(GeneratedFile::new(
            format!("{SERVER_DIR}/src/app/apis.rs"),
            render(&ApisModule::new(spec)),
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
                base_path: web::base_path(spec),
            }),
        ));
    }
    files.extend(runtime_bundle::runtime_files());
    files
}

/// Whether the crate has `crate::app::apis`: for an api, or for an apiNamespace alone, whose
/// middleware function is then referenced (it has no api to wrap) so the team's code compiles
/// without an unused-function warning.
fn has_apis(spec: &AppSpec) -> bool {
    !spec.apis.is_empty() || !spec.api_namespaces.is_empty()
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
    /// `client.baseDir` without a trailing `/` (`""` at the root); the template adds the `/`
    /// for where `/` redirects to.
    base_path: String,
}

#[derive(Template)]
#[template(path = "server/migrations.rs", escape = "none")]
struct MigrationsModule {
    /// The migration folders, oldest first.
    migrations: Vec<String>,
    /// How `src/appc_migrations.rs` reaches the project root, where `migrations/` is.
    prefix: &'static str,
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
    /// Whether the runtime's `postgres-tls` feature is on: for apps whose spec says
    /// `db.system: PostgreSQL`, so SQLite apps do not compile rustls and ring.
    postgres_tls: bool,
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
    /// The user entity, with auth.
    user_entity: Option<String>,
    /// The entities whose tables to migrate, referenced tables first, without the user entity.
    tables: Vec<String>,
    db_system: DatabaseSystem,
    /// The Socket.IO server's encoding.
    encoding: Encoding,
    namespace_modules: Vec<String>,
    /// Whether the app has a web client, which the binary embeds and serves.
    web_client: bool,
    /// `server.setupFn`.
    setup: Option<TeamFunctionView>,
    /// `server.middlewareConfigFn`.
    middleware: Option<TeamFunctionView>,
    /// `db.seeds`, in the spec's order.
    seeds: Vec<TeamFunctionView>,
    /// Whether `crate::app::operations` exists (the spec has a query or an action).
    has_operations: bool,
    /// Whether `crate::app::apis` exists (the spec has an api or an apiNamespace).
    has_apis: bool,
    /// Whether a query is live (`crate::app::operations::live_queries` has any).
    has_live_queries: bool,
}

/// A function in the team's code (a socket `fn`, `server.setupFn`, `server.middlewareConfigFn`,
/// a seed); templates reach it as `crate::{{ module }}::{{ name }}`.
#[derive(Debug, Clone)]
struct TeamFunctionView {
    /// The function's name, which is also a seed's name for `appc db seed --name`.
    name: String,
    /// The module of its file under the crate root: each team file is a module named after
    /// its file (`src/server/chat.rs` is `crate::chat`).
    module: String,
    /// The team's file, relative to the project root.
    file: String,
    /// The line of the function's name in its file, for messages that point there.
    line: usize,
}

impl TeamFunctionView {
    fn new(function: &ServerFunction) -> Self {
        TeamFunctionView {
            name: function.function.clone(),
            module: team_module(&function.file),
            file: function.file.clone(),
            line: function.line,
        }
    }
}

/// The module of a team file (`src/server/type.rs` is `r#type`).
fn team_module(file: &str) -> String {
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs");
    escape_keyword(stem.to_owned())
}

/// `crate::app::server`: the context of setup functions and seeds, with every entity.
#[derive(Template)]
#[template(path = "server/server_hooks.rs", escape = "none")]
struct ServerHooksModule {
    entities: Vec<EntityFieldView>,
    setup: Option<TeamFunctionView>,
    middleware: Option<TeamFunctionView>,
    seeds: Vec<TeamFunctionView>,
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
            setup: spec.server.setup_fn.as_ref().map(TeamFunctionView::new),
            middleware: spec
                .server
                .middleware_config_fn
                .as_ref()
                .map(TeamFunctionView::new),
            seeds: spec.db.seeds.iter().map(TeamFunctionView::new).collect(),
        }
    }
}

impl MainRs {
    fn new(spec: &AppSpec, options: &ServerOptions, namespaces: &[NamespaceView]) -> Self {
        let team_modules = options
            .team_files
            .iter()
            .map(|file| TeamModule {
                name: team_module(file),
                path_from_main: format!("{TEAM_FILE_PREFIX}{file}"),
                file: file.clone(),
            })
            .collect();
        let user_entity = spec.auth.as_ref().map(|auth| auth.user_entity.clone());
        let tables = migration_order(&spec.entities)
            .into_iter()
            .filter(|name| Some(name) != user_entity.as_ref())
            .collect();
        // A Socket.IO server has one parser for all its namespaces, so the first namespace (the
        // root webSocket when there is one) decides; a different `encoding` on a later namespace
        // is not honoured yet.
        let encoding = spec
            .namespaces
            .first()
            .map_or(Encoding::Json, |namespace| namespace.encoding);
        MainRs {
            app_name: spec.app.name.clone(),
            team_modules,
            user_entity,
            tables,
            db_system: spec.db.system,
            encoding,
            namespace_modules: namespaces
                .iter()
                .map(|namespace| namespace.module.clone())
                .collect(),
            web_client: web::has_web_client(spec),
            setup: spec.server.setup_fn.as_ref().map(TeamFunctionView::new),
            middleware: spec
                .server
                .middleware_config_fn
                .as_ref()
                .map(TeamFunctionView::new),
            seeds: spec.db.seeds.iter().map(TeamFunctionView::new).collect(),
            has_operations: !spec.operations.is_empty(),
            has_apis: has_apis(spec),
            has_live_queries: spec.has_live_queries(),
        }
    }
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
    has_operations: bool,
    has_apis: bool,
}

/// `crate::app::operations`: every query and action, its context and its route.
#[derive(Template)]
#[template(path = "server/operations.rs", escape = "none")]
struct OperationsModule {
    operations: Vec<OperationView>,
    live_queries: Vec<LiveQueryView>,
}

/// A live query as `live_queries()` declares it to the runtime.
#[derive(Debug, Clone)]
struct LiveQueryView {
    name: String,
    /// Its `OperationSpec` static and its `call_` wrapper, shared with its HTTP route.
    const_name: String,
    snake_name: String,
    auth_required: bool,
    scoped_to_user: bool,
    /// The entities it reads (their structs live in `crate::app::entities`).
    entities: Vec<String>,
}

impl LiveQueryView {
    /// The view of a live query; `None` for an operation that is not one.
    fn new(operation: &Operation) -> Option<Self> {
        let scope = operation.live?;
        let bare_snake = bare_snake_name(&operation.name);
        Some(LiveQueryView {
            name: operation.name.clone(),
            const_name: bare_snake.to_uppercase(),
            snake_name: bare_snake,
            auth_required: operation.auth_required,
            scoped_to_user: scope == LiveScope::User,
            entities: operation.entities.clone(),
        })
    }
}

impl OperationsModule {
    fn new(spec: &AppSpec) -> Self {
        let user_entity = spec.auth.as_ref().map(|auth| auth.user_entity.as_str());
        OperationsModule {
            operations: spec
                .operations
                .iter()
                .map(|operation| OperationView::new(operation, user_entity))
                .collect(),
            live_queries: spec
                .operations
                .iter()
                .filter_map(LiveQueryView::new)
                .collect(),
        }
    }
}

/// One query or action.
#[derive(Debug, Clone)]
struct OperationView {
    /// The declaration name (`getTasks`).
    name: String,
    /// `query` or `action`, as `main.wasp` writes it.
    keyword: &'static str,
    /// The name in snake_case (`get_tasks`): its handler and wrapper functions.
    snake_name: String,
    /// The name in SCREAMING_SNAKE_CASE (`GET_TASKS`): its `OperationSpec` static.
    const_name: String,
    /// The name in UpperCamelCase (`GetTasks`): its `Entities` and `Context` types.
    type_prefix: String,
    /// `/operations/get-tasks`.
    route_path: String,
    function: TeamFunctionView,
    entities: Vec<EntityFieldView>,
    auth_required: bool,
    /// The app's user entity; `None` without auth.
    user_entity: Option<String>,
    input: Option<TypeRef>,
    input_max_length: Option<u64>,
    output: Option<TypeRef>,
}

impl OperationView {
    fn new(operation: &Operation, user_entity: Option<&str>) -> Self {
        let bare_snake = bare_snake_name(&operation.name);
        OperationView {
            name: operation.name.clone(),
            keyword: match operation.kind {
                OperationKind::Query => "query",
                OperationKind::Action => "action",
            },
            const_name: bare_snake.to_uppercase(),
            snake_name: bare_snake,
            type_prefix: operation.name.to_upper_camel_case(),
            route_path: operation.route_path.clone(),
            function: TeamFunctionView::new(&operation.function),
            entities: entity_fields(&operation.entities),
            auth_required: operation.auth_required,
            user_entity: user_entity.map(str::to_owned),
            input: operation.input.clone(),
            input_max_length: operation.input_max_length,
            output: operation.output.clone(),
        }
    }
}

/// `crate::app::apis`: every api, its context and its route, and the apiNamespaces' middleware.
#[derive(Template)]
#[template(path = "server/apis.rs", escape = "none")]
struct ApisModule {
    apis: Vec<ApiView>,
    namespaces: Vec<ApiNamespaceView>,
}

impl ApisModule {
    fn new(spec: &AppSpec) -> Self {
        let user_entity = spec.auth.as_ref().map(|auth| auth.user_entity.as_str());
        ApisModule {
            apis: spec
                .apis
                .iter()
                .map(|api| ApiView::new(api, user_entity))
                .collect(),
            namespaces: spec
                .api_namespaces
                .iter()
                .map(|namespace| ApiNamespaceView {
                    name: namespace.name.clone(),
                    path: namespace.path.clone(),
                    middleware: TeamFunctionView::new(&namespace.middleware_config_fn),
                })
                .collect(),
        }
    }
}

/// One api.
#[derive(Debug, Clone)]
struct ApiView {
    /// The declaration name (`taskCount`).
    name: String,
    /// The name in snake_case (`task_count`): its handler and route functions.
    snake_name: String,
    /// The name in SCREAMING_SNAKE_CASE: its `ApiSpec` static.
    const_name: String,
    /// The name in UpperCamelCase: its `Entities` and `Context` types.
    type_prefix: String,
    /// The method as `main.wasp` writes it (`GET`, `ALL`).
    method: &'static str,
    /// axum's routing function for the method (`get`; `any` for `ALL`).
    method_router: &'static str,
    /// The path as `main.wasp` writes it (`/api/tasks/:id`).
    path: String,
    /// The path as axum writes it (`/api/tasks/{id}`).
    axum_path: String,
    function: TeamFunctionView,
    entities: Vec<EntityFieldView>,
    auth_required: bool,
    user_entity: Option<String>,
    middleware: Option<TeamFunctionView>,
}

impl ApiView {
    fn new(api: &Api, user_entity: Option<&str>) -> Self {
        let bare_snake = bare_snake_name(&api.name);
        ApiView {
            name: api.name.clone(),
            const_name: bare_snake.to_uppercase(),
            snake_name: bare_snake,
            type_prefix: api.name.to_upper_camel_case(),
            method: api.method.as_str(),
            method_router: match api.method {
                HttpMethod::Get => "get",
                HttpMethod::Post => "post",
                HttpMethod::Put => "put",
                HttpMethod::Patch => "patch",
                HttpMethod::Delete => "delete",
                HttpMethod::All => "any",
            },
            path: api.path.clone(),
            axum_path: axum_path(&api.path),
            function: TeamFunctionView::new(&api.function),
            entities: entity_fields(&api.entities),
            auth_required: api.auth_required,
            user_entity: user_entity.map(str::to_owned),
            middleware: api.middleware_config_fn.as_ref().map(TeamFunctionView::new),
        }
    }
}

/// One apiNamespace.
#[derive(Debug, Clone)]
struct ApiNamespaceView {
    name: String,
    path: String,
    middleware: TeamFunctionView,
}

/// An Express path (`/api/tasks/:id`) as axum routes it (`/api/tasks/{id}`). The analyzer has
/// checked that every parameter is a whole segment named by an identifier.
fn axum_path(express_path: &str) -> String {
    express_path
        .split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(parameter) => format!("{{{parameter}}}"),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The typed tables of a context, one per listed entity.
fn entity_fields(entities: &[String]) -> Vec<EntityFieldView> {
    entities
        .iter()
        .map(|entity| EntityFieldView {
            field: snake_identifier(entity),
            entity: entity.clone(),
        })
        .collect()
}

/// A declaration's name in snake_case without a raw-identifier prefix (`type` stays `type`):
/// the templates only use it inside longer names (`answer_type`, `TYPE`), never alone.
fn bare_snake_name(name: &str) -> String {
    snake_identifier(name).trim_start_matches("r#").to_owned()
}

#[derive(Template)]
#[template(path = "server/entities.rs", escape = "none")]
struct EntitiesModule {
    entities: Vec<EntityView>,
}

impl EntitiesModule {
    fn new(spec: &AppSpec) -> Self {
        let entities = &spec.entities;
        let mut views: Vec<EntityView> = entities
            .iter()
            .map(|entity| EntityView::new(spec, entity))
            .collect();
        let relations: Vec<Vec<RelationView>> = entities
            .iter()
            .map(|entity| RelationView::all_of(entity, entities, &views))
            .collect();
        for (view, relations) in views.iter_mut().zip(relations) {
            view.relations = relations;
        }
        EntitiesModule { entities: views }
    }
}

/// One navigable side of a `@relation`: the associated const (`Message::USER`) that
/// `Table::load` and `Table::find_many_with` take. Many-to-many relations (both sides lists)
/// have no table that links them yet, so they get none.
#[derive(Debug, Clone)]
struct RelationView {
    /// The const's name: the field's name in SCREAMING_SNAKE_CASE (`USER`, `MESSAGES`).
    const_name: String,
    /// `Entity.field`, as the spec names the relation field.
    spec_name: String,
    /// The entity on the other side.
    target: String,
    /// `ToMany` for a list field, `ToOne` otherwise.
    to_many: bool,
    /// The columns of this entity that hold the key (the foreign key, or what the other side's
    /// foreign key references)...
    local_columns: Vec<String>,
    /// ...the fields of the entity struct holding them, in the same order...
    local_fields: Vec<String>,
    /// ...and the columns of the target that hold the same values.
    remote_columns: Vec<String>,
    /// What the relation yields, in the two lines of its doc comment.
    doc: (String, String),
}

impl RelationView {
    /// The navigable relation fields of `entity`, in source order. `views` are the entities'
    /// views in the order of `entities`, whose columns name the keys in SQL.
    fn all_of(entity: &Entity, entities: &[Entity], views: &[EntityView]) -> Vec<RelationView> {
        let view_of = |name: &str| {
            entities
                .iter()
                .position(|candidate| candidate.name == name)
                .map(|index| &views[index])
        };
        let Some(own_view) = view_of(&entity.name) else {
            return Vec::new();
        };
        entity
            .fields
            .iter()
            .filter_map(|field| {
                let EntityFieldKind::Relation(relation) = &field.kind else {
                    return None;
                };
                let target_view = view_of(&relation.target_entity)?;
                // The key is declared on whichever side holds the foreign key.
                let (local_fields, remote_fields, holds_key) = if relation.fields.is_empty() {
                    let opposite = entities
                        .iter()
                        .find(|candidate| candidate.name == relation.target_entity)?
                        .fields
                        .iter()
                        .find(|candidate| candidate.name == relation.opposite_field)?;
                    let EntityFieldKind::Relation(opposite_relation) = &opposite.kind else {
                        return None;
                    };
                    if opposite_relation.fields.is_empty() {
                        return None;
                    }
                    (&opposite_relation.references, &opposite_relation.fields, false)
                } else {
                    (&relation.fields, &relation.references, true)
                };
                let local: Vec<&ColumnView> = local_fields
                    .iter()
                    .map(|name| own_view.column_of(name))
                    .collect::<Option<_>>()?;
                let remote: Vec<&ColumnView> = remote_fields
                    .iter()
                    .map(|name| target_view.column_of(name))
                    .collect::<Option<_>>()?;
                // `id equals`, or `(a, b) equal` for a composite key.
                let listed = |columns: &[&ColumnView]| match columns {
                    [single] => (format!("`{}`", single.column), "equals"),
                    _ => (
                        format!(
                            "(`{}`)",
                            columns
                                .iter()
                                .map(|column| column.column.as_str())
                                .collect::<Vec<_>>()
                                .join("`, `")
                        ),
                        "equal",
                    ),
                };
                let ((remote_names, verb), (local_names, _)) = (listed(&remote), listed(&local));
                let target = &relation.target_entity;
                let doc = match (field.list, holds_key) {
                    (true, _) => (
                        format!("the `{target}` rows whose {remote_names} {verb} this row's {local_names},"),
                        "in primary key order.".to_owned(),
                    ),
                    (false, true) => (
                        format!("the `{target}` whose {remote_names} {verb} this row's {local_names}"),
                        "(`None` when that is NULL or points at no row).".to_owned(),
                    ),
                    (false, false) => (
                        format!("the `{target}` whose {remote_names} {verb} this row's {local_names},"),
                        "if any.".to_owned(),
                    ),
                };
                Some(RelationView {
                    const_name: field.name.to_shouty_snake_case(),
                    spec_name: format!("{}.{}", entity.name, field.name),
                    target: target.clone(),
                    to_many: field.list,
                    local_columns: local.iter().map(|column| column.column.clone()).collect(),
                    local_fields: local.iter().map(|column| column.rust_name.clone()).collect(),
                    remote_columns: remote.iter().map(|column| column.column.clone()).collect(),
                    doc,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
struct EntityView {
    name: String,
    /// The table's SQL name (`@@map`, else the entity's name).
    table: String,
    schema_static: String,
    /// The type of the `@id` field.
    id_scalar: ScalarType,
    fields: Vec<ColumnView>,
    /// `@@index`, `@@unique` and foreign-key indexes, as the IR lists them, except that each
    /// lists its columns' SQL names (`@map`) where the IR lists field names.
    indexes: Vec<EntityIndex>,
    /// The navigable relation fields (filled by `EntitiesModule::new`; the types module has
    /// no use for them).
    relations: Vec<RelationView>,
    /// One `by_*` function per `@id`, `@unique` and `@@unique`, for `find_unique`.
    unique_keys: Vec<UniqueKeyView>,
}

/// The `by_*` function that names the row of one unique constraint: `by_username`,
/// `by_user_id_and_room`.
#[derive(Debug, Clone)]
struct UniqueKeyView {
    function_name: String,
    /// What the constraint is in the spec (`@id`, `@unique`, `@@unique([userId, room])`).
    origin: String,
    /// The constraint's fields, in its order.
    fields: Vec<ColumnView>,
}

/// One scalar field of an entity: its names and what the spec says about it. The template
/// writes its struct fields, its `ColumnSchema` and its conversions.
#[derive(Debug, Clone)]
struct ColumnView {
    rust_name: String,
    /// The field's name in the spec: JSON and payload checks use it.
    field_name: String,
    /// The name of its `Column` const: the field name in SCREAMING_SNAKE_CASE (`CREATED_AT`).
    const_name: String,
    /// The column's SQL name (`@map`, else the field's name).
    column: String,
    /// `Some(field name)` when the Rust name differs from the field's name: JSON carries the
    /// spec's field names, whatever the column is called.
    serde_rename: Option<String>,
    scalar: ScalarType,
    /// `?` in the spec.
    optional: bool,
    /// Whether the column may be left out on insert (`?`, a default or `@updatedAt`).
    insert_optional: bool,
    primary_key: bool,
    unique: bool,
    updated_at: bool,
    /// A `BigInt` beyond 2^53 would lose precision as a JavaScript number, so it travels as a
    /// string, in the entity struct and in the auth routes' user alike.
    big_int: bool,
    default: Option<DefaultValue>,
    /// Where this column's foreign key points, and its referential actions.
    references: Option<ForeignKeyView>,
    doc: String,
}

/// A column's foreign key: the table and column it points at (SQL names) and what the database
/// does when that row goes or its key changes (`@relation(onDelete: ..., onUpdate: ...)`).
#[derive(Debug, Clone)]
struct ForeignKeyView {
    table: String,
    column: String,
    on_delete: Option<ReferentialAction>,
    on_update: Option<ReferentialAction>,
}

impl EntityView {
    fn new(spec: &AppSpec, entity: &Entity) -> Self {
        let foreign_keys: Vec<(String, ForeignKeyView)> = entity
            .fields
            .iter()
            .filter_map(|field| match &field.kind {
                EntityFieldKind::Relation(relation) => Some(
                    relation
                        .fields
                        .iter()
                        .zip(&relation.references)
                        .map(|(column, referenced)| {
                            let target = spec.entity(&relation.target_entity);
                            (
                                column.clone(),
                                ForeignKeyView {
                                    table: target
                                        .map_or(relation.target_entity.as_str(), Entity::table)
                                        .to_owned(),
                                    column: target
                                        .and_then(|target| target.column_of(referenced))
                                        .unwrap_or(referenced)
                                        .to_owned(),
                                    on_delete: relation.on_delete,
                                    on_update: relation.on_update,
                                },
                            )
                        })
                        .collect::<Vec<_>>(),
                ),
                EntityFieldKind::Scalar { .. } => None,
            })
            .flatten()
            .collect();
        let mut id_scalar = ScalarType::Int;
        let fields = entity
            .fields
            .iter()
            .filter_map(|field| {
                let EntityFieldKind::Scalar { scalar } = &field.kind else {
                    return None;
                };
                if field.is_id {
                    id_scalar = *scalar;
                }
                let rust_name = snake_identifier(&field.name);
                let bare_name = rust_name.trim_start_matches("r#");
                Some(ColumnView {
                    serde_rename: (bare_name != field.name).then(|| field.name.clone()),
                    const_name: field.name.to_shouty_snake_case(),
                    rust_name,
                    field_name: field.name.clone(),
                    column: field.column().to_owned(),
                    scalar: *scalar,
                    optional: field.optional,
                    insert_optional: field.optional
                        || field.default.is_some()
                        || field.is_updated_at,
                    primary_key: field.is_id,
                    unique: field.is_unique,
                    updated_at: field.is_updated_at,
                    big_int: *scalar == ScalarType::BigInt,
                    default: field.default.clone(),
                    references: foreign_keys
                        .iter()
                        .find(|(column, _)| *column == field.name)
                        .map(|(_, foreign_key)| foreign_key.clone()),
                    doc: describe_column(
                        field.optional,
                        field.default.as_ref(),
                        field.is_updated_at,
                    ),
                })
            })
            .collect::<Vec<ColumnView>>();
        let indexes = entity
            .indexes
            .iter()
            .map(|index| EntityIndex {
                fields: index
                    .fields
                    .iter()
                    .map(|field| entity.column_of(field).unwrap_or(field).to_owned())
                    .collect(),
                ..index.clone()
            })
            .collect();
        let unique_keys = unique_keys(entity, &fields);
        EntityView {
            name: entity.name.clone(),
            table: entity.table().to_owned(),
            schema_static: format!("{}_SCHEMA", entity.name.to_shouty_snake_case()),
            id_scalar,
            fields,
            indexes,
            relations: Vec::new(),
            unique_keys,
        }
    }

    /// The column of the scalar field the spec names `field`.
    fn column_of(&self, field: &str) -> Option<&ColumnView> {
        let rust_name = snake_identifier(field);
        self.fields
            .iter()
            .find(|column| column.rust_name == rust_name)
    }
}

/// The `by_*` functions of an entity: its `@id`, then its unique constraints as the IR lists
/// them (`@unique` fields, then `@@unique`s). A constraint over the same fields as an earlier
/// one adds nothing and is left out.
fn unique_keys(entity: &Entity, fields: &[ColumnView]) -> Vec<UniqueKeyView> {
    let mut constraints: Vec<(Vec<String>, String)> =
        vec![(vec![entity.id_field.clone()], "`@id`".to_owned())];
    for constraint in &entity.unique_constraints {
        let origin = match constraint.as_slice() {
            [_] if entity
                .fields
                .iter()
                .any(|field| field.is_unique && constraint[0] == field.name) =>
            {
                "`@unique`".to_owned()
            }
            _ => format!("`@@unique([{}])`", constraint.join(", ")),
        };
        constraints.push((constraint.clone(), origin));
    }
    let mut keys: Vec<UniqueKeyView> = Vec::new();
    let mut seen: Vec<Vec<String>> = Vec::new();
    for (constraint, origin) in constraints {
        if seen.contains(&constraint) {
            continue;
        }
        let key_fields: Option<Vec<ColumnView>> = constraint
            .iter()
            .map(|name| {
                // Matched by field name, which the column name may differ from (`@map`).
                let rust_name = snake_identifier(name);
                fields
                    .iter()
                    .find(|field| field.rust_name == rust_name)
                    .cloned()
            })
            .collect();
        // Every constraint names scalar fields (the analysis checks it); skip one that does not.
        let Some(key_fields) = key_fields else {
            continue;
        };
        let function_name = format!(
            "by_{}",
            key_fields
                .iter()
                .map(|field| field.rust_name.trim_start_matches("r#"))
                .collect::<Vec<_>>()
                .join("_and_")
        );
        seen.push(constraint);
        keys.push(UniqueKeyView {
            function_name,
            origin,
            fields: key_fields,
        });
    }
    keys
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
    /// Entities may be payloads too: the module gives their spec types.
    entities: Vec<EntityView>,
}

#[derive(Debug, Clone)]
struct RecordView {
    name: String,
    fields: Vec<RecordFieldView>,
}

#[derive(Debug, Clone)]
struct RecordFieldView {
    /// The field's name in the spec (and on the wire).
    name: String,
    rust_name: String,
    serde_rename: Option<String>,
    field_type: TypeRef,
    max_length: Option<u64>,
    /// What the field's `maxLength` means, for its doc comment.
    doc: Option<String>,
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
                        name: field.name.clone(),
                        serde_rename: (bare_name != field.name).then(|| field.name.clone()),
                        rust_name,
                        field_type: field.field_type.clone(),
                        max_length: field.max_length,
                        doc: field.max_length.map(|max_length| {
                            let unit = match &field.field_type {
                                TypeRef::List { .. } => "items",
                                TypeRef::Optional { inner }
                                    if matches!(**inner, TypeRef::List { .. }) =>
                                {
                                    "items"
                                }
                                _ => "characters",
                            };
                            format!(
                                "At most {max_length} {unit} (`maxLength`), checked on every value the server receives."
                            )
                        }),
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
    /// The team's socket function.
    function: TeamFunctionView,
    entities: Vec<EntityFieldView>,
    auth_required: bool,
    /// The app's user entity (`auth.userEntity`), which is the contexts' `user`; `None` for an
    /// app without auth.
    user_entity: Option<String>,
    /// The `type` of the typed handshake.
    handshake: Option<String>,
    encoding: &'static str,
    /// `presence: true`: sockets are tracked in the namespace's and their rooms' presence.
    presence: bool,
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
    /// The event name as a snake_case method suffix.
    method: String,
    /// `None` for an event without a payload: its handler and emitters take none.
    payload: Option<TypeRef>,
    /// The payload's `maxLength`, checked before the handler runs.
    payload_max_length: Option<u64>,
    ack: Option<TypeRef>,
}

impl EventView {
    fn new(event: &Event) -> Self {
        EventView {
            name: event.name.clone(),
            method: snake_identifier(&event.name)
                .trim_start_matches("r#")
                .to_owned(),
            payload: event.payload.clone(),
            payload_max_length: event.payload_max_length,
            ack: event.ack.clone(),
        }
    }
}

/// Module names the generated `crate::app` module already uses.
const RESERVED_MODULES: &[&str] = &["entities", "server", "types", "operations", "apis"];

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
    fn new(namespace: &Namespace, user_entity: Option<&str>) -> Self {
        let module = namespace_module(namespace);
        NamespaceView {
            name: namespace.name.clone(),
            file_stem: module.clone(),
            module,
            path: namespace.path.clone(),
            function: TeamFunctionView::new(&namespace.function),
            entities: namespace
                .entities
                .iter()
                .map(|entity| EntityFieldView {
                    field: snake_identifier(entity),
                    entity: entity.clone(),
                })
                .collect(),
            auth_required: namespace.auth_required,
            user_entity: user_entity.map(str::to_owned),
            handshake: namespace.handshake.clone(),
            encoding: match namespace.encoding {
                Encoding::Json => "json",
                Encoding::Msgpack => "msgpack",
            },
            presence: namespace.presence,
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
                line: 1,
            },
            entities: Vec::new(),
            auth_required: false,
            auto_connect: true,
            handshake: None,
            encoding: Encoding::Json,
            presence: false,
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

    /// One relation const as the tests compare it: its name, whether it is to-many, and the
    /// local and remote key columns.
    type RelationSummary = (String, bool, Vec<String>, Vec<String>);

    /// The relation consts of every entity of `entities` (PSL entity declarations).
    fn relations_of(entities: &str) -> Vec<(String, Vec<RelationSummary>)> {
        let source = format!("app Demo {{ title: \"Demo\" }}\n{entities}");
        let compiled = crate::compile(
            source.as_bytes(),
            &crate::analysis::MemoryFiles::new(),
            crate::Stop::AfterAnalysis,
        );
        let spec = compiled.spec.expect("the spec has no errors");
        EntitiesModule::new(&spec)
            .entities
            .into_iter()
            .map(|entity| {
                let relations = entity
                    .relations
                    .into_iter()
                    .map(|relation| {
                        (
                            relation.const_name,
                            relation.to_many,
                            relation.local_columns,
                            relation.remote_columns,
                        )
                    })
                    .collect();
                (entity.name, relations)
            })
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn both_sides_of_a_relation_get_a_const_with_the_key_of_the_side_that_holds_it() {
        let relations = relations_of(
            r#"
entity Category {=psl
  id       Int        @id @default(autoincrement())
  parent   Category?  @relation("Tree", fields: [parentId], references: [id])
  parentId Int?
  children Category[] @relation("Tree")
psl=}
entity Person {=psl
  id        Int      @id @default(autoincrement())
  followers Person[] @relation("Follows")
  following Person[] @relation("Follows")
  partner   Person?  @relation("Partners", fields: [partnerId], references: [id])
  partnerId Int?     @unique
  partnerOf Person?  @relation("Partners")
psl=}
"#,
        );
        let category = &relations[0].1;
        assert_eq!(
            category,
            &[
                (
                    "PARENT".into(),
                    false,
                    strings(&["parentId"]),
                    strings(&["id"])
                ),
                (
                    "CHILDREN".into(),
                    true,
                    strings(&["id"]),
                    strings(&["parentId"])
                ),
            ]
        );
        // Many-to-many has no linking table, so `followers` and `following` get no const; the
        // one-to-one back side reads the key the other side holds.
        let person = &relations[1].1;
        assert_eq!(
            person,
            &[
                (
                    "PARTNER".into(),
                    false,
                    strings(&["partnerId"]),
                    strings(&["id"])
                ),
                (
                    "PARTNER_OF".into(),
                    false,
                    strings(&["id"]),
                    strings(&["partnerId"])
                ),
            ]
        );
    }

    #[test]
    fn composite_keys_keep_their_columns_in_order() {
        let relations = relations_of(
            r#"
entity Room {=psl
  id    Int    @id @default(autoincrement())
  owner Int
  name  String
  posts Post[]
  @@unique([owner, name])
psl=}
entity Post {=psl
  id        Int    @id @default(autoincrement())
  roomOwner Int
  roomName  String
  room      Room   @relation(fields: [roomOwner, roomName], references: [owner, name])
psl=}
"#,
        );
        assert_eq!(
            relations[0].1,
            [(
                "POSTS".into(),
                true,
                strings(&["owner", "name"]),
                strings(&["roomOwner", "roomName"])
            )]
        );
        assert_eq!(
            relations[1].1,
            [(
                "ROOM".into(),
                false,
                strings(&["roomOwner", "roomName"]),
                strings(&["owner", "name"])
            )]
        );
    }

    #[test]
    fn a_foreign_key_carries_its_referential_actions_into_the_schema() {
        let source = r#"app Demo { title: "Demo" }
entity Room {=psl
  id       Int       @id @default(autoincrement())
  messages Message[]
psl=}
entity Message {=psl
  id     Int   @id @default(autoincrement())
  roomId Int?  @map("room")
  room   Room? @relation(fields: [roomId], references: [id], onDelete: Cascade, onUpdate: SetNull)
psl=}
"#;
        let compiled = crate::compile(
            source.as_bytes(),
            &crate::analysis::MemoryFiles::new(),
            crate::Stop::AfterAnalysis,
        );
        let spec = compiled.spec.expect("the spec has no errors");
        let entities = EntitiesModule::new(&spec).render().unwrap();
        assert!(
            entities.contains(
                r#"ColumnSchema::new("room", ::appc_runtime::codegen::SqlType::Integer).nullable().references("Room", "id").on_delete(::appc_runtime::codegen::ReferentialAction::Cascade).on_update(::appc_runtime::codegen::ReferentialAction::SetNull)"#
            ),
            "{entities}"
        );
    }

    #[test]
    fn team_functions_are_reached_through_their_files_modules() {
        let function = ServerFunction {
            file: "src/server/type.rs".to_owned(),
            function: "seed_dev_data".to_owned(),
            is_async: true,
            line: 1,
        };
        let view = TeamFunctionView::new(&function);
        assert_eq!(
            (view.module.as_str(), view.name.as_str()),
            ("r#type", "seed_dev_data")
        );
    }

    /// The generated server's manifest, for a spec whose `db` block is `db_block`.
    fn server_manifest(db_block: &str) -> String {
        let source = format!("app Demo {{ title: \"Demo\", {db_block} }}\n");
        let compiled = crate::compile(
            source.as_bytes(),
            &crate::analysis::MemoryFiles::new(),
            crate::Stop::AfterAnalysis,
        );
        let spec = compiled.spec.expect("the spec has no errors");
        generate(&spec, &ServerOptions::default())
            .into_iter()
            .find(|file| file.path == format!("{SERVER_DIR}/Cargo.toml"))
            .expect("a manifest is generated")
            .contents
    }

    #[test]
    fn only_postgresql_apps_build_tls_to_postgresql_in() {
        let tls = "features = [\"postgres-tls\"]";
        assert!(server_manifest("db: { system: PostgreSQL }").contains(tls));
        assert!(!server_manifest("db: { system: SQLite }").contains(tls));
    }
}
