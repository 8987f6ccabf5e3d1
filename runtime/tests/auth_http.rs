//! Auth over real HTTP against an in-process server with a SQLite file: signup, login, `me`,
//! and every failure case (invalid input with the field named, taken username, wrong password
//! indistinguishable from an unknown user, missing, malformed, badly signed, `alg: none`,
//! expired tokens, and tokens of deleted users).

mod common;

use appc_runtime::axum::routing::get;
use appc_runtime::{AuthUser, Database};
use common::{TEST_SECRET, TestServer, User, http, signup};

async fn auth_server() -> TestServer {
    TestServer::start(|server| {
        server
            .user_table(<User as appc_runtime::codegen::Entity>::schema().clone())
            .routes(|router| {
                router.route(
                    "/whoami",
                    get(async |user: Option<AuthUser>| {
                        user.map_or("anonymous".to_owned(), |user| user.username().to_owned())
                    }),
                )
            })
    })
    .await
}

fn forge_token(secret: &[u8], sub: &str, issued_at: i64, expires_at: i64) -> String {
    let claims = serde_json::json!({ "sub": sub, "iat": issued_at, "exp": expires_at });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("token encodes")
}

fn base64_url(text: &str) -> String {
    // A tiny encoder so the test can build an unsigned `alg: none` token by hand.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut encoded = String::new();
    for chunk in bytes.chunks(3) {
        let buffer = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let number =
            (u32::from(buffer[0]) << 16) | (u32::from(buffer[1]) << 8) | u32::from(buffer[2]);
        for index in 0..=chunk.len() {
            encoded.push(ALPHABET[((number >> (18 - 6 * index)) & 63) as usize] as char);
        }
    }
    encoded
}

#[tokio::test]
async fn signup_login_and_me_round_trip() {
    let server = auth_server().await;
    let (token, user) = signup(&server, "Alice", "correct horse battery").await;
    assert_eq!(
        user["username"], "alice",
        "usernames are stored in lower case"
    );
    assert!(user["id"].is_i64());
    assert!(
        user.get("passwordHash").is_none(),
        "the hash never leaves the server: {user}"
    );
    assert!(
        user.get("displayName").is_some(),
        "the user's own fields are returned"
    );

    let me = http("GET", &server.url("/auth/me"), None, Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body, user);

    let login_body = r#"{"username":"ALICE","password":"correct horse battery"}"#;
    let login = http("POST", &server.url("/auth/login"), Some(login_body), None).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["user"], user);
    let login_token = login.body["token"].as_str().unwrap();
    let me_again = http("GET", &server.url("/auth/me"), None, Some(login_token)).await;
    assert_eq!(me_again.body["username"], "alice");

    let whoami = http("GET", &server.url("/whoami"), None, Some(&token)).await;
    assert_eq!(whoami.text, "alice");
    assert!(!me.text.contains("argon2"), "no hash in responses");
    server.stop().await;
}

