//! Validated event payloads: the [`Payload`] extractor decodes an event's data into a typed
//! struct, and when that fails it tells the sender (an ack error if the client asked for an
//! ack, an `error` event otherwise) naming the event and the field, logs it, and skips the
//! handler. The server keeps running.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, TryData};
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;

/// A payload that did not match its declared type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid payload for `{event}`{}: {message}", field.as_ref().map(|field| format!(" at field `{field}`")).unwrap_or_default())]
pub struct PayloadError {
    /// Always `invalid_payload`.
    pub code: &'static str,
    /// The event (or `handshake`).
    pub event: String,
    /// The path of the failing field, such as `text` or `items[2].id`, when there is one.
    pub field: Option<String>,
    /// What was wrong.
    pub message: String,
}

/// Decodes a JSON value as `T`, naming the failing field.
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct ChatMessage { text: String }
/// let error = appc_runtime::codegen::decode_payload::<ChatMessage>("chatMessage", &serde_json::json!({ "text": 5 })).unwrap_err();
/// assert_eq!(error.field.as_deref(), Some("text"));
/// assert_eq!(error.to_string(), "invalid payload for `chatMessage` at field `text`: invalid type: integer `5`, expected a string");
/// ```
pub fn decode_payload<T: DeserializeOwned>(
    event: &str,
    value: &serde_json::Value,
) -> Result<T, PayloadError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        // A missing field is reported at its parent; name the missing field itself.
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
        {
            Some((missing, _)) if path == "." => Some(missing.to_owned()),
            Some((missing, _)) => Some(format!("{path}.{missing}")),
            None if path == "." => None,
            None => Some(path),
        };
        PayloadError {
            code: "invalid_payload",
            event: event.to_owned(),
            field,
            message,
        }
    })
}

/// The event's data decoded as `T`. If it does not decode, the handler is not called and the
/// sender is told why (see the module docs).
///
/// ```
/// use appc_runtime::codegen::Payload;
/// use socketioxide::extract::{AckSender, SocketRef};
///
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct ChatMessage { text: String }
///
/// fn register(socket: &SocketRef) {
///     socket.on("chatMessage", async |socket: SocketRef, Payload(message): Payload<ChatMessage>, ack: AckSender| {
///         socket.broadcast().emit("chatMessage", &message).await.ok();
///         ack.send(&"stored").ok();
///     });
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Payload<T>(pub T);

impl<A: Adapter, T: DeserializeOwned + Send + Sync + 'static> FromMessageParts<A> for Payload<T> {
    type Error = PayloadError;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        value: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, PayloadError> {
        let event = Event::from_message_parts(socket, value, ack_id)
            .map(|event| event.0)
            .unwrap_or_default();
        let TryData(decoded) =
            match TryData::<serde_json::Value>::from_message_parts(socket, value, ack_id) {
                Ok(decoded) => decoded,
                Err(never) => match never {},
            };
        let result = match decoded {
            Ok(json) => decode_payload::<T>(&event, &json),
            Err(error) => Err(PayloadError {
                code: "invalid_payload",
                event: event.clone(),
                field: None,
                message: error.to_string(),
            }),
        };
        result.map(Payload).inspect_err(|error| {
            tracing::warn!(socket = %socket.id, namespace = socket.ns(), %error, "rejected socket event");
            answer_refused_event(socket, value, ack_id, &serde_json::json!({ "error": error }));
        })
    }
}

/// Tells the sender why its event was not handled: on the event's ack when the client asked
/// for one, else with an `error` event.
pub(super) fn answer_refused_event<A: Adapter>(
    socket: &Arc<Socket<A>>,
    value: &mut Value,
    ack_id: &Option<i64>,
    body: &serde_json::Value,
) {
    let sent = if ack_id.is_some() {
        match AckSender::from_message_parts(socket, value, ack_id) {
            Ok(ack) => ack.send(body).map_err(|error| error.to_string()),
            Err(never) => match never {},
        }
    } else {
        socket
            .emit("error", body)
            .map_err(|error| error.to_string())
    };
    if let Err(problem) = sent {
        tracing::debug!(%problem, "could not tell the client why its event was not handled");
    }
}
