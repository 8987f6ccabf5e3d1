//! The client side of Socket.IO v5 over Engine.IO v4's WebSocket transport, as the load generator
//! speaks it: the packets it sends (namespace connect with `auth`, events, pongs) and the packets
//! it reads, in Socket.IO's default JSON parser or its msgpack parser.
//!
//! Engine.IO frames are text frames whose first character is the packet type (`0` open, `2` ping,
//! `3` pong, `4` message); a Socket.IO packet inside a message starts with its own type digit
//! (`0` connect, `1` disconnect, `2` event, `4` connect error). With the msgpack parser the
//! Socket.IO packets travel as binary frames holding a map `{type, nsp, data, id?}` instead.
//! The hot path of the scenarios does not decode whole packets: see [`event_frame_bytes`].

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

/// The Socket.IO parser both ends use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Socket.IO's default parser: JSON text frames.
    Json,
    /// Socket.IO's msgpack parser: binary frames.
    Msgpack,
}

impl Encoding {
    /// The name servers read from their `ENCODING` environment variable.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Msgpack => "msgpack",
        }
    }
}

/// The path and query a WebSocket-only Engine.IO v4 client connects to.
pub const SOCKET_IO_PATH: &str = "/socket.io/?EIO=4&transport=websocket";

const SOCKET_IO_CONNECT: u8 = 0;
const SOCKET_IO_DISCONNECT: u8 = 1;
const SOCKET_IO_EVENT: u8 = 2;
const SOCKET_IO_CONNECT_ERROR: u8 = 4;

/// One decoded frame from a Socket.IO server, as far as a benchmark client cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Engine.IO's open packet, the first frame of a session.
    Open,
    /// Engine.IO's ping, to be answered with [`pong`] or the server closes the session.
    Ping,
    /// Engine.IO's close packet.
    Close,
    /// The namespace accepted the connection.
    Connected,
    /// The namespace refused the connection (for example a bad token), with the server's message.
    ConnectError(String),
    /// The server disconnected the socket from the namespace.
    Disconnected,
    /// An event with its name and arguments.
    Event {
        name: String,
        arguments: Vec<serde_json::Value>,
    },
    /// Anything else (WebSocket control frames, acks, packets of other namespaces).
    Other,
}

/// The namespace connect packet for `/`, carrying `{ token, name, age }` as the handshake's
/// `auth`. The generated uppercase app declares a typed `{ name, age }` handshake beside the
/// token; the other servers ignore the two extra fields.
pub fn connect(encoding: Encoding, token: &str) -> Message {
    let auth = serde_json::json!({ "token": token, "name": "bench", "age": 30 });
    match encoding {
        Encoding::Json => Message::text(format!("40{auth}")),
        Encoding::Msgpack => Message::binary(msgpack_packet(SOCKET_IO_CONNECT, auth)),
    }
}

/// An event packet for `/` with one string argument, as `socket.emit(name, text)` sends it.
pub fn event(encoding: Encoding, name: &str, text: &str) -> Message {
    match encoding {
        Encoding::Json => {
            let arguments =
                serde_json::to_string(&(name, text)).expect("serialising two strings cannot fail");
            Message::text(format!("42{arguments}"))
        }
        Encoding::Msgpack => Message::binary(msgpack_packet(
            SOCKET_IO_EVENT,
            serde_json::json!([name, text]),
        )),
    }
}

/// An event packet for `/` with one argument of any serializable shape, encoded as the server side
/// of Socket.IO sends it; the raw limit server uses it to send the very packets the Socket.IO
/// servers send, in either parser.
pub fn event_with_argument<T: Serialize>(encoding: Encoding, name: &str, argument: &T) -> Message {
    match encoding {
        Encoding::Json => {
            let arguments = serde_json::to_string(&(name, argument))
                .expect("serialising plain values cannot fail");
            Message::text(format!("42{arguments}"))
        }
        Encoding::Msgpack => {
            let packet = MsgpackEvent {
                packet_type: SOCKET_IO_EVENT,
                nsp: "/",
                data: (name, argument),
            };
            Message::binary(
                rmp_serde::to_vec_named(&packet).expect("serialising plain values cannot fail"),
            )
        }
    }
}

