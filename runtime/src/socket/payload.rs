//! Validated event payloads: the [`Payload`] extractor checks an event's data against its spec
//! type (see [`super::shape`]) and decodes it into a typed struct; when that fails it tells the
//! sender (an ack error if the client asked for an ack, an `error` event otherwise) in the
//! spec's words, naming the event and the field, logs it, and skips the handler. The server
//! keeps running.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, TryData};
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;

use super::shape::{Shape, SpecType, check_value};

/// A payload that did not match its declared type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid payload for `{event}`: {message}")]
pub struct PayloadError {
    /// Always `invalid_payload`.
    pub code: &'static str,
    /// The event (or `handshake`).
    pub event: String,
    /// The path of the failing field, such as `text` or `items[2].id`, when there is one.
    pub field: Option<String>,
    /// What was wrong, in the spec's words, starting with the field's path:
    /// `vote: expected Int, found String "two"`.
    pub message: String,
}

impl PayloadError {
    fn new(event: &str, field: Option<String>, message: String) -> Self {
        PayloadError {
            code: "invalid_payload",
            event: event.to_owned(),
            field,
            message,
        }
    }
}

/// The data of an event declared without a payload (`askForStateUpdate: {}`): it is sent as
/// no argument at all (Socket.IO's `socket.emit("askForStateUpdate")`), and received only when
/// the client sent none; any value, `null` included, is refused like a payload of the wrong
/// type (`expected no payload, found Int 5`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoPayload;

impl Serialize for NoPayload {
    /// An empty tuple: Socket.IO's parsers spread a tuple into the event's arguments, so the
    /// event goes out with none.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        serializer.serialize_tuple(0)?.end()
    }
}

impl<'de> serde::Deserialize<'de> for NoPayload {
    /// Only ever built from the absence of data (see `decode_event`), which reads as unit.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <()>::deserialize(deserializer).map(|()| NoPayload)
    }
}

impl SpecType for NoPayload {
    const SHAPE: Shape = Shape::Nothing;
}

/// The `MAX_LENGTH` of a [`Payload`] without a `maxLength`.
pub const UNBOUNDED: usize = usize::MAX;

/// Checks a JSON value against `T`'s spec type and decodes it as `T`, naming the failing field.
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct ChatMessage { text: String }
///
/// impl appc_runtime::codegen::SpecType for ChatMessage {
///     const SHAPE: appc_runtime::codegen::Shape = appc_runtime::codegen::Shape::Record(|| &CHAT_MESSAGE);
/// }
///
/// static CHAT_MESSAGE: appc_runtime::codegen::RecordShape = appc_runtime::codegen::RecordShape {
///     name: "ChatMessage",
///     fields: &[appc_runtime::codegen::FieldShape {
///         name: "text",
///         shape: appc_runtime::codegen::Shape::String,
///         max_length: None,
///     }],
/// };
///
/// let error = appc_runtime::codegen::decode_payload::<ChatMessage>("chatMessage", &serde_json::json!({ "text": 5 })).unwrap_err();
/// assert_eq!(error.field.as_deref(), Some("text"));
/// assert_eq!(error.to_string(), "invalid payload for `chatMessage`: text: expected String, found Int 5");
/// ```
pub fn decode_payload<T: DeserializeOwned + SpecType>(
    event: &str,
    value: &serde_json::Value,
) -> Result<T, PayloadError> {
    decode_payload_with_max_length(event, value, None)
}

/// [`decode_payload`] for a payload whose declaration has a `maxLength` (characters of a
/// `String`, items of a list).
pub fn decode_payload_with_max_length<T: DeserializeOwned + SpecType>(
    event: &str,
    value: &serde_json::Value,
    max_length: Option<usize>,
) -> Result<T, PayloadError> {
    if let Err(error) = check_value(value, T::SHAPE, max_length) {
        let field = (!error.path.is_empty()).then_some(error.path);
        return Err(PayloadError::new(event, field, error.message));
    }
    // A value that passed the check decodes; should serde still disagree (a type implementing
    // `SpecType` by hand, say), the sender gets the spec type and the path, not serde's words.
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = (path != ".").then_some(path);
        let message = match &field {
            Some(path) => format!("{path}: does not match its declared type in {}", T::SHAPE),
            None => format!("expected {}", T::SHAPE),
        };
        PayloadError::new(event, field, message)
    })
}

/// Whether the Socket.IO parser's error says the event carried no data at all. Its errors are
/// opaque; their texts are all there is to tell them apart.
fn is_missing_payload(parser_error: &str) -> bool {
    parser_error.contains("first element not found")
}

/// Why the Socket.IO parser could not turn an event's data into a value, in the spec's words.
fn unreadable_payload(event: &str, parser_error: &str, shape: Shape) -> PayloadError {
    let message = if is_missing_payload(parser_error) {
        format!("missing payload, expected {shape}")
    } else if parser_error.contains("recursion limit") || parser_error.contains("depth limit") {
        format!("the payload is nested too deeply; expected {shape}")
    } else {
        format!(
            "the payload holds values that no spec type has (binary data, or a map whose keys are not strings); expected {shape}"
        )
    };
    PayloadError::new(event, None, message)
}

