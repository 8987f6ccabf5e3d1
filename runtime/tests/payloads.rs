//! Payloads checked against their spec types over a real socket, in both encodings: a wrong
//! type, a wrong nested field, a missing field, a missing payload and a payload over its
//! `maxLength` are refused in the spec's words (`lines[1].text: expected String, found null`),
//! never in serde's, and the handler never sees them; JSON and msgpack clients get the same
//! messages.

mod common;

use appc_runtime::codegen::{
    AckSender, Connection, Encoding, Entity, FieldShape, NamespaceConfig, Payload, RecordShape,
    Shape, SocketSettings, SpecType,
};
use common::{MsgPackClient, SocketClient, TestServer, User};
use serde_json::{Value, json};

/// `type Line { text: { type: String, maxLength: 5 }, votes: Int? }`
#[derive(Debug, serde::Deserialize)]
struct Line {
    text: String,
    #[allow(
        dead_code,
        reason = "decoded to show that optional fields may be left out"
    )]
    votes: Option<i64>,
}

impl SpecType for Line {
    const SHAPE: Shape = Shape::Record(|| &LINE);
}

static LINE: RecordShape = RecordShape {
    name: "Line",
    fields: &[
        FieldShape {
            name: "text",
            shape: Shape::String,
            max_length: Some(5),
        },
        FieldShape {
            name: "votes",
            shape: <Option<i64> as SpecType>::SHAPE,
            max_length: None,
        },
    ],
};

/// `type Poem { title: String, lines: [Line] }`
#[derive(Debug, serde::Deserialize)]
struct Poem {
    title: String,
    lines: Vec<Line>,
}

impl SpecType for Poem {
    const SHAPE: Shape = Shape::Record(|| &POEM);
}

static POEM: RecordShape = RecordShape {
    name: "Poem",
    fields: &[
        FieldShape {
            name: "title",
            shape: Shape::String,
            max_length: None,
        },
        FieldShape {
            name: "lines",
            shape: <Vec<Line> as SpecType>::SHAPE,
            max_length: None,
        },
    ],
};

/// Handlers as the generator registers them for
/// `clientToServer: { vote: { payload: Int, ack: Int }, poem: { payload: Poem, ack: String },
/// chatMessage: { payload: { type: String, maxLength: 2000 }, ack: Int } }`: each answers
/// only a valid payload.
fn namespace() -> NamespaceConfig {
    NamespaceConfig::new("/").on_connect(|connection: Connection| async move {
        connection.socket.on(
            "vote",
            async |Payload(vote): Payload<i64>, ack: AckSender| {
                ack.send(&vote).ok();
            },
        );
        connection.socket.on(
            "poem",
            async |Payload(poem): Payload<Poem>, ack: AckSender| {
                let texts: Vec<String> = poem.lines.into_iter().map(|line| line.text).collect();
                ack.send(&format!("{}: {}", poem.title, texts.join(" / ")))
                    .ok();
            },
        );
        connection.socket.on(
            "chatMessage",
            async |Payload(text): Payload<String, 2000>, ack: AckSender| {
                ack.send(&text.chars().count()).ok();
            },
        );
        connection.socket.emit("ready", &true).ok();
    })
}

async fn server(encoding: Encoding) -> TestServer {
    TestServer::start(|server| {
        server
            .user_table(User::schema().clone())
            .socket_settings(SocketSettings::default().encoding(encoding))
            .namespace(namespace())
    })
    .await
}

