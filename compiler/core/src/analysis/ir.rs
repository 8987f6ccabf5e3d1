//! The `AppSpec` IR: the fully resolved, plain-data description of an app that every generator reads.
//!
//! Every reference is resolved (an entity list holds names that are known to exist, a type names its
//! kind), every default is filled in, and everything is in a deterministic order: declarations keep
//! the order of the spec file, except namespaces, where the app's root webSocket (`/`) comes first.
//! There are no spans here; diagnostics are the analyzer's business, not the generators'.
//! `appc check --emit ir` prints this as JSON, so field names are camelCase like the spec's own.

use serde::Serialize;

/// A whole app: what `appc build` generates a server and a client from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSpec {
    pub app: App,
    pub auth: Option<Auth>,
    pub db: Database,
    pub server: ServerConfig,
    pub client: ClientConfig,
    pub entities: Vec<Entity>,
    /// The `type` declarations (records used in event payloads and handshakes).
    pub types: Vec<RecordType>,
    /// The app's root webSocket (path `/`) first when there is one, then every `namespace`.
    pub namespaces: Vec<Namespace>,
    pub pages: Vec<Page>,
    pub routes: Vec<Route>,
    /// Every `query` and `action`, in source order (queries and actions interleaved as written).
    pub operations: Vec<Operation>,
    /// Every `api` declaration, in source order.
    pub apis: Vec<Api>,
    /// Every `apiNamespace` declaration, in source order.
    pub api_namespaces: Vec<ApiNamespace>,
}

impl AppSpec {
    /// The entity named `name` (every entity name in the IR resolves).
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|entity| entity.name == name)
    }

    /// The `type` record named `name`.
    pub fn record(&self, name: &str) -> Option<&RecordType> {
        self.types.iter().find(|record| record.name == name)
    }

    /// The page named `name`.
    pub fn page(&self, name: &str) -> Option<&Page> {
        self.pages.iter().find(|page| page.name == name)
    }

    /// The query or action named `name`.
    /// Whether some query is live: the server then mounts the live-queries namespace and the
    /// web client watches the mounted ones.
    pub fn has_live_queries(&self) -> bool {
        self.operations
            .iter()
            .any(|operation| operation.live.is_some())
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|operation| operation.name == name)
    }
}

impl Entity {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&EntityField> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The table's name in SQL: `@@map("...")` when given, the entity's name otherwise.
    pub fn table(&self) -> &str {
        self.mapped_name.as_deref().unwrap_or(&self.name)
    }

    /// The SQL column name of the field named `name` (`@map` when given), if it exists.
    pub fn column_of(&self, name: &str) -> Option<&str> {
        self.field(name).map(EntityField::column)
    }
}