/// The string argument of an event named `name` for namespace `/`, in either parser.
pub fn event_string_argument(message: &Message, name: &str) -> Option<String> {
    match decode(message) {
        Incoming::Event {
            name: event,
            mut arguments,
        } if event == name && !arguments.is_empty() => match arguments.swap_remove(0) {
            serde_json::Value::String(text) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// The Engine.IO pong that answers a ping.
pub fn pong() -> Message {
    Message::text("3")
}

/// Whether a frame is an Engine.IO ping (checked on every frame, so it decodes nothing else).
pub fn is_ping(message: &Message) -> bool {
    matches!(message, Message::Text(text) if text.as_str() == "2")
}

/// The raw bytes of a frame if it is an event named `name` for namespace `/`, without decoding
/// its arguments. The scenarios scan these bytes for their payload marker, which keeps the load
/// generator's cost per delivered message far below the server's.
pub fn event_frame_bytes<'frame>(message: &'frame Message, name: &str) -> Option<&'frame [u8]> {
    match message {
        Message::Text(text) => {
            let rest = text.as_str().strip_prefix("42[\"")?;
            let rest = rest.strip_prefix(name)?;
            rest.starts_with("\",").then_some(text.as_bytes())
        }
        Message::Binary(bytes) => {
            // A msgpack event packet is a map whose "type" value is 2; the event name follows in
            // "data". Checking both by search is enough to tell it from the few other packets.
            let is_event = memchr::memmem::find(bytes, b"type\x02").is_some();
            let names_event = memchr::memmem::find(bytes, name.as_bytes()).is_some();
            (is_event && names_event).then_some(bytes.as_ref())
        }
        _ => None,
    }
}

/// Decodes one frame completely. Used for the handshake and in tests, not on the hot path.
pub fn decode(message: &Message) -> Incoming {
    match message {
        Message::Text(text) => decode_text(text.as_str()),
        Message::Binary(bytes) => decode_msgpack(bytes),
        Message::Close(_) => Incoming::Close,
        _ => Incoming::Other,
    }
}

fn decode_text(text: &str) -> Incoming {
    let mut characters = text.chars();
    match characters.next() {
        Some('0') => Incoming::Open,
        Some('1') => Incoming::Close,
        Some('2') => Incoming::Ping,
        Some('4') => decode_json_socket_io(characters.as_str()),
        _ => Incoming::Other,
    }
}

fn decode_json_socket_io(packet: &str) -> Incoming {
    let Some(packet_type) = packet.chars().next() else {
        return Incoming::Other;
    };
    let body = &packet[1..];
    // Packets of the root namespace carry no "/nsp," prefix; other namespaces are not ours.
    if body.starts_with('/') {
        return Incoming::Other;
    }
    match packet_type {
        '0' => Incoming::Connected,
        '1' => Incoming::Disconnected,
        '2' => {
            // An ack id may precede the arguments: skip the digits.
            let arguments_text = body.trim_start_matches(|c: char| c.is_ascii_digit());
            match serde_json::from_str::<Vec<serde_json::Value>>(arguments_text) {
                Ok(values) => event_from_values(values),
                Err(_) => Incoming::Other,
            }
        }
        '4' => Incoming::ConnectError(connect_error_message(
            serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
        )),
        _ => Incoming::Other,
    }
}

#[derive(Serialize, Deserialize)]
struct MsgpackPacket {
    #[serde(rename = "type")]
    packet_type: u8,
    nsp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<serde_json::Value>,
}

/// An event packet serialised straight from its arguments, without a `serde_json::Value`.
#[derive(Serialize)]
struct MsgpackEvent<'a, T> {
    #[serde(rename = "type")]
    packet_type: u8,
    nsp: &'a str,
    data: (&'a str, &'a T),
}

fn msgpack_packet(packet_type: u8, data: serde_json::Value) -> Vec<u8> {
    let packet = MsgpackPacket {
        packet_type,
        nsp: "/".to_string(),
        data: Some(data),
    };
    rmp_serde::to_vec_named(&packet).expect("serialising a map of plain values cannot fail")
}

/// The type and namespace of a msgpack packet, read without its data: Node's parser puts
/// msgpack extension values (JavaScript `undefined`, as in the connect reply's `pid`) in data,
/// which JSON values cannot hold.
#[derive(Deserialize)]
struct MsgpackHeader {
    #[serde(rename = "type")]
    packet_type: u8,
    nsp: String,
}

fn decode_msgpack(bytes: &[u8]) -> Incoming {
    let Ok(header) = rmp_serde::from_slice::<MsgpackHeader>(bytes) else {
        return Incoming::Other;
    };
    if header.nsp != "/" {
        return Incoming::Other;
    }
    let data = || {
        rmp_serde::from_slice::<MsgpackPacket>(bytes)
            .ok()
            .and_then(|packet| packet.data)
    };
    match header.packet_type {
        SOCKET_IO_CONNECT => Incoming::Connected,
        SOCKET_IO_DISCONNECT => Incoming::Disconnected,
        SOCKET_IO_EVENT => match data() {
            Some(serde_json::Value::Array(values)) => event_from_values(values),
            _ => Incoming::Other,
        },
        SOCKET_IO_CONNECT_ERROR => {
            Incoming::ConnectError(connect_error_message(data().unwrap_or_default()))
        }
        _ => Incoming::Other,
    }
}

