//! [`EmitError`], the error of every send through the runtime: a leaf, so that the socket module
//! and its ordered handlers can both name it without importing each other.

/// An emit that could not be sent, with socketioxide's own error as its source where that error
/// can cross threads. It is `Send + Sync`, so `?` converts it into a
/// [`BoxError`](crate::BoxError) (or `anyhow::Error`) like any other error.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// No namespace with this path is registered.
    #[error("no socket namespace `{0}` is registered; declare it in main.wasp")]
    UnknownNamespace(String),
    /// A send to one socket failed: the payload could not be encoded, or the socket is closed
    /// or too far behind to queue more.
    #[error("could not send `{event}`: {source}")]
    Send {
        /// The event.
        event: String,
        /// socketioxide's error.
        source: socketioxide::SendError,
    },
    /// The payload of a send to several sockets could not be encoded.
    #[error("could not encode `{event}`: {source}")]
    Encode {
        /// The event.
        event: String,
        /// socketioxide's error.
        source: socketioxide::ParserError,
    },
    /// Some sockets of a send to several sockets could not take it: they closed, or they are too
    /// far behind to queue more (the others received it).
    #[error("could not send `{event}` to {} of its sockets: {}", .failed.len(), describe_socket_errors(.failed))]
    Sockets {
        /// The event.
        event: String,
        /// One error per socket that did not get it.
        failed: Vec<socketioxide::SocketError>,
    },
    /// The adapter that carries sends to other server processes failed. Its error cannot be
    /// shared between threads, so only its message is kept.
    #[error("could not send `{event}` to the other server processes: {message}")]
    Adapter {
        /// The event.
        event: String,
        /// The adapter's message.
        message: String,
    },
    /// The client's acknowledgement did not come in time or did not decode as the declared type.
    #[error("`{event}` was not acknowledged: {source}")]
    Ack {
        /// The event.
        event: String,
        /// socketioxide's error.
        source: socketioxide::AckError,
    },
}

fn describe_socket_errors(errors: &[socketioxide::SocketError]) -> String {
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    messages.join(", ")
}

impl EmitError {
    pub(super) fn from_broadcast(event: &str, error: socketioxide::BroadcastError) -> EmitError {
        let event = event.to_owned();
        match error {
            socketioxide::BroadcastError::Serialize(source) => EmitError::Encode { event, source },
            socketioxide::BroadcastError::Socket(failed) => EmitError::Sockets { event, failed },
            socketioxide::BroadcastError::Adapter(error) => EmitError::Adapter {
                event,
                message: error.to_string(),
            },
        }
    }
}