impl EntityField {
    /// The column's name in SQL: `@map("...")` when given, the field's name otherwise. JSON
    /// and TypeScript keep the field's name either way.
    pub fn column(&self) -> &str {
        self.mapped_name.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// The declaration name, e.g. `Chat` in `app Chat { ... }`.
    pub name: String,
    pub title: String,
    /// `wasp.version` as written, when given (appc does not interpret it).
    pub wasp_version: Option<String>,
    /// Extra lines for the HTML `<head>`, in order.
    pub head: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    /// The entity that holds users; it has an id field and, with username-and-password auth,
    /// a unique `username` field.
    pub user_entity: String,
    pub methods: AuthMethods,
    pub on_auth_failed_redirect_to: String,
    /// Defaults to `/`, as in Wasp.
    pub on_auth_succeeded_redirect_to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthMethods {
    pub username_and_password: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    /// SQLite unless the spec says `db: { system: PostgreSQL }`.
    pub system: DatabaseSystem,
    /// Functions that fill the database (`db.seeds`), in order.
    pub seeds: Vec<ServerFunction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DatabaseSystem {
    #[serde(rename = "sqlite")]
    Sqlite,
    #[serde(rename = "postgresql")]
    Postgresql,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfig {
    /// `server.setupFn`: runs once when the server starts.
    pub setup_fn: Option<ServerFunction>,
    /// `server.middlewareConfigFn`: adjusts the HTTP middleware stack.
    pub middleware_config_fn: Option<ServerFunction>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// `client.rootComponent`: wraps every page.
    pub root_component: Option<ClientImport>,
    /// `client.setupFn`: runs once in the browser before the first render.
    pub setup_fn: Option<ClientImport>,
    /// `client.baseDir`: the URL prefix the client is served under; `/` by default.
    pub base_dir: String,
}

/// A Rust function in the team's code, checked to exist as `pub fn` or `pub async fn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerFunction {
    /// The file relative to the project root with `/` separators, e.g. `src/server/chat.rs`.
    pub file: String,
    /// The function name, e.g. `chat_socket`.
    pub function: String,
    /// Declared `pub async fn` (socket functions must be; the generated server awaits them).
    pub is_async: bool,
    /// The line of the function's name in `file`, from 1, for the generated server's messages
    /// about it. Left out of the IR's JSON: it describes the team's file, not the spec, and
    /// changes with every edit above the function.
    #[serde(skip)]
    pub line: usize,
}

/// A TypeScript/JavaScript import in the team's client code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientImport {
    /// The file relative to the project root with `/` separators, e.g. `src/client/Main.tsx`.
    pub file: String,
    pub kind: ImportKind,
    /// The imported name: the named export, or the local name of a default import.
    pub name: String,
}

impl Namespace {
    /// The prefix of the namespace's event map names in the web client's `@appc/types`: none
    /// for the app's root webSocket (`ServerToClientEvents`), the declared name in upper camel
    /// case otherwise (`InboxServerToClientEvents`). The analyzer keeps `type` and entity names
    /// clear of them.
    pub fn event_map_prefix(&self) -> String {
        if self.path == "/" {
            String::new()
        } else {
            heck::ToUpperCamelCase::to_upper_camel_case(self.name.as_str())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportKind {
    /// `import Name from "..."`
    Default,
    /// `import { Name } from "..."`
    Named,
}

/// The longest SQL name a `@map` or `@@map` may give: PostgreSQL silently cuts longer
/// identifiers to this many bytes (the runtime's `MAX_IDENTIFIER_BYTES`), so a longer name
/// would name another column than the one declared.
pub const MAX_SQL_IDENTIFIER_BYTES: usize = 63;

/// An `entity`: a database table described by a Prisma (PSL) body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub name: String,
    /// `@@map("table")`: the table's name in SQL when it differs from the entity's name (see
    /// [`Entity::table`]).
    #[serde(rename = "map", skip_serializing_if = "Option::is_none")]
    pub mapped_name: Option<String>,
    /// Every field in source order, scalar and relation fields alike.
    pub fields: Vec<EntityField>,
    /// The name of the field marked `@id` (there is exactly one).
    pub id_field: String,
    /// Groups of fields that are unique together: one group per `@unique` field, then one per
    /// `@@unique([...])`, in source order.
    pub unique_constraints: Vec<Vec<String>>,
    /// The table's indexes beyond its id and `@unique` fields: one per `@@unique([...])` and
    /// `@@index([...])` in source order, then one per foreign key that no other index (nor the
    /// id or a unique field) already starts with, so that following a relation from its target
    /// (`user.messages`) never scans the whole table.
    pub indexes: Vec<EntityIndex>,
}

/// One index of an entity's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityIndex {
    /// The indexed scalar fields, in order.
    pub fields: Vec<String>,
    /// `@@unique`: no two rows may hold the same values in all the fields.
    pub unique: bool,
    /// Why the index exists: declared in the spec, or added for a foreign key.
    pub origin: IndexOrigin,
}

/// Where an [`EntityIndex`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum IndexOrigin {
    /// `@@index([...])` or `@@unique([...])`.
    Declared,
    /// The foreign key of a relation field (`@relation(fields: [...])`).
    ForeignKey,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityField {
    pub name: String,
    /// `@map("column")`: the column's name in SQL when it differs from the field's name (see
    /// [`EntityField::column`]).
    #[serde(rename = "map", skip_serializing_if = "Option::is_none")]
    pub mapped_name: Option<String>,
    /// A scalar or a relation; serialized as `type`.
    #[serde(rename = "type")]
    pub kind: EntityFieldKind,
    /// `Type?`
    pub optional: bool,
    /// `Type[]`
    pub list: bool,
    pub is_id: bool,
    pub is_unique: bool,
    /// `@updatedAt`: set to the current time on every write.
    pub is_updated_at: bool,
    pub default: Option<DefaultValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EntityFieldKind {
    Scalar { scalar: ScalarType },
    Relation(Relation),
}

/// The scalar types of Prisma's schema language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScalarType {
    String,
    Boolean,
    Int,
    BigInt,
    Float,
    Decimal,
    DateTime,
    Json,
    Bytes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum DefaultValue {
    Autoincrement,
    Now,
    Uuid,
    Cuid,
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// One side of a relation between two entities; both sides are present in the IR and each names
/// the other.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    /// The entity on the other side.
    pub target_entity: String,
    /// The field of `target_entity` that is the other side of this relation.
    pub opposite_field: String,
    /// The relation's name from `@relation("Name")`, when given.
    pub relation_name: Option<String>,
    /// On the side that holds the foreign key: the scalar fields of this entity...
    pub fields: Vec<String>,
    /// ...and the fields of `target_entity` they point at. Both are empty on the other side.
    pub references: Vec<String>,
    /// `onDelete:` on the side that holds the foreign key, when given (Prisma's defaults apply
    /// otherwise).
    pub on_delete: Option<ReferentialAction>,
    /// `onUpdate:`, likewise.
    pub on_update: Option<ReferentialAction>,
}

/// What happens to the rows that hold a foreign key when the row they point at is deleted or its
/// key changes (Prisma's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReferentialAction {
    Cascade,
    Restrict,
    NoAction,
    SetNull,
    SetDefault,
}

/// A `type` declaration: a record used in event payloads and handshakes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordType {
    pub name: String,
    pub fields: Vec<RecordField>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordField {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: TypeRef,
    /// `maxLength`: the most characters of a `String` or items of a list that the server
    /// accepts in this field (checked on every value it receives, before user code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

/// A type as written in `type` bodies and event payloads, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TypeRef {
    String,
    Int,
    Float,
    Bool,
    DateTime,
    Json,
    /// An entity: the payload carries the entity's scalar fields.
    Entity {
        name: String,
    },
    /// A `type` declaration.
    Record {
        name: String,
    },
    List {
        item: Box<TypeRef>,
    },
    Optional {
        inner: Box<TypeRef>,
    },
}

impl std::fmt::Display for TypeRef {
    /// The type as `main.wasp` writes it: `String`, `[ChatMessage]`, `Int?` (diagnostics and the
    /// generated code's doc comments both use it).
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeRef::String => formatter.write_str("String"),
            TypeRef::Int => formatter.write_str("Int"),
            TypeRef::Float => formatter.write_str("Float"),
            TypeRef::Bool => formatter.write_str("Bool"),
            TypeRef::DateTime => formatter.write_str("DateTime"),
            TypeRef::Json => formatter.write_str("Json"),
            TypeRef::Entity { name } | TypeRef::Record { name } => formatter.write_str(name),
            TypeRef::List { item } => write!(formatter, "[{item}]"),
            TypeRef::Optional { inner } => write!(formatter, "{inner}?"),
        }
    }
}

/// A Socket.IO namespace: the app's root webSocket (path `/`) or a `namespace` declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    /// The declaration name; `webSocket` for the app's root webSocket.
    pub name: String,
    /// `/` for the root webSocket, otherwise the namespace's `path` (starts with `/`).
    pub path: String,
    /// The function that sets the namespace up (`fn`).
    pub function: ServerFunction,
    /// The entities its handlers may use, in the order written.
    pub entities: Vec<String>,
    /// True when connections without a valid token are refused (`auth: true`).
    pub auth_required: bool,
    /// Whether the client connects as soon as the app starts: `autoConnect` of the root webSocket
    /// (default true); `namespace` declarations have no such field and always get true.
    pub auto_connect: bool,
    /// The `type` that typed connect parameters follow, when given.
    pub handshake: Option<String>,
    pub encoding: Encoding,
    /// True when the server keeps who is connected to the namespace and its rooms and sends
    /// its sockets `presence` events (`presence: true`); left out of the IR's JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub presence: bool,
    pub client_to_server: Vec<Event>,
    pub server_to_client: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Encoding {
    Json,
    Msgpack,
}

/// A typed event in one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub name: String,
    /// The payload's type; `None` for an event declared without one (`askForStateUpdate: {}`,
    /// or `{ ack: State }` with an acknowledgement), which carries no data at all: its Rust
    /// handler takes no payload argument, its emitter none either, and the client emits the
    /// bare event name (`socket.emit('askForStateUpdate')`).
    pub payload: Option<TypeRef>,
    /// `maxLength` of a client-to-server payload: the most characters of a `String` or items
    /// of a list that the server accepts (checked before the handler runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_max_length: Option<u64>,
    /// The type of the acknowledgement the receiver answers with, for request/response events.
    pub ack: Option<TypeRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub name: String,
    pub component: ClientImport,
    pub auth_required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub name: String,
    pub path: String,
    /// The name of the page it shows.
    pub page: String,
}

