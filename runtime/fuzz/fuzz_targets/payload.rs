//! Fuzzes the payload check and decoder with arbitrary bytes, read as JSON text or as msgpack
//! (the two encodings a socket may use): checking and decoding must never panic, whatever the
//! value, and a refused value's message must speak the spec's words (a spec type and a field
//! path), never Rust's or serde's (`i64`, `invalid type`, `line 1 column 5`).
//!
//! Run it for a bounded time with `bash scripts/fuzz.sh`.

#![no_main]

use appc_runtime::codegen::{FieldShape, RecordShape, Shape, SpecType, decode_payload_with_max_length};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

/// A payload type as the generator writes one: every kind of field, nested records, lists,
/// optionals and a maximum length.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Vote {
    poll: String,
    choice: i64,
    weight: Option<f64>,
    anonymous: bool,
    at: chrono::DateTime<chrono::Utc>,
    lines: Vec<Line>,
    extra: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Line {
    text: String,
    replies: Option<Vec<Line>>,
}

static LINE: RecordShape = RecordShape {
    name: "Line",
    fields: &[
        FieldShape { name: "text", shape: Shape::String, max_length: Some(40) },
        FieldShape {
            name: "replies",
            shape: Shape::Optional(&Shape::List(&Shape::Record(|| &LINE))),
            max_length: None,
        },
    ],
};

static VOTE: RecordShape = RecordShape {
    name: "Vote",
    fields: &[
        FieldShape { name: "poll", shape: Shape::String, max_length: Some(100) },
        FieldShape { name: "choice", shape: Shape::Int, max_length: None },
        FieldShape { name: "weight", shape: Shape::Optional(&Shape::Float), max_length: None },
        FieldShape { name: "anonymous", shape: Shape::Bool, max_length: None },
        FieldShape { name: "at", shape: Shape::DateTime, max_length: None },
        FieldShape { name: "lines", shape: Shape::List(&Shape::Record(|| &LINE)), max_length: Some(8) },
        FieldShape { name: "extra", shape: Shape::Json, max_length: None },
    ],
};

impl SpecType for Line {
    const SHAPE: Shape = Shape::Record(|| &LINE);
}

impl SpecType for Vote {
    const SHAPE: Shape = Shape::Record(|| &VOTE);
}

/// Words that would mean serde's or Rust's vocabulary leaked into a message for the client.
const LEAKED_WORDS: [&str; 8] =
    ["i64", "u64", "f64", "invalid type", "line 1", "column", "struct ", "sequence"];

/// The message without the parts quoted from the client's own value (`found String "..."`),
/// which may contain anything.
fn without_quoted_values(message: &str) -> String {
    let mut kept = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for character in message.chars() {
        match (quoted, escaped, character) {
            (true, false, '\\') => escaped = true,
            (true, true, _) => escaped = false,
            (_, _, '"') => quoted = !quoted,
            (false, _, _) => kept.push(character),
            _ => {}
        }
    }
    kept
}

fn check<T: for<'de> Deserialize<'de> + SpecType + std::fmt::Debug>(value: &serde_json::Value) {
    if let Err(error) = decode_payload_with_max_length::<T>("vote", value, Some(8)) {
        let message = without_quoted_values(&error.to_string());
        for word in LEAKED_WORDS {
            assert!(!message.contains(word), "`{word}` in the message: {message}");
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&encoding, body)) = bytes.split_first() else {
        return;
    };
    let value: Option<serde_json::Value> = if encoding % 2 == 0 {
        serde_json::from_slice(body).ok()
    } else {
        rmp_serde::from_slice(body).ok()
    };
    let Some(value) = value else {
        return;
    };
    check::<Vote>(&value);
    check::<Vec<Line>>(&value);
    check::<Option<i64>>(&value);
    check::<String>(&value);
});
