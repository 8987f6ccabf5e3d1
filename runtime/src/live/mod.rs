//! Live queries: a client that mounts a live query receives its result again whenever a
//! committed write changes one of the query's entities, pushed over the built-in Socket.IO
//! namespace [`LIVE_NAMESPACE`], with no socket code from the team.
//!
//! The design is server-computed results. The server runs the query's own function with the
//! socket's own user (from the socket's handshake token, never from the client's message) and
//! the client's input, once per group of sockets that share (query, input, user), and sends
//! the same JSON to each socket of the group: what a client receives is exactly what its own
//! call of the query would answer it, never more. Notify-then-refetch (every client refetching
//! over HTTP after every change) was measured first and could not keep 1,000 clients under
//! 200 ms at 100 writes/s; computing once per group and broadcasting one serialized message is
//! what keeps the cost bounded. 1,000 tabs of one user, or 1,000 anonymous viewers of a query,
//! cost one computation per refresh; 1,000 users, 1,000 computations.
//!
//! The parts:
//! - `query` ([`LiveQuery`]): what the generated server declares per live query (name, entities, `auth`,
//!   `scope: user`, and how to run its function).
//! - `affected`: which entities a committed [`TableChange`] concerns (deletions cascade), with
//!   the users owning the changed rows.
//! - `groups`: the subscription groups, their coalescing (one computation at a time, at most
//!   one per window after the first), and the `update` they push.
//! - `relay`: with Redis, the committed changes of every process reach the others' groups.
//! - [`LiveHub`]: the entity layer's [`ChangeListener`], and the namespace's protocol:
//!   `subscribe` (a list of `{ query, input }`, acknowledged with a list of
//!   `{ id, version, data | error }`, or `{ error }` for a refused one), `unsubscribe` (a list
//!   of ids) and the server's `update` (`{ id, version, data | error }`).

mod affected;
mod groups;
mod query;
mod relay;

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::db::{ChangeListener, TableChange, TableSchema};
use crate::error::HttpError;
use crate::socket::{AckSender, NamespaceConfig, RedisDriver, SocketIo, SocketRef, on_in_order};

use affected::WatchedTables;
use groups::{ErrorBody, GroupId, Groups, Joined, QueryRunner, Update, UpdateSender};
pub use query::LiveQuery;
use relay::ChangeRelay;

/// The Socket.IO namespace that carries live queries.
pub const LIVE_NAMESPACE: &str = "/appc-live";

/// The event a client sends with the live queries it mounts (acknowledged with their results).
pub const SUBSCRIBE_EVENT: &str = "subscribe";

/// The event a client sends with the ids of the subscriptions it no longer needs.
pub const UNSUBSCRIBE_EVENT: &str = "unsubscribe";

/// The event the server sends with a subscription's new result.
pub const UPDATE_EVENT: &str = "update";

/// How often at most one group is computed again after its first change (the first change
/// after a quiet window is computed at once).
pub const DEFAULT_WINDOW: Duration = crate::config::DEFAULT_LIVE_WINDOW;

/// Runs the queries with the app's state, and counts subscriptions against the client's
/// allowance of operations.
struct StateRunner(crate::app_state::AppState);

impl QueryRunner for StateRunner {
    fn run(
        &self,
        query: &LiveQuery,
        user: Option<Arc<AuthUser>>,
        input: Arc<str>,
    ) -> BoxFuture<'static, Result<serde_json::Value, HttpError>> {
        match &query.run {
            Some(run) => run(self.0.clone(), user, input),
            None => {
                let name = query.name.clone();
                Box::pin(async move {
                    Err(HttpError::internal(format_args!(
                        "the live query `{name}` was declared without its function"
                    )))
                })
            }
        }
    }
}

/// Sends through socketioxide to the group's room on this process only: every process pushes
/// to its own sockets.
struct SocketIoSender(SocketIo);

