//! The team's server hooks through the `Server` builder: a setup function that runs on the
//! migrated database before the server listens (and one whose error stops the start), the
//! middleware function's routes and layers around the app's HTTP routes, and seeds run by name.

mod common;

use appc_runtime::axum::http::HeaderValue;
use appc_runtime::axum::response::Response;
use appc_runtime::axum::routing::get;
use appc_runtime::codegen::{Entity, EntitySet, SeedError, ServeError, Server};
use appc_runtime::{BoxError, Database, Query, ServerContext, Table};
use common::{Message, NewMessage, TestServer, User, http, test_config};

/// What the generator emits as `crate::app::server::Entities`: every entity of the app.
#[derive(Debug, Clone)]
struct AllEntities {
    message: Table<Message>,
}

impl EntitySet for AllEntities {
    fn from_database(database: &Database) -> Self {
        AllEntities {
            message: database.table(),
        }
    }
}

type Context = ServerContext<AllEntities>;

async fn post(ctx: Context, text: &str) -> Result<(), BoxError> {
    ctx.entities
        .message
        .create(NewMessage {
            text: text.to_owned(),
            room: None,
            author_id: None,
            metadata: None,
        })
        .await?;
    Ok(())
}

async fn mark(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-team-layer", HeaderValue::from_static("yes"));
    response
}

#[tokio::test]
async fn the_setup_function_runs_before_the_server_listens_and_the_middleware_wraps_the_routes() {
    let server = TestServer::start(|server| {
        server
            .user_table(User::schema().clone())
            .tables([Message::schema().clone()])
            .setup("setup", "src/server/setup.rs", |state| {
                post(Context::new(&state), "written by setup")
            })
            .middleware(|router| {
                router
                    .route("/api/health", get(|| async { "healthy" }))
                    .layer(appc_runtime::axum::middleware::map_response(mark))
            })
    })
    .await;
    // `bind` returned, so the setup function has finished: its row is there.
    let messages = server
        .state
        .database
        .table::<Message>()
        .find_many(Query::new())
        .await
        .unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text, "written by setup");

    let health = http("GET", &server.url("/api/health"), None, None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.text, "healthy");
    assert_eq!(health.headers["x-team-layer"], "yes");
    // The layer wraps the app's own routes too.
    let me = http("GET", &server.url("/auth/me"), None, None).await;
    assert_eq!(me.status, 401);
    assert_eq!(me.headers["x-team-layer"], "yes");
    server.stop().await;
}

#[tokio::test]
async fn a_failing_setup_function_stops_the_start_with_its_message() {
    let data_dir = tempfile::tempdir().unwrap();
    let result = Server::new(test_config(data_dir.path(), None))
        .setup("setup", "src/server/setup.rs", |_| async {
            Err::<(), _>("no admin user is configured")
        })
        .bind()
        .await;
    let Err(error) = result else {
        panic!("the server bound although its setup function failed");
    };
    assert!(matches!(error, ServeError::Setup { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the server's setup function `setup` in `src/server/setup.rs` failed: no admin user is configured; the server did not start"
    );
}

#[tokio::test]
async fn a_seed_runs_by_name_on_the_migrated_database() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = || {
        Server::new(test_config(data_dir.path(), None))
            .user_table(User::schema().clone())
            .tables([Message::schema().clone()])
            .setup("setup", "src/server/setup.rs", |state| {
                post(Context::new(&state), "setup must not run while seeding")
            })
            .seed("seed_messages", "src/server/seeds.rs", |state| {
                post(Context::new(&state), "seeded")
            })
            .seed("seed_failing", "src/server/seeds.rs", |_| async {
                Err::<(), _>(std::io::Error::other("the seed data is missing"))
            })
    };
    server().run_seed("seed_messages").await.unwrap();

    let unknown = server().run_seed("seed_message").await.unwrap_err();
    assert!(matches!(unknown, SeedError::Unknown(_)), "{unknown:?}");
    assert_eq!(
        unknown.to_string(),
        "there is no seed `seed_message` in `db.seeds`; the seeds are `seed_messages`, `seed_failing`"
    );
    let failed = server().run_seed("seed_failing").await.unwrap_err();
    assert_eq!(
        failed.to_string(),
        "the seed `seed_failing` in `src/server/seeds.rs` failed: the seed data is missing"
    );

    let database = Database::connect(&test_config(data_dir.path(), None).database_url)
        .await
        .unwrap();
    let texts: Vec<String> = database
        .table::<Message>()
        .find_many(Query::new())
        .await
        .unwrap()
        .into_iter()
        .map(|message| message.text)
        .collect();
    assert_eq!(texts, ["seeded"], "only the seed wrote, once");
    database.close().await;
}
