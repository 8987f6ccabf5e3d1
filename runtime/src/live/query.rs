//! What the generated server declares of each live query ([`LiveQuery`]): its name, the
//! entities it reads, `auth` and `scope: user`, and how to run its function for a subscription
//! group (the same function and input decoding as its HTTP route).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::auth::AuthUser;
use crate::db::Entity;
use crate::error::HttpError;

/// Runs a live query's function for the server: the app's state, the socket's user and the
/// client's input in, the output as JSON out.
pub(crate) type RunLiveQuery = Arc<
    dyn Fn(
            crate::app_state::AppState,
            Option<Arc<AuthUser>>,
            Arc<str>,
        ) -> BoxFuture<'static, Result<serde_json::Value, HttpError>>
        + Send
        + Sync,
>;

/// A live query as the generated server declares it.
///
/// ```
/// # use appc_runtime::codegen::{Entity, LiveQuery};
/// # fn declare<Task: Entity>() -> LiveQuery {
/// LiveQuery::new("getTasks").auth_required().scoped_to_user().entity::<Task>("Task")
/// # }
/// ```
#[derive(Clone)]
pub struct LiveQuery {
    pub(super) name: String,
    pub(super) auth_required: bool,
    pub(super) scoped_to_user: bool,
    /// The entities it reads: (entity name, table name).
    pub(super) entities: Vec<(String, String)>,
    /// Its function; a query declared without one fails with a 500 for its subscribers.
    pub(super) run: Option<RunLiveQuery>,
}

impl std::fmt::Debug for LiveQuery {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LiveQuery")
            .field("name", &self.name)
            .field("auth_required", &self.auth_required)
            .field("scoped_to_user", &self.scoped_to_user)
            .field("entities", &self.entities)
            .field("runs", &self.run.is_some())
            .finish()
    }
}

impl LiveQuery {
    /// A live query named as in `main.wasp`, reading no entity yet.
    pub fn new(name: impl Into<String>) -> Self {
        LiveQuery {
            name: name.into(),
            auth_required: false,
            scoped_to_user: false,
            entities: Vec::new(),
            run: None,
        }
    }

    /// `auth: true`: anonymous sockets may not follow it (their call would be 401).
    pub fn auth_required(mut self) -> Self {
        self.auth_required = true;
        self
    }

    /// `scope: user`: only writes to rows the follower's user owns refresh it.
    pub fn scoped_to_user(mut self) -> Self {
        self.scoped_to_user = true;
        self
    }

    /// An entity it reads, named as in `main.wasp`.
    pub fn entity<E: Entity>(mut self, name: &str) -> Self {
        self.entities
            .push((name.to_owned(), E::schema().name.clone()));
        self
    }

    /// Its function, as the HTTP route runs it (`operation` describes it, `run` is the
    /// generated wrapper around the team's function).
    pub fn runs<Input, Output, Entities, User, Run, Done>(
        mut self,
        operation: &'static crate::operation::OperationSpec,
        run: Run,
    ) -> Self
    where
        Input: crate::operation::OperationInput + Send + 'static,
        Output: Serialize + Send + 'static,
        Entities: crate::context::EntitySet + Send + 'static,
        User: crate::context_user::ContextUser,
        Run: Fn(Input, crate::operation::OperationContext<Entities, User>) -> Done
            + Copy
            + Send
            + Sync
            + 'static,
        Done: Future<Output = Result<Output, HttpError>> + Send + 'static,
    {
        self.run = Some(Arc::new(move |state, user, input| {
            Box::pin(crate::operation::run_live_query(
                state, operation, user, input, run,
            ))
        }));
        self
    }
}