impl UpdateSender for SocketIoSender {
    fn send(&self, update: Update) {
        let io = self.0.clone();
        tokio::spawn(async move {
            let Some(namespace) = io.of(LIVE_NAMESPACE) else {
                return;
            };
            if let Err(error) = namespace
                .to(group_room(update.id))
                .local()
                .emit(UPDATE_EVENT, &update)
                .await
            {
                tracing::debug!(%error, group = update.id, "a live-query update was not sent to every socket");
            }
        });
    }
}

fn group_room(id: GroupId) -> String {
    format!("live:{id}")
}

/// One item of a `subscribe` message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscription {
    query: String,
    #[serde(default)]
    input: serde_json::Value,
}

/// The live queries' hub: the groups of this process, the entity layer's listener, and the
/// relay to the other processes.
#[derive(Clone)]
pub struct LiveHub {
    shared: Arc<HubShared>,
}

struct HubShared {
    tables: WatchedTables,
    groups: Arc<Groups>,
    relay: OnceLock<ChangeRelay>,
    /// The app's state, whose operations limiter counts each subscription as one call.
    state: crate::app_state::AppState,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (groups, sockets) = self.shared.groups.counts();
        formatter
            .debug_struct("LiveHub")
            .field("groups", &groups)
            .field("sockets", &sockets)
            .finish_non_exhaustive()
    }
}

impl LiveHub {
    /// A hub for `queries` over the app's `tables` (the user table among them, named
    /// `user_table`), running the queries with `state` and pushing through its sockets.
    pub(crate) fn new(
        queries: Vec<LiveQuery>,
        tables: &[&TableSchema],
        user_table: Option<&str>,
        state: &crate::app_state::AppState,
        window: Duration,
        subscriptions_per_socket: usize,
    ) -> Self {
        let read: Vec<(String, String)> = queries
            .iter()
            .flat_map(|query| query.entities.iter().cloned())
            .collect();
        let tables = WatchedTables::new(
            read.iter()
                .map(|(entity, table)| (entity.as_str(), table.as_str())),
            tables,
            user_table,
        );
        LiveHub {
            shared: Arc::new(HubShared {
                tables,
                groups: Groups::new(
                    queries,
                    Arc::new(StateRunner(state.clone())),
                    Arc::new(SocketIoSender(state.emitter.io().clone())),
                    window,
                    subscriptions_per_socket,
                ),
                relay: OnceLock::new(),
                state: state.clone(),
            }),
        }
    }

    /// With Redis: publishes this process's committed changes to the others and refreshes
    /// this process's groups for theirs.
    pub(crate) async fn relay_through(
        &self,
        driver: RedisDriver,
        prefix: &str,
    ) -> Result<(), redis::RedisError> {
        let hub: Weak<HubShared> = Arc::downgrade(&self.shared);
        let catching_up = hub.clone();
        let relay = ChangeRelay::start(
            driver,
            prefix,
            move |changes| {
                if let Some(shared) = hub.upgrade() {
                    shared.apply(&changes);
                }
            },
            move || {
                if let Some(shared) = catching_up.upgrade() {
                    shared.groups.refresh_all();
                }
            },
        )
        .await?;
        let _ = self.shared.relay.set(relay);
        Ok(())
    }

    /// The built-in namespace: `subscribe` and `unsubscribe`, with the user of the socket's
    /// handshake token. Both are registered in the socket's order and under its event limits
    /// (`on_in_order`): an event sent right after connecting is held until they are in place,
    /// and each event's changes to the socket's groups are made in the synchronous part of its
    /// handler, which runs in arrival order, so `unsubscribe` then `subscribe` frees the place
    /// before it is taken, and a subscription is never dropped by an earlier `unsubscribe`.
    pub(crate) fn namespace(&self) -> NamespaceConfig {
        let hub = self.clone();
        NamespaceConfig::new(LIVE_NAMESPACE).on_connect(move |connection| {
            let user = connection.user.map(Arc::new);
            let socket = connection.socket;
            let subscribing = hub.clone();
            on_in_order(
                &socket,
                SUBSCRIBE_EVENT,
                move |socket: SocketRef, items: serde_json::Value, ack: AckSender| {
                    let hub = subscribing.clone();
                    let joined = hub.join_all(&socket, user.as_ref(), items);
                    async move {
                        let answers = hub.first_results(&socket, joined).await;
                        ack.send(&answers).ok();
                    }
                },
            );
            let unsubscribing = hub.clone();
            on_in_order(
                &socket,
                UNSUBSCRIBE_EVENT,
                move |socket: SocketRef, ids: serde_json::Value, _: AckSender| {
                    let ids: Vec<GroupId> = serde_json::from_value(ids).unwrap_or_default();
                    unsubscribing.leave(&socket, &ids);
                    async {}
                },
            );
            let disconnecting = hub.clone();
            let id = socket.id;
            socket.on_disconnect(async move || disconnecting.shared.groups.forget(id));
            async {}
        })
    }