/// A `query` or an `action`: a function of the team's server code that the client calls over
/// HTTP, `POST {route_path}` with the input as the JSON body and the output as the JSON
/// response, typed on both sides from this one declaration (Wasp's operations).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// A query reads (the client caches it); an action writes (and invalidates the cached
    /// queries that share one of its entities, Wasp's rule).
    pub kind: OperationKind,
    /// The declaration name, e.g. `getTasks`; the client's function has this name.
    pub name: String,
    /// The team's `pub async fn` that answers it (`fn`), directly in `src/server/`.
    pub function: ServerFunction,
    /// The entities the function may use (`entities`), in the order written.
    pub entities: Vec<String>,
    /// `auth: true`: callers without a valid token are refused (401) and the function always
    /// has a user. False by default: the user is then optional (`None` for anonymous callers).
    pub auth_required: bool,
    /// The type of the argument (`input`); `None` when the operation takes none.
    pub input: Option<TypeRef>,
    /// `maxLength` of the input: the most characters of a `String` or items of a list the
    /// server accepts (checked before the function runs), when declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_max_length: Option<u64>,
    /// The type of the result (`output`); `None` when the operation returns nothing.
    pub output: Option<TypeRef>,
    /// The HTTP path it is served at: `/operations/` and the name in kebab case
    /// (`/operations/get-tasks`), Wasp's route shape. Unique among operations.
    pub route_path: String,
    /// A query that reads entities is live unless it says `live: false`: every committed
    /// write to one of its entities refreshes the clients using it. `None` for actions, for
    /// `live: false` and for a query without entities (nothing to follow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveScope>,
}