#[tokio::test]
async fn the_password_is_stored_only_as_an_argon2id_hash() {
    let server = auth_server().await;
    signup(&server, "bob", "hunter2-but-longer").await;
    let pool = server.state.database.sqlite_pool().unwrap().clone();
    let (hash,): (String,) =
        sqlx::query_as(r#"SELECT "passwordHash" FROM "User" WHERE username = 'bob'"#)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "hash is argon2id: {hash}");
    assert!(!hash.contains("hunter2"));
    server.stop().await;
}

#[tokio::test]
async fn invalid_signup_input_names_the_field() {
    let server = auth_server().await;
    let cases = [
        (
            r#"{"username":"al","password":"long enough"}"#,
            "username",
            "at least 3 characters",
        ),
        (
            r#"{"username":"bad name","password":"long enough"}"#,
            "username",
            "is not allowed",
        ),
        (
            r#"{"username":"alice","password":"short"}"#,
            "password",
            "at least 8 characters",
        ),
        (
            r#"{"username":"alice"}"#,
            "password",
            "missing field `password`",
        ),
        (
            r#"{"username":5,"password":"long enough"}"#,
            "username",
            "invalid type",
        ),
    ];
    for (body, field, message) in cases {
        let response = http("POST", &server.url("/auth/signup"), Some(body), None).await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
        assert_eq!(response.body["error"]["code"], "invalid_input");
        assert_eq!(
            response.body["error"]["field"], field,
            "{body}: {}",
            response.text
        );
        let text = response.body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body}: {text}");
    }
    let not_json = http(
        "POST",
        &server.url("/auth/signup"),
        Some("username=alice"),
        None,
    )
    .await;
    assert_eq!(not_json.status, 400);
    assert!(
        not_json.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must be JSON")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_taken_username_is_a_conflict_regardless_of_case() {
    let server = auth_server().await;
    signup(&server, "carol", "long enough password").await;
    let body = r#"{"username":"CAROL","password":"another password"}"#;
    let response = http("POST", &server.url("/auth/signup"), Some(body), None).await;
    assert_eq!(response.status, 409, "{}", response.text);
    assert_eq!(response.body["error"]["code"], "username_taken");
    server.stop().await;
}

#[tokio::test]
async fn login_failures_do_not_reveal_whether_the_username_exists() {
    let server = auth_server().await;
    signup(&server, "dave", "the right password").await;
    let wrong_password = http(
        "POST",
        &server.url("/auth/login"),
        Some(r#"{"username":"dave","password":"the wrong password"}"#),
        None,
    )
    .await;
    let unknown_user = http(
        "POST",
        &server.url("/auth/login"),
        Some(r#"{"username":"nobody","password":"the wrong password"}"#),
        None,
    )
    .await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_user.status, 401);
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(
        wrong_password.body["error"]["message"],
        "invalid username or password"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_tokens_give_no_user() {
    let server = auth_server().await;
    let (good_token, user) = signup(&server, "erin", "long enough password").await;
    let now = chrono::Utc::now().timestamp();
    let user_id = user["id"].to_string();
    let other_secret = b"another-secret-that-is-also-32-bytes-long!!";
    // The first signature character carries no padding bits, so changing it keeps the token
    // well-formed while breaking the signature.
    let (message, signature) = good_token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{message}.{first}{}", &signature[1..]);
    let none_token = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        base64_url(&format!(
            r#"{{"sub":"{user_id}","iat":{now},"exp":{}}}"#,
            now + 3600
        ))
    );
    let cases = [
        (None, "no token was sent"),
        (Some("not-a-jwt".to_owned()), "malformed"),
        (
            Some(forge_token(other_secret, &user_id, now, now + 3600)),
            "signature is invalid",
        ),
        (Some(tampered), "signature is invalid"),
        (Some(none_token), "malformed"),
        (
            Some(forge_token(
                TEST_SECRET.as_bytes(),
                &user_id,
                now - 7200,
                now - 3600,
            )),
            "expired",
        ),
        (
            Some(forge_token(
                TEST_SECRET.as_bytes(),
                "999999",
                now,
                now + 3600,
            )),
            "no longer exists",
        ),
    ];
    for (token, reason) in cases {
        let response = http("GET", &server.url("/auth/me"), None, token.as_deref()).await;
        assert_eq!(response.status, 401, "{token:?}: {}", response.text);
        assert_eq!(response.body["error"]["code"], "unauthorized");
        let message = response.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{token:?}: {message}");
        let whoami = http("GET", &server.url("/whoami"), None, token.as_deref()).await;
        assert_eq!(
            whoami.text, "anonymous",
            "optional extractor gives no user for {token:?}"
        );
    }
    // The valid token still works, and a deleted user's token stops working.
    assert_eq!(
        http("GET", &server.url("/auth/me"), None, Some(&good_token))
            .await
            .status,
        200
    );
    let database: &Database = &server.state.database;
    let deleted = database
        .table::<User>()
        .delete(user["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert!(deleted);
    let after_delete = http("GET", &server.url("/auth/me"), None, Some(&good_token)).await;
    assert_eq!(after_delete.status, 401);
    assert!(
        after_delete.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no longer exists")
    );
    server.stop().await;
}

#[tokio::test]
async fn tokens_expire_after_seven_days_by_default() {
    let server = auth_server().await;
    let (token, _) = signup(&server, "frank", "long enough password").await;
    assert_eq!(lifetime_seconds(&token), 7 * 24 * 60 * 60);
    assert!(claims_of(&token)["sub"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn the_token_lifetime_is_configurable() {
    let server = TestServer::start(|server| {
        server
            .user_table(<User as appc_runtime::codegen::Entity>::schema().clone())
            .token_lifetime(std::time::Duration::from_secs(3600))
    })
    .await;
    let (token, _) = signup(&server, "gus", "long enough password").await;
    assert_eq!(lifetime_seconds(&token), 3600);
    server.stop().await;
}

#[tokio::test]
async fn the_token_lifetime_variable_wins_over_the_servers_own() {
    let server = TestServer::start_with(None, &[("APPC_TOKEN_LIFETIME_SECS", "120")], |server| {
        server
            .user_table(<User as appc_runtime::codegen::Entity>::schema().clone())
            .token_lifetime(std::time::Duration::from_secs(3600))
    })
    .await;
    let (token, _) = signup(&server, "hal", "long enough password").await;
    assert_eq!(lifetime_seconds(&token), 120);
    server.stop().await;
}

/// The claims a token carries (its middle part).
fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&decode_base64_url(payload)).unwrap()
}

/// How long a token is valid, from its claims.
fn lifetime_seconds(token: &str) -> i64 {
    let claims = claims_of(token);
    claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
}

fn decode_base64_url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0_u32;
    let mut bit_count = 0;
    let mut bytes = Vec::new();
    for character in text.bytes() {
        let value = ALPHABET
            .iter()
            .position(|&symbol| symbol == character)
            .unwrap() as u32;
        bits = (bits << 6) | value;
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            bytes.push((bits >> bit_count) as u8);
            bits &= (1 << bit_count) - 1;
        }
    }
    bytes
}

/// A `BigInt` column of the user (marked `json_string`) reaches the client as a decimal string,
/// exactly, in the signup answer and in `/auth/me`; an `Int` column stays a number.
#[tokio::test]
async fn big_integer_user_fields_travel_as_strings() {
    use appc_runtime::Value;
    use appc_runtime::codegen::{ColumnDefault, ColumnSchema, SqlType};
    let beyond_doubles: i64 = 9_007_199_254_740_993;
    let mut table = <User as appc_runtime::codegen::Entity>::schema().clone();
    table.columns.push(
        ColumnSchema::new("karma", SqlType::Integer)
            .default(ColumnDefault::Value(Value::from(beyond_doubles)))
            .json_string(),
    );
    table.columns.push(
        ColumnSchema::new("level", SqlType::Integer)
            .default(ColumnDefault::Value(Value::from(3_i64))),
    );
    let server = TestServer::start(|server| server.user_table(table)).await;
    let (token, user) = signup(&server, "carol", "correct horse battery").await;
    assert_eq!(user["karma"], "9007199254740993", "{user}");
    assert_eq!(user["level"], 3, "{user}");
    let me = http("GET", &server.url("/auth/me"), None, Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["karma"], "9007199254740993");
    server.stop().await;
}
