//! What only generated code needs: the plumbing the generated `main`, entities and socket
//! modules are written against. The team's code uses the crate root instead; nothing here is
//! part of its API, and it changes whenever the generator does.
//!
//! It is public because the generated crate is another crate, and hidden from the docs
//! because it is not meant for people.
#![doc(hidden)]

// The `Server` builder, the binary's command line and the tokio runtime of the generated `main`.
pub use crate::config::{ConfigDefaults, ConfigError, JwtSecret};
pub use crate::hooks::{HookOutcome, ServerCommand};
pub use crate::server::{
    BoundServer, ConnectionStats, SeedError, ServeError, Server, WORKER_THREADS_VARIABLE,
    async_runtime, shutdown_signal, web_security_headers,
};

// Entities: their schema as data, the traits generated structs implement, their column consts
// and unique keys, migrations.
pub use crate::context::EntitySet;
pub use crate::context_user::ConnectionUser;
pub use crate::db::{
    AppliedMigration, ColumnDefault, ColumnSchema, EmbeddedMigration, Entity, ForeignKey,
    IndexSchema, IntoColumns, MAX_IDENTIFIER_BYTES, MigrationError, MigrationReport,
    MigrationStatus, RecordedReason, ReferentialAction, SchemaReport, SqlType, TableSchema, column,
    index_name, key_value, migrate, migration_status, prepare_schema, relation, unique_key,
};
pub use crate::json::{big_int, optional_big_int};

// Queries, actions and apis: one request answered (token, body limit, input checked against its
// spec type, the team's function, its output or error), and the apis' routes with the
// middleware of their `apiNamespace`s.
pub use crate::operation::{
    ApiRoutes, ApiSpec, NoInput, OperationInput, OperationSpec, answer_api, answer_operation,
    answer_operation_without_output, operation_method_not_allowed, unknown_operation,
};

// Live queries: what the generated `main` declares of each, and the built-in namespace's names.
pub use crate::db::{ChangeListener, MAX_OWNERS_PER_CHANGE, TableChange};
pub use crate::live::{
    DEFAULT_WINDOW, LIVE_NAMESPACE, LiveQuery, SUBSCRIBE_EVENT, UNSUBSCRIBE_EVENT, UPDATE_EVENT,
};

// Socket namespaces: their configuration, payloads checked against their spec types (the
// shapes generated beside every `type` and entity), acknowledgements and sends to one socket.
pub use crate::presence::{join_room, leave_room};

pub use crate::socket::{
    AckSender, Connection, Encoding, FieldShape, MAX_NESTING_DEPTH, NamespaceConfig, NoPayload,
    Payload, PayloadError, RecordShape, Shape, ShapeError, SocketSettings, SpecType, Transports,
    UNBOUNDED, check_value, decode_payload, decode_payload_with_max_length, emit_to_socket,
    emit_to_socket_with_ack, emit_to_socket_without_payload, on_in_order,
    on_in_order_with_max_length,
};

/// Logs to stderr (coloured only on a terminal), filtered by `RUST_LOG` (default `info`, with
/// request traces at `debug`).
/// Calling it twice is harmless.
pub fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    // Colour only a terminal, and never when NO_COLOR is set: logs piped to a file or a process
    // manager must stay plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(colour),
        )
        .with(filter)
        .try_init();
}