/// The event's data, checked against its spec type and decoded as `T`. If it does not match,
/// the handler is not called and the sender is told why (see the module docs). `MAX_LENGTH`
/// is the payload's `maxLength` (a `String`'s characters or a list's items), when declared.
///
/// ```
/// use appc_runtime::codegen::Payload;
/// use socketioxide::extract::{AckSender, SocketRef};
///
/// fn register(socket: &SocketRef) {
///     // `chatMessage: { type: String, maxLength: 2000 }`
///     socket.on("chatMessage", async |socket: SocketRef, Payload(text): Payload<String, 2000>, ack: AckSender| {
///         socket.broadcast().emit("chatMessage", &text).await.ok();
///         ack.send(&"stored").ok();
///     });
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Payload<T, const MAX_LENGTH: usize = UNBOUNDED>(pub T);

impl<A, T, const MAX_LENGTH: usize> FromMessageParts<A> for Payload<T, MAX_LENGTH>
where
    A: Adapter,
    T: DeserializeOwned + SpecType + Send + Sync + 'static,
{
    type Error = PayloadError;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        value: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, PayloadError> {
        let max_length = (MAX_LENGTH != UNBOUNDED).then_some(MAX_LENGTH);
        decode_event(socket, value, ack_id, max_length).map(Payload)
    }
}

/// The event's data checked against `T`'s spec type and `max_length`, then decoded; a refused
/// one is logged and answered (see the module docs). [`Payload`] and
/// [`on_in_order`](super::on_in_order) both decode through here.
pub(super) fn decode_event<A, T>(
    socket: &Arc<Socket<A>>,
    value: &mut Value,
    ack_id: &Option<i64>,
    max_length: Option<usize>,
) -> Result<T, PayloadError>
where
    A: Adapter,
    T: DeserializeOwned + SpecType,
{
    let event = Event::from_message_parts(socket, value, ack_id)
        .map(|event| event.0)
        .unwrap_or_default();
    let TryData(decoded) =
        match TryData::<serde_json::Value>::from_message_parts(socket, value, ack_id) {
            Ok(decoded) => decoded,
            Err(never) => match never {},
        };
    let result = match decoded {
        Ok(json) => decode_payload_with_max_length::<T>(&event, &json, max_length),
        // An event declared without a payload is right to carry none; unit reads it.
        Err(error)
            if matches!(T::SHAPE, Shape::Nothing) && is_missing_payload(&error.to_string()) =>
        {
            serde_json::from_value(serde_json::Value::Null)
                .map_err(|_| PayloadError::new(&event, None, "expected no payload".to_owned()))
        }
        Err(error) => Err(unreadable_payload(&event, &error.to_string(), T::SHAPE)),
    };
    result.inspect_err(|error| {
        tracing::warn!(
            socket = %socket.id,
            client = %crate::client_address::socket_client_for_log(socket),
            namespace = socket.ns(),
            %error,
            "rejected socket event"
        );
        answer_refused_event(
            socket,
            value,
            ack_id,
            &serde_json::json!({ "error": error }),
        );
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_errors_are_told_in_the_spec_words() {
        let missing = unreadable_payload("vote", "first element not found", Shape::Int);
        assert_eq!(missing.message, "missing payload, expected Int");
        assert_eq!(missing.event, "vote");
        let deep = unreadable_payload(
            "vote",
            "recursion limit exceeded at line 1 column 129",
            Shape::Int,
        );
        assert_eq!(
            deep.message,
            "the payload is nested too deeply; expected Int"
        );
        let odd = unreadable_payload("vote", "invalid type: byte array", Shape::String);
        assert_eq!(
            odd.message,
            "the payload holds values that no spec type has (binary data, or a map whose keys are not strings); expected String"
        );
    }

    /// An event declared without a payload refuses every value, `null` included, in the spec's
    /// words; it goes out as an empty argument list.
    #[test]
    fn an_event_without_a_payload_refuses_any_value() {
        let error =
            decode_payload::<NoPayload>("askForStateUpdate", &serde_json::json!(5)).unwrap_err();
        assert_eq!(error.message, "expected no payload, found Int 5");
        assert_eq!(error.field, None);
        let error =
            decode_payload::<NoPayload>("askForStateUpdate", &serde_json::Value::Null).unwrap_err();
        assert_eq!(error.message, "expected no payload, found null");
        let binary = unreadable_payload("askForStateUpdate", "invalid type", Shape::Nothing);
        assert!(
            binary.message.ends_with("expected no payload"),
            "{}",
            binary.message
        );
        assert_eq!(serde_json::to_string(&NoPayload).unwrap(), "[]");
    }

    /// A type whose `SpecType` is looser than its serde form (only hand-written ones can be):
    /// serde's refusal still comes out in the spec's words, with the path.
    #[test]
    fn a_serde_refusal_after_the_check_names_the_path_not_serde() {
        #[derive(Debug, serde::Deserialize)]
        struct Strict {
            #[allow(dead_code, reason = "only decoded")]
            count: u8,
        }
        impl SpecType for Strict {
            const SHAPE: Shape = Shape::Json;
        }
        let error =
            decode_payload::<Strict>("count", &serde_json::json!({ "count": 300 })).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("count"));
        assert_eq!(
            error.message,
            "count: does not match its declared type in Json"
        );
    }
}