    /// The synchronous part of a `subscribe`: each item of the list is refused or its socket
    /// joins its group (and the group's room); anything but a list joins nothing.
    fn join_all(
        &self,
        socket: &SocketRef,
        user: Option<&Arc<AuthUser>>,
        items: serde_json::Value,
    ) -> Vec<Result<Joined, ErrorBody>> {
        let serde_json::Value::Array(items) = items else {
            return Vec::new();
        };
        items
            .into_iter()
            .map(|item| self.join_one(socket, user, item))
            .collect()
    }

    fn join_one(
        &self,
        socket: &SocketRef,
        user: Option<&Arc<AuthUser>>,
        item: serde_json::Value,
    ) -> Result<Joined, ErrorBody> {
        let subscription: Subscription =
            serde_json::from_value(item).map_err(|error| ErrorBody {
                status: 400,
                code: "invalid_input".to_owned(),
                message: format!(
                    "a subscription is `{{ \"query\": <name>, \"input\"?: <its input> }}`: {error}"
                ),
            })?;
        crate::operation::count_live_subscription(
            &self.shared.state,
            socket.req_parts(),
            user.map(|user| &**user),
        )
        .map_err(|error| ErrorBody::from(&error))?;
        let joined = self
            .shared
            .groups
            .join(socket.id, &subscription.query, subscription.input, user)
            .map_err(|refusal| refusal.to_error_body())?;
        socket.join(group_room(joined.id));
        Ok(joined)
    }

    /// The asynchronous part of a `subscribe`: the answer of each item, a result for those
    /// that joined their group.
    async fn first_results(
        &self,
        socket: &SocketRef,
        joined: Vec<Result<Joined, ErrorBody>>,
    ) -> Vec<serde_json::Value> {
        let mut answers = Vec::with_capacity(joined.len());
        for item in joined {
            let answer = match item {
                Ok(joined) => {
                    let first = self.shared.groups.first_result(&joined).await;
                    match &first.error {
                        // An input the query refuses would be refused on every change: no
                        // subscription.
                        Some(error) if error.code == "invalid_input" => {
                            self.leave(socket, &[joined.id]);
                            Err(error.clone())
                        }
                        _ => Ok(first),
                    }
                }
                Err(error) => Err(error),
            };
            answers.push(match answer {
                Ok(update) => serde_json::to_value(&update).unwrap_or_default(),
                Err(error) => serde_json::json!({ "error": error }),
            });
        }
        answers
    }

    fn leave(&self, socket: &SocketRef, ids: &[GroupId]) {
        for id in self.shared.groups.leave(socket.id, ids) {
            socket.leave(group_room(id));
        }
    }
}

impl HubShared {
    /// Refreshes the groups that committed `changes` concern.
    fn apply(&self, changes: &[TableChange]) {
        let affected = self.tables.affected(changes);
        if !affected.is_empty() {
            self.groups.changed(&affected);
        }
    }
}

impl ChangeListener for LiveHub {
    fn watches(&self, table: &str) -> bool {
        self.shared.tables.watches(table)
    }

    fn owner_schema(&self, table: &str) -> Option<&TableSchema> {
        self.shared.tables.owner_schema(table)
    }

    fn committed(&self, changes: Vec<TableChange>) {
        self.shared.apply(&changes);
        if let Some(relay) = self.shared.relay.get() {
            relay.publish(changes);
        }
    }
}

#[cfg(test)]
mod tests;
