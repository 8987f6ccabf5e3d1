//! Sockets: the app's root `webSocket` and `namespace` declarations, with their typed events.
//!
//! Both become an IR [`Namespace`]: the root webSocket is the namespace `/`, every `namespace`
//! declaration has its own `path`. This module checks their fields, resolves their `fn` import,
//! entities, handshake type and event payload types, and rejects Socket.IO's reserved event names.
//! It keeps the spans that the rules across namespaces (unique paths, one encoding) point at.

use super::context::Context;
use super::declarations::{DeclKind, Declarations};
use super::fields::{self, DictShape, FieldSpec, Fields};
use super::ir::{Encoding, Event, Namespace, TypeRef};
use super::server_functions::{self, FunctionRole};
use super::types::{self, Sender};
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{Decl, Expr, ExprKind, Span};
use std::fmt::Display;

/// Event names that Socket.IO uses for its own purposes, with what it uses them for.
const RESERVED_EVENTS: [(&str, &str); 6] = [
    (
        "connect",
        "Socket.IO emits `connect` itself when a connection opens",
    ),
    (
        "connect_error",
        "Socket.IO emits `connect_error` itself when a connection is refused",
    ),
    (
        "disconnect",
        "Socket.IO emits `disconnect` itself when a connection closes",
    ),
    (
        "disconnecting",
        "Socket.IO emits `disconnecting` itself just before a socket leaves its rooms",
    ),
    (
        "newListener",
        "`newListener` is the event emitter's own notification of added listeners",
    ),
    (
        "removeListener",
        "`removeListener` is the event emitter's own notification of removed listeners",
    ),
];

const ROOT_FIELDS: [FieldSpec; 7] = [
    FieldSpec::required(
        "fn",
        "fn: import { web_socket } from \"@src/server/web_socket.rs\"",
    ),
    FieldSpec::optional("entities"),
    FieldSpec::optional("autoConnect"),
    FieldSpec::optional("events"),
    FieldSpec::optional("handshake"),
    FieldSpec::optional("encoding"),
    FieldSpec::optional("presence"),
];

const NAMESPACE_FIELDS: [FieldSpec; 8] = [
    FieldSpec::required("path", "path: \"/chat\""),
    FieldSpec::required(
        "fn",
        "fn: import { chat_namespace } from \"@src/server/chat.rs\"",
    ),
    FieldSpec::optional("entities"),
    FieldSpec::optional("auth"),
    FieldSpec::optional("events"),
    FieldSpec::optional("handshake"),
    FieldSpec::optional("encoding"),
    FieldSpec::optional("presence"),
];

/// The server-to-client event through which a namespace with `presence: true` tells its
/// sockets who is connected.
const PRESENCE_EVENT: &str = "presence";

const EVENTS_FIELDS: [FieldSpec; 2] = [
    FieldSpec::optional("clientToServer"),
    FieldSpec::optional("serverToClient"),
];

/// The dict form of an event: both keys optional. Without `payload` the event carries no data
/// (as an operation without `input` takes no argument); without `ack` it is not acknowledged.
const EVENT_FIELDS: [FieldSpec; 2] = [FieldSpec::optional("payload"), FieldSpec::optional("ack")];

/// A checked socket (the root webSocket or a `namespace`) with the places that rules across
/// namespaces point at.
pub struct CheckedSocket {
    pub namespace: Namespace,
    /// Where the socket is declared: the root webSocket's dict, or the namespace's name.
    pub declared_span: Span,
    /// Where the `path` value is written; `None` for the root webSocket, whose path `/` is implied.
    pub path_span: Option<Span>,
    /// Where the `encoding` value is written; `None` when it is not (the default `json`).
    pub encoding_span: Option<Span>,
}

impl CheckedSocket {
    /// How rules across namespaces name it: "the app's `webSocket`" or "namespace `Chat`".
    pub fn description(&self) -> String {
        match self.path_span {
            None => "the app's `webSocket`".to_string(),
            Some(_) => format!("namespace `{}`", self.namespace.name),
        }
    }
}

