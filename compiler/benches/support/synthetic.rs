//! A generator of large, semantically sensible spec files for benchmarks.
//!
//! The default size is about 20,000 lines: one `app` (with auth, db and a `webSocket` with typed
//! events), 500 entities with PSL bodies, 1,000 pages and 1,000 routes, 500 socket namespaces
//! with events and handshake types, and the `type` declarations their payloads use. Names are
//! unique and every reference resolves: entities relate to their neighbours, routes point at
//! pages, pages import `@src/client/PageN.tsx`, socket functions come from
//! `@src/server/sockets.rs`. [`synthetic_project_files`] also writes those files, so that the
//! analyzer's benchmark can check a whole project.
//!
//! Benchmarks include this file with `#[path = "support/synthetic.rs"] mod synthetic;`.

#![allow(dead_code)]

use std::fmt::Write;

/// How many of each declaration a synthetic spec has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticSize {
    pub entities: usize,
    pub pages: usize,
    pub namespaces: usize,
}

impl SyntheticSize {
    /// About 20,000 lines: 500 entities, 1,000 pages and routes, 500 namespaces.
    pub const LARGE: SyntheticSize = SyntheticSize {
        entities: 500,
        pages: 1000,
        namespaces: 500,
    };

    /// A small spec with the same shape, for tests.
    pub const SMALL: SyntheticSize = SyntheticSize {
        entities: 5,
        pages: 10,
        namespaces: 5,
    };
}

/// The text of a synthetic `main.wasp` of the given size.
pub fn synthetic_spec(size: SyntheticSize) -> String {
    let entities = size.entities.max(2);
    let mut spec = String::with_capacity(1_000_000);
    write_app(&mut spec, entities);
    for index in 0..entities {
        write_entity(&mut spec, index, entities);
    }
    write_root_types(&mut spec);
    for index in 0..size.namespaces {
        write_namespace(&mut spec, index, entities);
    }
    for index in 0..size.pages {
        write_page_and_route(&mut spec, index);
    }
    spec
}

/// Every file of a synthetic project as `(relative path, contents)`: `main.wasp`, the socket
/// functions in `src/server/sockets.rs` and one React component per page in `src/client/`.
pub fn synthetic_project_files(size: SyntheticSize) -> Vec<(String, String)> {
    let mut files = vec![("main.wasp".to_owned(), synthetic_spec(size))];
    let mut sockets = String::from(
        "//! Socket handlers of the synthetic benchmark project (bodies are intentionally empty).\n\n",
    );
    for name in std::iter::once("root_socket".to_owned())
        .chain((0..size.namespaces).map(namespace_function))
    {
        let _ = writeln!(sockets, "pub async fn {name}() {{}}\n");
    }
    files.push(("src/server/sockets.rs".to_owned(), sockets));
    for index in 0..size.pages {
        files.push((
            format!("src/client/{}.tsx", page_name(index)),
            format!(
                "export function {name}() {{\n  return <h1>{name}</h1>;\n}}\n",
                name = page_name(index)
            ),
        ));
    }
    files
}

fn entity_name(index: usize) -> String {
    if index == 0 {
        "User".to_owned()
    } else {
        format!("Entity{index}")
    }
}

fn page_name(index: usize) -> String {
    format!("Page{index}")
}

fn namespace_function(index: usize) -> String {
    format!("namespace_socket_{index}")
}

fn write_app(spec: &mut String, entities: usize) {
    let _ = write!(
        spec,
        r#"// A synthetic spec generated for benchmarks: every name is unique and every reference resolves.
app Synthetic {{
  wasp: {{
    version: "^0.17.0",
  }},
  title: "Synthetic benchmark app",
  head: [
    "<meta name=\"description\" content=\"A generated app\" />",
  ],
  auth: {{
    userEntity: User,
    methods: {{
      usernameAndPassword: {{}},
    }},
    onAuthFailedRedirectTo: "/login",
    onAuthSucceededRedirectTo: "/",
  }},
  db: {{
    system: PostgreSQL,
  }},
  webSocket: {{
    fn: import {{ root_socket }} from "@src/server/sockets.rs",
    entities: [User, {second}],
    autoConnect: true,
    events: {{
      clientToServer: {{
        chatMessage: RootMessage,
        typing: Bool,
      }},
      serverToClient: {{
        chatMessage: RootMessage,
        userCount: Int,
        presence: [String],
      }},
    }},
    handshake: RootHandshake,
    encoding: msgpack,
  }},
}}

"#,
        second = entity_name(1.min(entities - 1)),
    );
}

/// Entities form a chain: each one (but the first) belongs to the previous one, which lists its
/// children, so that both sides of every Prisma relation exist.
fn write_entity(spec: &mut String, index: usize, entities: usize) {
    let name = entity_name(index);
    let _ = writeln!(spec, "entity {name} {{=psl");
    spec.push_str("  id        Int      @id @default(autoincrement())\n");
    if index == 0 {
        spec.push_str("  username  String   @unique\n");
    } else {
        let _ = writeln!(spec, "  title     String   @default(\"{name}\")");
    }
    spec.push_str("  createdAt DateTime @default(now())\n");
    spec.push_str("  score     Float?\n");
    if index > 0 {
        let parent = entity_name(index - 1);
        let _ = writeln!(
            spec,
            "  owner     {parent}? @relation(fields: [ownerId], references: [id])"
        );
        spec.push_str("  ownerId   Int?\n");
    }
    if index + 1 < entities {
        let _ = writeln!(spec, "  children  {}[]", entity_name(index + 1));
    }
    spec.push_str("psl=}\n\n");
}

fn write_root_types(spec: &mut String) {
    spec.push_str(
        r#"type RootMessage {
  text: String,
  sentAt: DateTime,
  author: User?,
}

type RootHandshake {
  room: String,
  clientVersion: String?,
}

"#,
    );
}

/// A namespace with its own payload and handshake types.
fn write_namespace(spec: &mut String, index: usize, entities: usize) {
    let entity = entity_name(index % entities);
    // Every namespace uses the root webSocket's encoding: one Socket.IO server has one parser.
    let _ = write!(
        spec,
        r#"type Message{index} {{
  text: String,
  count: Int,
  ratio: Float,
  sentAt: DateTime,
  tags: [String],
  attachments: [Json]?,
  author: {entity}?,
}}
type Handshake{index} {{ room: String, limit: Int? }}
namespace Namespace{index} {{
  path: "/namespace-{index}",
  fn: import {{ {function} }} from "@src/server/sockets.rs",
  entities: [{entity}],
  auth: {auth},
  events: {{
    clientToServer: {{ send: Message{index}, join: String }},
    serverToClient: {{ message: Message{index}, history: [Message{index}], joined: RootMessage? }},
  }},
  handshake: Handshake{index},
  encoding: msgpack,
}}

"#,
        function = namespace_function(index),
        auth = index.is_multiple_of(2),
    );
}

fn write_page_and_route(spec: &mut String, index: usize) {
    let page = page_name(index);
    let _ = write!(
        spec,
        r#"page {page} {{
  component: import {{ {page} }} from "@src/client/{page}.tsx",
  authRequired: {auth_required},
}}
route Route{index} {{ path: "/pages/{index}", to: {page} }}
"#,
        auth_required = index % 2 == 1,
    );
}