/// What each payload is answered with: its ack value, or the error the ack carries.
fn cases() -> Vec<(&'static str, Value, Value)> {
    let refused = |field: Option<&str>, message: &str| json!({ "error": { "code": "invalid_payload", "field": field, "message": message } });
    let long_text = "ü".repeat(2417);
    vec![
        ("vote", json!(3), json!(3)),
        (
            "vote",
            json!("two"),
            refused(None, r#"expected Int, found String "two""#),
        ),
        (
            "vote",
            json!(2.5),
            refused(None, "expected Int, found Float 2.5"),
        ),
        (
            "poem",
            json!({ "title": "Ode", "lines": [{ "text": "one" }, { "text": "two", "votes": 2 }] }),
            json!("Ode: one / two"),
        ),
        (
            "poem",
            json!({ "title": "Ode", "lines": [{ "text": "one" }, { "text": null }] }),
            refused(
                Some("lines[1].text"),
                "lines[1].text: expected String, found null",
            ),
        ),
        (
            "poem",
            json!({ "title": "Ode", "lines": [{ "text": "one", "votes": "many" }] }),
            refused(
                Some("lines[0].votes"),
                r#"lines[0].votes: expected Int, found String "many""#,
            ),
        ),
        (
            "poem",
            json!({ "lines": [] }),
            refused(Some("title"), "missing field title, expected String"),
        ),
        (
            "poem",
            json!({ "title": "Ode", "lines": [{}] }),
            refused(
                Some("lines[0].text"),
                "lines[0]: missing field text, expected String",
            ),
        ),
        (
            "poem",
            json!({ "title": "Ode", "lines": [{ "text": "toolong" }] }),
            refused(
                Some("lines[0].text"),
                "lines[0].text: expected at most 5 characters, found 7",
            ),
        ),
        (
            "poem",
            json!("Ode"),
            refused(None, r#"expected Poem, found String "Ode""#),
        ),
        // 2000 two-byte characters are within the limit: it counts characters, not bytes.
        ("chatMessage", json!("é".repeat(2000)), json!(2000)),
        (
            "chatMessage",
            json!(long_text),
            refused(None, "expected at most 2000 characters, found 2417"),
        ),
        (
            "chatMessage",
            json!(["hi"]),
            refused(None, "expected String, found a list (1 item)"),
        ),
    ]
}

/// The ack's value without the `event` field, which every error carries.
fn without_event(mut answer: Value) -> Value {
    if let Some(error) = answer.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("event");
    }
    answer
}

#[tokio::test]
async fn json_payloads_are_refused_in_the_spec_words() {
    let server = server(Encoding::Json).await;
    let (mut client, _) = SocketClient::connect(server.address, "/", json!({})).await;
    client.expect_event("ready").await;
    for (id, (event, payload, expected)) in (1..).zip(cases()) {
        client.emit(event, payload, Some(id)).await;
        let answer = client.expect_ack(id).await;
        assert_eq!(without_event(answer[0].clone()), expected, "{event} #{id}");
    }
    // An event without any payload.
    client.send_raw(r#"2100["vote"]"#).await;
    let answer = client.expect_ack(100).await;
    assert_eq!(answer[0]["error"]["event"], "vote");
    assert_eq!(
        answer[0]["error"]["message"],
        "missing payload, expected Int"
    );
    // Without an ack, the error comes as an `error` event.
    client.emit("vote", json!(null), None).await;
    let error = client.expect_event("error").await;
    assert_eq!(error[0]["error"]["message"], "expected Int, found null");
    server.stop().await;
}

#[tokio::test]
async fn msgpack_payloads_get_the_same_messages() {
    let server = server(Encoding::MsgPack).await;
    let mut client = MsgPackClient::connect(server.address, json!({})).await;
    client.expect_event("ready").await;
    for (id, (event, payload, expected)) in (1..).zip(cases()) {
        client
            .send(json!({ "type": 2, "nsp": "/", "data": [event, payload], "id": id }))
            .await;
        let answer = client.expect_ack(id).await;
        assert_eq!(
            without_event(answer["data"][0].clone()),
            expected,
            "{event} #{id}"
        );
    }
    client
        .send(json!({ "type": 2, "nsp": "/", "data": ["vote"], "id": 100 }))
        .await;
    let answer = client.expect_ack(100).await;
    assert_eq!(
        answer["data"][0]["error"]["message"],
        "missing payload, expected Int"
    );
    server.stop().await;
}