/// Checks `app.webSocket`, whose key is at `key_span`.
pub fn check_root(
    expr: &Expr,
    key_span: Span,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedSocket> {
    let shape = DictShape {
        owner: &"`webSocket`",
        owner_span: key_span,
        fields: &ROOT_FIELDS,
        unsupported: &[],
        unsupported_help: None,
    };
    let fields = fields::check_dict(expr, &shape, diagnostics)?;
    let auto_connect = fields.optional("autoConnect", |entry| {
        fields::expect_bool(&entry.value, &"`autoConnect` of `webSocket`", diagnostics)
    });
    let namespace = check_common(
        &fields,
        "webSocket",
        &"`webSocket`",
        "/",
        false,
        context,
        diagnostics,
    );
    Some(CheckedSocket {
        namespace: Namespace {
            auto_connect: auto_connect.valid_or(true),
            ..namespace?
        },
        declared_span: expr.span,
        path_span: None,
        encoding_span: fields.get("encoding").map(|value| value.span),
    })
}

/// Checks a `namespace` declaration; `app_has_auth` says whether the app declares `auth`, which
/// `auth: true` needs.
pub fn check_namespace(
    decl: &Decl,
    context: &mut Context,
    app_has_auth: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CheckedSocket> {
    let name = decl.name.name.as_str();
    let owner = format_args!("namespace `{name}`");
    let shape = DictShape {
        owner: &owner,
        owner_span: decl.name.span,
        fields: &NAMESPACE_FIELDS,
        unsupported: &[],
        unsupported_help: None,
    };
    let fields = fields::check_dict(&decl.body, &shape, diagnostics)?;
    let path_value = fields.get("path");
    let path = path_value
        .and_then(|value| {
            fields::expect_string(value, &format_args!("`path` of {owner}"), diagnostics)
        })
        .and_then(|path| check_path(path, path_value?.span, name, diagnostics));
    // An invalid flag was reported; the IR is not built then, so `false` only lets the other
    // checks go on.
    let auth_required = match fields.entry("auth") {
        Some(entry) => {
            fields::expect_auth_flag(entry, &owner, app_has_auth, diagnostics).unwrap_or(false)
        }
        None => false,
    };
    let namespace = check_common(
        &fields,
        name,
        &owner,
        "",
        auth_required,
        context,
        diagnostics,
    );
    Some(CheckedSocket {
        namespace: Namespace {
            path: path?,
            ..namespace?
        },
        declared_span: decl.name.span,
        path_span: Some(path_value?.span),
        encoding_span: fields.get("encoding").map(|value| value.span),
    })
}

/// The namespace the generated server mounts for live queries (the runtime's `LIVE_NAMESPACE`).
pub const LIVE_QUERIES_NAMESPACE: &str = "/appc-live";

/// A namespace path starts with `/`, is not `/` (the root webSocket's) nor the live queries'
/// namespace, and has no spaces or URL punctuation.
fn check_path(
    path: &str,
    span: Span,
    name: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    if path == "/" {
        diagnostics.push(
            Diagnostic::error(
                format!("namespace `{name}` cannot have the path `/`"),
                span,
                "`/` is the app's root webSocket",
            )
            .with_help(format!(
                "declare the root namespace as `webSocket` in the app, or give `{name}` its own path such as `/{}`",
                name.to_lowercase()
            )),
        );
        return None;
    }
    if path == LIVE_QUERIES_NAMESPACE {
        diagnostics.push(
            Diagnostic::error(
                format!("namespace `{name}` cannot have the path `{LIVE_QUERIES_NAMESPACE}`"),
                span,
                "appc's own namespace",
            )
            .with_help(format!(
                "`{LIVE_QUERIES_NAMESPACE}` carries the live queries' results; give `{name}` another path such as `/{}`",
                name.to_lowercase()
            )),
        );
        return None;
    }
    let valid = path.starts_with('/')
        && !path.ends_with('/')
        && path[1..]
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_/.~".contains(character))
        && !path.contains("//");
    if !valid {
        diagnostics.push(
            Diagnostic::error(
                format!("invalid namespace path `{path}`"),
                span,
                "not a namespace path",
            )
            .with_help(
                "a namespace path starts with `/` and has letters, digits, `-`, `_`, `.` or `~` between single slashes, e.g. `/chat/rooms`",
            ),
        );
        return None;
    }
    Some(path.to_string())
}

/// The fields a root webSocket and a namespace share: `fn`, `entities`, `events`, `handshake`,
/// `encoding`.
fn check_common(
    fields: &Fields,
    name: &str,
    owner: &dyn Display,
    path: &str,
    auth_required: bool,
    context: &mut Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Namespace> {
    let function = fields.get("fn").and_then(|value| {
        let what = format_args!("`fn` of {owner}");
        let import = fields::expect_import(value, &what, diagnostics)?;
        server_functions::import(
            import,
            &what,
            FunctionRole::Socket,
            &mut context.imports,
            diagnostics,
        )
    });
    let entities = match fields.get("entities") {
        Some(value) => context.declarations.resolve_entity_list(
            value,
            &format_args!("`entities` of {owner}"),
            diagnostics,
        ),
        None => Some(Vec::new()),
    };
    let handshake = fields.optional("handshake", |entry| {
        check_handshake(&entry.value, owner, context, diagnostics)
    });
    let encoding = match fields.get("encoding") {
        Some(value) => fields::expect_choice(
            value,
            &format_args!("`encoding` of {owner}"),
            &["json", "msgpack"],
            diagnostics,
        )
        .map(|index| {
            if index == 0 {
                Encoding::Json
            } else {
                Encoding::Msgpack
            }
        }),
        None => Some(Encoding::Json),
    };
    let events = match fields.get("events") {
        Some(value) => check_events(value, owner, context.declarations, diagnostics),
        None => Some((Vec::new(), Vec::new())),
    };
    let presence = fields.optional("presence", |entry| {
        fields::expect_bool(
            &entry.value,
            &format_args!("`presence` of {owner}"),
            diagnostics,
        )
    });
    let (client_to_server, server_to_client) = events?;
    let presence = presence.into_ir().ok()?.unwrap_or(false);
    if presence {
        check_presence_event_free(fields, &server_to_client, owner, diagnostics)?;
    }
    Some(Namespace {
        name: name.to_string(),
        path: path.to_string(),
        function: function?,
        entities: entities?,
        auth_required,
        auto_connect: true,
        handshake: handshake.into_ir().ok()?,
        encoding: encoding?,
        presence,
        client_to_server,
        server_to_client,
    })
}

/// A namespace with `presence: true` sends its own `presence` event, so its `serverToClient`
/// events cannot declare one.
fn check_presence_event_free(
    fields: &Fields,
    server_to_client: &[Event],
    owner: &dyn Display,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<()> {
    if !server_to_client
        .iter()
        .any(|event| event.name == PRESENCE_EVENT)
    {
        return Some(());
    }
    let declared_span = fields
        .get("events")
        .and_then(|events| find_key(events, "serverToClient"))
        .and_then(|direction| find_key(&direction.value, PRESENCE_EVENT))
        .map(|event| event.key.span)?;
    let mut diagnostic = Diagnostic::error(
        format!("`presence` is the event of presence on {owner}"),
        declared_span,
        "declared here",
    )
    .with_help("with `presence: true` the server sends `presence` events itself (who joined, left, or is there); rename this event, e.g. `presenceNotice`, or remove `presence: true`");
    if let Some(flag) = fields.get("presence") {
        diagnostic = diagnostic.with_secondary(flag.span, "presence is turned on here");
    }
    diagnostics.push(diagnostic);
    None
}

/// The key named `name` of a dict expression, for pointing at it.
fn find_key<'e>(expr: &'e Expr, name: &str) -> Option<&'e crate::syntax::ast::DictEntry> {
    match &expr.kind {
        ExprKind::Dict(entries) => entries.iter().find(|entry| entry.key.name == name),
        _ => None,
    }
}

fn check_handshake(
    value: &Expr,
    owner: &dyn Display,
    context: &Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let (name, span) =
        fields::expect_reference(value, &format_args!("`handshake` of {owner}"), diagnostics)?;
    context
        .declarations
        .resolve(name, span, DeclKind::Type, diagnostics)?;
    let record = context.records.get(name)?;
    if let Some(token) = record
        .fields
        .iter()
        .find(|checked| checked.field.name == "token")
    {
        diagnostics.push(
            Diagnostic::error(
                format!("the handshake type `{name}` has a field named `token`, which is reserved"),
                token.name_span,
                "reserved handshake field",
            )
            .with_secondary(span, format!("`{name}` is used as the handshake of {owner} here"))
            .with_help("the login token travels in the handshake as `auth.token`; rename this field, e.g. `inviteToken`"),
        );
        return None;
    }
    Some(name.to_string())
}

/// `{ clientToServer: { ... }, serverToClient: { ... } }`.
fn check_events(
    value: &Expr,
    owner: &dyn Display,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(Vec<Event>, Vec<Event>)> {
    let events_owner = format!("`events` of {owner}");
    let shape = DictShape {
        owner: &events_owner,
        owner_span: value.span,
        fields: &EVENTS_FIELDS,
        unsupported: &[],
        unsupported_help: None,
    };
    let fields = fields::check_dict(value, &shape, diagnostics)?;
    let mut directions = Vec::new();
    for direction in ["clientToServer", "serverToClient"] {
        let events = match fields.get(direction) {
            Some(value) => direction_events(
                value,
                &format_args!("`events.{direction}` of {owner}"),
                direction == "clientToServer",
                declarations,
                diagnostics,
            ),
            None => Some(Vec::new()),
        };
        directions.push(events);
    }
    let server_to_client = directions.pop()??;
    let client_to_server = directions.pop()??;
    Some((client_to_server, server_to_client))
}

/// The events of one direction; `server_receives` is true for `clientToServer`, whose payloads
/// the server checks (and so may limit with `maxLength`).
fn direction_events(
    value: &Expr,
    owner: &dyn Display,
    server_receives: bool,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<Event>> {
    let entries = fields::expect_dict(value, &owner, diagnostics)?;
    let mut events = Vec::new();
    let mut ok = true;
    for entry in fields::unique_entries(entries, owner, diagnostics) {
        let name = entry.key.name.as_str();
        if let Some((_, why)) = RESERVED_EVENTS
            .iter()
            .find(|(reserved, _)| *reserved == name)
        {
            diagnostics.push(
                Diagnostic::error(
                    format!("`{name}` is a reserved Socket.IO event name"),
                    entry.key.span,
                    "reserved by Socket.IO",
                )
                .with_help(format!(
                    "{why}, so your handler would never receive this payload; choose another name, e.g. `{name}Message`"
                )),
            );
            ok = false;
            continue;
        }
        let what = format_args!("event `{name}` in {owner}");
        // A dict that is empty or has `payload` or `ack` is the dict form of an event; any other
        // dict is an inline record or a limited length, which `types` explains.
        let is_dict_form = matches!(&entry.value.kind, ExprKind::Dict(entries)
            if entries.is_empty() || entries.iter().any(|entry| entry.key.name == "payload" || entry.key.name == "ack"));
        let event = if is_dict_form {
            let event_owner = what.to_string();
            let shape = DictShape {
                owner: &event_owner,
                owner_span: entry.key.span,
                fields: &EVENT_FIELDS,
                unsupported: &[],
                unsupported_help: None,
            };
            fields::check_dict(&entry.value, &shape, diagnostics).and_then(|event_fields| {
                let payload = event_fields.optional("payload", |payload| {
                    checked_payload(
                        &payload.value,
                        &what,
                        server_receives,
                        declarations,
                        diagnostics,
                    )
                });
                let ack = event_fields.optional("ack", |ack| {
                    checked_ack(&ack.value, &what, declarations, diagnostics)
                });
                let payload = payload.into_ir().ok()?;
                Some(Event {
                    name: name.to_string(),
                    payload_max_length: payload.as_ref().and_then(|payload| payload.max_length),
                    payload: payload.map(|payload| payload.type_ref),
                    ack: ack.into_ir().ok()?,
                })
            })
        } else {
            checked_payload(
                &entry.value,
                &what,
                server_receives,
                declarations,
                diagnostics,
            )
            .map(|payload| Event {
                name: name.to_string(),
                payload: Some(payload.type_ref),
                payload_max_length: payload.max_length,
                ack: None,
            })
        };
        match event {
            Some(event) => events.push(event),
            None => ok = false,
        }
    }
    ok.then_some(events)
}

/// An event's payload type. `maxLength` is checked on what the server receives, so it is
/// refused on a payload the server sends, where it would promise a check that never happens.
fn checked_payload(
    value: &Expr,
    what: &dyn Display,
    server_receives: bool,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<types::FieldType> {
    let sender = if server_receives {
        Sender::Client
    } else {
        Sender::Server {
            checked_instead: "on a `clientToServer` event",
        }
    };
    types::resolve_payload_type(
        value,
        &format_args!("the payload of {what}"),
        sender,
        declarations,
        diagnostics,
    )
}

/// An event's acknowledgement type. Acks are answers, decoded as they come: `maxLength` is
/// refused there rather than left unchecked.
fn checked_ack(
    value: &Expr,
    what: &dyn Display,
    declarations: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<TypeRef> {
    let ack = types::resolve_field_type(
        value,
        &format_args!("the ack of {what}"),
        declarations,
        diagnostics,
    )?;
    if let Some(span) = ack.max_length_span {
        diagnostics.push(
            Diagnostic::error(
                format!("`maxLength` on the ack of {what}"),
                span,
                "never checked",
            )
            .with_help("acknowledgements are not checked against `maxLength`; remove it here, or put it on a `clientToServer` payload or on a field of a `type`"),
        );
        return None;
    }
    Some(ack.type_ref)
}