/// Who a live query's refresh reaches when one of its entities changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LiveScope {
    /// Every client using the query (the default).
    All,
    /// `scope: user`: only the clients of the users owning the changed rows, through each
    /// entity's relation to the user entity (or the user entity itself).
    User,
}

/// Which of Wasp's two operation declarations an [`Operation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationKind {
    /// `query`: reads data.
    Query,
    /// `action`: changes data.
    Action,
}

/// An `api` declaration: a custom HTTP route answered by the team's function, with the route's
/// path parameters, query string, headers and body reachable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    /// The declaration name, e.g. `taskCount`.
    pub name: String,
    /// The team's `pub async fn` that answers the route (`fn`), directly in `src/server/`.
    pub function: ServerFunction,
    /// The method of `httpRoute`; [`HttpMethod::All`] answers every method.
    pub method: HttpMethod,
    /// The path of `httpRoute` as written, Express style: starts with `/`, path parameters
    /// written `:name` (`/api/tasks/:id`). No two apis share a method and path.
    pub path: String,
    /// The names of the path's parameters, in order (`["id"]` for `/api/tasks/:id`); each is
    /// an identifier and appears once.
    pub path_params: Vec<String>,
    /// The entities the function may use (`entities`), in the order written.
    pub entities: Vec<String>,
    /// `auth: true`: requests without a valid token are refused (401). False by default: the
    /// user is then optional.
    pub auth_required: bool,
    /// `middlewareConfigFn`: a `pub fn` that receives a router holding only this route and
    /// returns it with the team's layers, when given.
    pub middleware_config_fn: Option<ServerFunction>,
}

/// The method of an `api`'s `httpRoute`, as Wasp writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    /// Every method (Express's `app.all`).
    All,
}

impl HttpMethod {
    /// The method as `main.wasp` writes it: `GET`, `ALL`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::All => "ALL",
        }
    }
}

/// An `apiNamespace` declaration: middleware for every `api` whose path starts with `path`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiNamespace {
    /// The declaration name.
    pub name: String,
    /// The path prefix, starting with `/` (`/api/webhooks`); it covers the path itself and
    /// every path below it, segment by segment (`/bar` covers `/bar/baz`, not `/barbaz`).
    pub path: String,
    /// `middlewareConfigFn`: a `pub fn` that receives a router holding the routes under
    /// `path` and returns it with the team's layers.
    pub middleware_config_fn: ServerFunction,
}
