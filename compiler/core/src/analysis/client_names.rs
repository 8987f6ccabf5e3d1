//! Names the generated web client takes for itself: the event maps of `@appc/types`
//! (`ServerToClientEvents`, `<Namespace>ClientToServerEvents`, and `PresenceEntry` and
//! `PresenceEvent` when a namespace has `presence: true`) live in the same TypeScript module
//! as an interface per `type` and per entity, so a declaration with one of those names would
//! merge with the event map (TypeScript merges interfaces of one name) and silently mistype both;
//! and `@appc/operations` exports its hooks and error class beside one function per query and
//! action, so an operation named like one of them would not compile. This pass reports such a
//! declaration, when the app has a web client at all.

use super::declarations::{DeclKind, Declarations};
use super::ir::Namespace;
use super::operations::CheckedOperation;
use crate::diagnostics::Diagnostic;

/// The values `@appc/operations` binds besides the operations: what it exports and the two
/// namespaces it imports (`operationsCore`, and `specTypes` for `@appc/types`).
pub const OPERATIONS_MODULE_NAMES: [&str; 7] = [
    "OperationError",
    "configureQueryClient",
    "useAction",
    "useLiveStatus",
    "useQuery",
    "operationsCore",
    "specTypes",
];

/// Reports every query or action named like a value `@appc/operations` binds itself.
pub fn report_clashes_with_operations_module(
    operations: &[&CheckedOperation],
    diagnostics: &mut Vec<Diagnostic>,
) {
    for checked in operations {
        let name = checked.operation.name.as_str();
        if !OPERATIONS_MODULE_NAMES.contains(&name) {
            continue;
        }
        let keyword = DeclKind::from(checked.operation.kind).keyword();
        diagnostics.push(
            Diagnostic::error(
                format!(
                    "{keyword} `{name}` has a name the generated web client takes for itself"
                ),
                checked.name_span,
                "clashes with `@appc/operations`",
            )
            .with_help(format!(
                "`@appc/operations` exports a function per query and action, and `{name}` already names one of its own values; rename this {keyword} (for example `{name}Task`)"
            )),
        );
    }
}

/// The types `@appc/types` declares for presence when a namespace has `presence: true`.
pub const PRESENCE_TYPE_NAMES: [&str; 2] = ["PresenceEntry", "PresenceEvent"];

/// The types `@appc/types` declares for one namespace: its server-to-client and
/// client-to-server event maps, and the presence types when it has `presence: true`.
pub fn event_map_names(namespace: &Namespace) -> Vec<String> {
    let prefix = namespace.event_map_prefix();
    let mut names = vec![
        format!("{prefix}ServerToClientEvents"),
        format!("{prefix}ClientToServerEvents"),
    ];
    if namespace.presence {
        names.extend(PRESENCE_TYPE_NAMES.map(str::to_owned));
    }
    names
}

/// Reports every `type` or entity named like an event map of `@appc/types`.
pub fn report_clashes_with_event_maps(
    declarations: &Declarations,
    namespaces: &[&Namespace],
    diagnostics: &mut Vec<Diagnostic>,
) {
    for namespace in namespaces {
        let description = if namespace.path == "/" {
            "the app's webSocket".to_owned()
        } else {
            format!("namespace `{}`", namespace.name)
        };
        for generated in event_map_names(namespace) {
            let Some((kind, decl)) = declarations.lookup(&generated) else {
                continue;
            };
            if !matches!(kind, DeclKind::Type | DeclKind::Entity) {
                continue;
            }
            diagnostics.push(
                Diagnostic::error(
                    format!(
                        "{} `{generated}` has the name of a generated web client type",
                        kind.keyword()
                    ),
                    decl.name.span,
                    "clashes with the event map in `@appc/types`",
                )
                .with_help(format!(
                    "`@appc/types` declares `{generated}` for the events of {description}; rename this {} (for example `{generated}Data`)",
                    kind.keyword()
                )),
            );
        }
    }
}