fn event_from_values(mut values: Vec<serde_json::Value>) -> Incoming {
    if values.is_empty() {
        return Incoming::Other;
    }
    match values.remove(0) {
        serde_json::Value::String(name) => Incoming::Event {
            name,
            arguments: values,
        },
        _ => Incoming::Other,
    }
}

fn connect_error_message(data: serde_json::Value) -> String {
    data.get("message")
        .and_then(|message| message.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| data.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_packets_match_the_socket_io_wire_format() {
        assert_eq!(
            connect(Encoding::Json, "abc"),
            Message::text(r#"40{"age":30,"name":"bench","token":"abc"}"#)
        );
        assert_eq!(
            event(Encoding::Json, "chatMessage", "hi \"there\""),
            Message::text(r#"42["chatMessage","hi \"there\""]"#)
        );
    }

    #[test]
    fn events_with_any_argument_round_trip_in_both_parsers() {
        let argument = serde_json::json!({ "id": "1", "username": "ann", "text": "hi" });
        for encoding in [Encoding::Json, Encoding::Msgpack] {
            let frame = event_with_argument(encoding, "chatMessage", &argument);
            assert_eq!(
                decode(&frame),
                Incoming::Event {
                    name: "chatMessage".to_string(),
                    arguments: vec![argument.clone()]
                },
                "{encoding:?}"
            );
            assert!(
                event_frame_bytes(&frame, "chatMessage").is_some(),
                "{encoding:?}"
            );
            // A string argument is the same packet `event` sends, which the servers read back.
            let text = event_with_argument(encoding, "uppercase", &"HI");
            assert_eq!(text, event(encoding, "uppercase", "HI"), "{encoding:?}");
            assert_eq!(
                event_string_argument(&text, "uppercase").as_deref(),
                Some("HI")
            );
            assert_eq!(event_string_argument(&text, "greeting"), None);
        }
    }

    #[test]
    fn json_frames_decode() {
        let open = Message::text(r#"0{"sid":"x","upgrades":[],"pingInterval":25000}"#);
        assert_eq!(decode(&open), Incoming::Open);
        assert_eq!(decode(&Message::text("2")), Incoming::Ping);
        assert!(is_ping(&Message::text("2")));
        assert_eq!(
            decode(&Message::text(r#"40{"sid":"y"}"#)),
            Incoming::Connected
        );
        assert_eq!(
            decode(&Message::text(r#"44{"message":"invalid auth token"}"#)),
            Incoming::ConnectError("invalid auth token".to_string())
        );
        assert_eq!(
            decode(&Message::text(r#"42["uppercase","HI"]"#)),
            Incoming::Event {
                name: "uppercase".to_string(),
                arguments: vec![serde_json::json!("HI")]
            }
        );
        assert_eq!(decode(&Message::text(r#"42/admin,["x"]"#)), Incoming::Other);
    }

    #[test]
    fn msgpack_packets_round_trip_through_the_decoder() {
        let Message::Binary(bytes) = event(Encoding::Msgpack, "chatMessage", "hello") else {
            panic!("a msgpack event is a binary frame");
        };
        assert_eq!(
            decode(&Message::Binary(bytes.clone())),
            Incoming::Event {
                name: "chatMessage".to_string(),
                arguments: vec![serde_json::json!("hello")]
            }
        );
        let frame = Message::Binary(bytes);
        assert!(event_frame_bytes(&frame, "chatMessage").is_some());
        assert!(event_frame_bytes(&frame, "uppercase").is_none());
    }

    #[test]
    fn a_node_connect_reply_with_an_undefined_field_decodes() {
        // socket.io-msgpack-parser's reply to a connect: {type: 0, data: {sid, pid: undefined},
        // nsp: "/"}, where undefined is the msgpack extension d4 00 00.
        let mut bytes = b"\x83\xa4type\x00\xa4data\x82\xa3sid\xa2ab\xa3pid\xd4\x00\x00".to_vec();
        bytes.extend_from_slice(b"\xa3nsp\xa1/");
        assert_eq!(decode(&Message::binary(bytes)), Incoming::Connected);
    }

    #[test]
    fn event_frame_bytes_checks_the_event_name() {
        let frame = Message::text(r#"42["chatMessage",{"text":"bench:1"}]"#);
        assert!(event_frame_bytes(&frame, "chatMessage").is_some());
        assert!(event_frame_bytes(&frame, "chat").is_none());
        assert!(event_frame_bytes(&Message::text("2"), "chatMessage").is_none());
    }
}
