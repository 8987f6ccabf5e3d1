//! The server as a whole: auth on PostgreSQL end to end, graceful shutdown that lets an
//! in-flight request finish, the web client's static files with client-side routes, and CORS.

mod common;

use std::time::Duration;

use appc_runtime::axum::routing::get;
use appc_runtime::codegen::Entity;
use common::{TestServer, User, http, http_with_headers, signup};

#[tokio::test]
async fn auth_works_end_to_end_on_postgres() {
    let Some(database_url) = common::fresh_postgres_url().await else {
        return;
    };
    let server = TestServer::start_on(Some(database_url), |server| {
        server.user_table(User::schema().clone())
    })
    .await;
    let (token, user) = signup(&server, "pat", "long enough password").await;
    assert!(user.get("passwordHash").is_none());
    let me = http("GET", &server.url("/auth/me"), None, Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "pat");
    let taken = http(
        "POST",
        &server.url("/auth/signup"),
        Some(r#"{"username":"PAT","password":"long enough password"}"#),
        None,
    )
    .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    let wrong = http(
        "POST",
        &server.url("/auth/login"),
        Some(r#"{"username":"pat","password":"not the password"}"#),
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn auth_works_with_uuid_user_ids() {
    use appc_runtime::codegen::{ColumnDefault, ColumnSchema, SqlType, TableSchema};
    let account = TableSchema::new("Account")
        .column(
            ColumnSchema::new("id", SqlType::Text)
                .primary_key()
                .default(ColumnDefault::Uuid),
        )
        .column(ColumnSchema::new("username", SqlType::Text).unique())
        .column(
            ColumnSchema::new("isAdmin", SqlType::Boolean)
                .default(ColumnDefault::Value(false.into())),
        );
    let server = TestServer::start(|server| server.user_table(account)).await;
    let (token, user) = signup(&server, "uma", "long enough password").await;
    assert_eq!(user["id"].as_str().map(str::len), Some(36), "{user}");
    assert_eq!(user["isAdmin"], false);
    let me = http("GET", &server.url("/auth/me"), None, Some(&token)).await;
    assert_eq!(me.body, user);
    server.stop().await;
}

#[tokio::test]
async fn a_user_entity_that_signup_cannot_fill_is_refused_at_start_up() {
    use appc_runtime::codegen::{ColumnDefault, ColumnSchema, SqlType, TableSchema};
    let id = || {
        ColumnSchema::new("id", SqlType::Integer)
            .primary_key()
            .default(ColumnDefault::Autoincrement)
    };
    let cases = [
        (
            TableSchema::new("User")
                .column(id())
                .column(ColumnSchema::new("username", SqlType::Text).unique())
                .column(ColumnSchema::new("email", SqlType::Text)),
            "the user entity `User` has the required field `email` without a default, but signup only receives a username and a password; make it optional (`?`) or give it a @default",
        ),
        (
            TableSchema::new("User")
                .column(id())
                .column(ColumnSchema::new("username", SqlType::Text)),
            "the user entity `User` needs a `username String @unique` field for usernameAndPassword auth",
        ),
        (
            TableSchema::new("User").column(ColumnSchema::new("username", SqlType::Text).unique()),
            "the user entity `User` needs an `id Int @id` or `id String @id` field",
        ),
    ];
    for (user_table, expected) in cases {
        let data_dir = tempfile::tempdir().unwrap();
        let config = common::test_config(data_dir.path(), None);
        let error = appc_runtime::codegen::Server::new(config)
            .user_table(user_table)
            .bind()
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), expected);
    }
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let server = TestServer::start(|server| {
        server.routes(|router| {
            router.route(
                "/slow",
                get(async || {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    "finished"
                }),
            )
        })
    })
    .await;
    let url = server.url("/slow");
    let request = tokio::spawn(async move { http("GET", &url, None, None).await });
    // Let the request reach the handler before asking the server to stop.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let address = server.address;
    server.stop().await;
    let response = request.await.unwrap();
    assert_eq!((response.status, response.text.as_str()), (200, "finished"));
    let refused = tokio::net::TcpStream::connect(address).await;
    assert!(refused.is_err(), "the server no longer accepts connections");
}

#[tokio::test]
async fn the_web_client_is_served_with_client_side_routes() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>app</title>",
    )
    .unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app.js"), "console.log('hi')").unwrap();
    let web_path = web.path().to_owned();
    let server = TestServer::start(|server| {
        server
            .user_table(User::schema().clone())
            .static_dir(web_path)
    })
    .await;
    let index = http("GET", &server.url("/"), None, None).await;
    assert_eq!(
        (index.status, index.text.as_str()),
        (200, "<!doctype html><title>app</title>")
    );
    let script = http("GET", &server.url("/assets/app.js"), None, None).await;
    assert_eq!(script.text, "console.log('hi')");
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    let client_route = http("GET", &server.url("/rooms/42"), None, None).await;
    assert_eq!(
        client_route.text, "<!doctype html><title>app</title>",
        "unknown paths get index.html"
    );
    let api = http("GET", &server.url("/auth/me"), None, None).await;
    assert_eq!(api.status, 401, "routes win over static files");
    server.stop().await;
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    // The test configuration is production mode without CORS_ORIGINS: same origin only.
    let server = TestServer::start(|server| server.user_table(User::schema().clone())).await;
    let preflight = [
        ("origin", "https://evil.example.com"),
        ("access-control-request-method", "POST"),
    ];
    let response = http_with_headers(
        "OPTIONS",
        &server.url("/auth/login"),
        None,
        None,
        &preflight,
    )
    .await;
    assert!(
        response
            .headers
            .get("access-control-allow-origin")
            .is_none()
    );
    server.stop().await;

    let data_dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", data_dir.path().join("cors.db").display());
    let config = appc_runtime::Config::from_variables(
        appc_runtime::codegen::ConfigDefaults::new(data_dir.path())
            .mode(appc_runtime::Mode::Production),
        |name| match name {
            "PORT" => Some("0".to_owned()),
            "JWT_SECRET" => Some(common::TEST_SECRET.to_owned()),
            "DATABASE_URL" => Some(database_url.clone()),
            "CORS_ORIGINS" => Some("https://app.example.com".to_owned()),
            _ => None,
        },
    )
    .unwrap();
    let bound = appc_runtime::codegen::Server::new(config)
        .user_table(User::schema().clone())
        .bind()
        .await
        .unwrap();
    let url = format!("http://{}/auth/login", bound.local_address());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bound.run_until(async move {
        let _ = stopped.await;
    }));
    let allowed = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "POST"),
    ];
    let response = http_with_headers("OPTIONS", &url, None, None, &allowed).await;
    assert_eq!(
        response.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = http_with_headers("OPTIONS", &url, None, None, &preflight).await;
    assert!(refused.headers.get("access-control-allow-origin").is_none());
    stop.send(()).unwrap();
    tokio::time::timeout(common::WAIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
