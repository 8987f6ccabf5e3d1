//! Subscription groups: the sockets that follow one live query with one input as one user,
//! the result the server computes once for all of them, and when it is computed again.
//!
//! A group is keyed by (query, input, user): what its function answers depends on nothing
//! else (the function receives the input and the user, and reads the database), so every
//! socket of the group may receive the same result, and none receives what its own call would
//! not answer it. An anonymous socket's group has no user.
//!
//! Coalescing: a change to one of the group's entities (for `scope: user`, to rows its user
//! owns) marks the group dirty. One refresher task per dirty group computes the result and
//! pushes it to the group's room: at once when the group was quiet for a whole window, else
//! when the window since the last computation ends, with every change of the window in one
//! computation. At most one computation of a group runs at a time; a group whose sockets all
//! left is dropped, its refresher with it.
//!
//! Cost: computations of all groups share [`COMPUTATIONS_PER_CORE`] slots per core, so that a
//! write concerning thousands of groups queues them rather than starving HTTP requests.
//!
//! Ordering: every computation gets the next version of its group when it starts, so that a
//! client can keep the newest result when an acknowledgement and a push cross.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;
use socketioxide::socket::Sid;
use tokio::time::Instant;

use super::affected::Affected;
use super::query::LiveQuery;
use crate::auth::AuthUser;
use crate::error::HttpError;

/// A group's number, the same for all its sockets on this process.
pub(crate) type GroupId = u64;

/// Runs a live query's function; the server's runs it with the app's state.
pub(crate) trait QueryRunner: Send + Sync + 'static {
    /// What `query` answers `user` for `input` (its JSON text, `null` for none), as JSON.
    fn run(
        &self,
        query: &LiveQuery,
        user: Option<Arc<AuthUser>>,
        input: Arc<str>,
    ) -> BoxFuture<'static, Result<serde_json::Value, HttpError>>;
}

/// Sends one group's new result to the sockets of its room; the only way out, so tests can
/// watch it.
pub(crate) trait UpdateSender: Send + Sync + 'static {
    fn send(&self, update: Update);
}

/// An error a query answered, as a client receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ErrorBody {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl From<&HttpError> for ErrorBody {
    fn from(error: &HttpError) -> Self {
        ErrorBody {
            status: error.status().as_u16(),
            code: error.code().to_owned(),
            message: error.message().to_owned(),
        }
    }
}

/// What one computation of a group gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Data(serde_json::Value),
    Error(ErrorBody),
}

impl From<Result<serde_json::Value, HttpError>> for Outcome {
    fn from(result: Result<serde_json::Value, HttpError>) -> Self {
        match result {
            Ok(data) => Outcome::Data(data),
            Err(error) => Outcome::Error(ErrorBody::from(&error)),
        }
    }
}

/// A group's result as the wire carries it, in an acknowledgement or an `update`:
/// `{ "id", "version", "data" }` or `{ "id", "version", "error" }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Update {
    pub(crate) id: GroupId,
    pub(crate) version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ErrorBody>,
}

impl Update {
    fn new(id: GroupId, version: u64, outcome: Outcome) -> Self {
        let (data, error) = match outcome {
            Outcome::Data(data) => (Some(data), None),
            Outcome::Error(error) => (None, Some(error)),
        };
        Update {
            id,
            version,
            data,
            error,
        }
    }
}

/// Why a subscription was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No live query of that name (or it has `live: false`).
    UnknownQuery(String),
    /// `auth: true` and the socket has no user.
    Unauthorized(String),
    /// The socket already follows as many groups as it may.
    TooMany { limit: usize },
}

impl Refusal {
    pub(crate) fn to_error_body(&self) -> ErrorBody {
        let (status, code, message) = match self {
            Refusal::UnknownQuery(name) => (
                404,
                "unknown_query",
                format!(
                    "`{name}` is not a live query of this app; check its name in main.wasp, and that it has no `live: false`"
                ),
            ),
            Refusal::Unauthorized(name) => (
                401,
                "unauthorized",
                format!("`{name}` needs a logged-in user; connect with a valid token"),
            ),
            Refusal::TooMany { limit } => (
                429,
                "too_many_subscriptions",
                format!(
                    "this connection already follows {limit} live queries, the most it may (APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET); unmount some first"
                ),
            ),
        };
        ErrorBody {
            status,
            code: code.to_owned(),
            message,
        }
    }
}

/// Who a group computes for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    query: String,
    /// The input as canonical JSON (object keys sorted), so equal inputs meet; each
    /// computation decodes it.
    input: Arc<str>,
    user: Option<String>,
}

struct Group {
    id: GroupId,
    key: GroupKey,
    query: Arc<LiveQuery>,
    user: Option<Arc<AuthUser>>,
    /// The user's id as owners print it, for `scope: user`.
    user_id: Option<String>,
    state: Mutex<GroupState>,
}

#[derive(Default)]
struct GroupState {
    /// Sockets of this process in the group.
    members: usize,
    /// A change since the last computation started.
    dirty: bool,
    /// A refresher task runs for this group.
    refreshing: bool,
    /// When the refresher's last computation started.
    last_started: Option<Instant>,
    /// The version the last computation got.
    version: u64,
    /// The newest result computed, with its version: what a new socket of the group gets
    /// without a computation while nothing changed since.
    latest: Option<(u64, Outcome)>,
    /// The last result pushed to the room, and whether an acknowledgement gave some socket a
    /// result since (then the next push goes out even when equal to the last one).
    last_pushed: Option<Outcome>,
    acked_since_push: bool,
}

impl Group {
    fn state(&self) -> MutexGuard<'_, GroupState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn concerned_by(&self, affected: &Affected) -> bool {
        if !self
            .query
            .entities
            .iter()
            .any(|(entity, _)| entity == &affected.entity)
        {
            return false;
        }
        if !self.query.scoped_to_user {
            return true;
        }
        match (&affected.owners, &self.user_id) {
            (None, _) => true,
            (Some(owners), Some(user)) => owners.contains(user),
            (Some(_), None) => false,
        }
    }
}

#[derive(Default)]
struct Registry {
    by_key: HashMap<GroupKey, GroupId>,
    groups: HashMap<GroupId, Arc<Group>>,
    /// The groups each socket is in.
    members: HashMap<Sid, HashSet<GroupId>>,
    /// The groups whose query reads each entity.
    by_entity: HashMap<String, HashSet<GroupId>>,
}

/// Every group of this process.
pub(crate) struct Groups {
    queries: HashMap<String, Arc<LiveQuery>>,
    runner: Arc<dyn QueryRunner>,
    sender: Arc<dyn UpdateSender>,
    window: Duration,
    max_per_socket: usize,
    next_id: AtomicU64,
    registry: Mutex<Registry>,
    /// Computations running at once, across groups: a write that concerns many groups (or
    /// clients that subscribe to many inputs on purpose) queues them instead of taking every
    /// database connection and core from the HTTP requests.
    computations: tokio::sync::Semaphore,
}

/// How many group computations run at once, per core.
pub(crate) const COMPUTATIONS_PER_CORE: usize = 2;

/// A socket's place in a group, before its first result.
pub(crate) struct Joined {
    pub(crate) id: GroupId,
    group: Arc<Group>,
}

impl Groups {
    pub(crate) fn new(
        queries: impl IntoIterator<Item = LiveQuery>,
        runner: Arc<dyn QueryRunner>,
        sender: Arc<dyn UpdateSender>,
        window: Duration,
        max_per_socket: usize,
    ) -> Arc<Self> {
        Arc::new(Groups {
            queries: queries
                .into_iter()
                .map(|query| (query.name.clone(), Arc::new(query)))
                .collect(),
            runner,
            sender,
            window,
            max_per_socket,
            next_id: AtomicU64::new(1),
            registry: Mutex::new(Registry::default()),
            computations: tokio::sync::Semaphore::new(
                COMPUTATIONS_PER_CORE
                    * std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            ),
        })
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Puts `socket` in the group of (`query`, `input`, `user`), creating it when it is the
    /// first; the socket must join the group's room before asking for [`Groups::first_result`],
    /// so that no push of a later change misses it.
    pub(crate) fn join(
        &self,
        socket: Sid,
        query: &str,
        input: serde_json::Value,
        user: Option<&Arc<AuthUser>>,
    ) -> Result<Joined, Refusal> {
        let Some(query) = self.queries.get(query) else {
            return Err(Refusal::UnknownQuery(query.to_owned()));
        };
        if query.auth_required && user.is_none() {
            return Err(Refusal::Unauthorized(query.name.clone()));
        }
        let user_id = user.map(|user| user.id().to_string());
        let key = GroupKey {
            query: query.name.clone(),
            input: Arc::from(input.to_string()),
            user: user_id.clone(),
        };
        let mut registry = self.registry();
        let existing = registry.by_key.get(&key).copied();
        let followed = registry.members.get(&socket);
        if let Some(id) = existing
            && followed.is_some_and(|groups| groups.contains(&id))
        {
            let group = registry.groups[&id].clone();
            return Ok(Joined { id, group });
        }
        if followed.map_or(0, HashSet::len) >= self.max_per_socket {
            return Err(Refusal::TooMany {
                limit: self.max_per_socket,
            });
        }
        let id = match existing {
            Some(id) => id,
            None => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let group = Arc::new(Group {
                    id,
                    key: key.clone(),
                    query: query.clone(),
                    user: user.cloned(),
                    user_id,
                    state: Mutex::new(GroupState::default()),
                });
                for (entity, _) in &query.entities {
                    registry
                        .by_entity
                        .entry(entity.clone())
                        .or_default()
                        .insert(id);
                }
                registry.by_key.insert(key, id);
                registry.groups.insert(id, group);
                id
            }
        };
        registry.members.entry(socket).or_default().insert(id);
        let group = registry.groups[&id].clone();
        group.state().members += 1;
        Ok(Joined { id, group })
    }

    /// The result a socket that just joined gets: the newest one computed, when nothing
    /// changed since, else a fresh computation.
    pub(crate) async fn first_result(&self, joined: &Joined) -> Update {
        let group = &joined.group;
        let version = {
            let mut state = group.state();
            if !state.dirty
                && !state.refreshing
                && let Some((version, outcome)) = state.latest.clone()
            {
                state.acked_since_push = true;
                return Update::new(group.id, version, outcome);
            }
            state.version += 1;
            state.version
        };
        let outcome = self.compute(group).await;
        let mut state = group.state();
        state.acked_since_push = true;
        if state
            .latest
            .as_ref()
            .is_none_or(|(newest, _)| *newest < version)
        {
            state.latest = Some((version, outcome.clone()));
        }
        Update::new(group.id, version, outcome)
    }

    /// Takes `socket` out of the groups `ids`; returns those it was in.
    pub(crate) fn leave(&self, socket: Sid, ids: &[GroupId]) -> Vec<GroupId> {
        let mut registry = self.registry();
        let mut left = Vec::new();
        for id in ids {
            let was_member = registry
                .members
                .get_mut(&socket)
                .is_some_and(|groups| groups.remove(id));
            if was_member {
                left.push(*id);
                release(&mut registry, *id);
            }
        }
        if registry.members.get(&socket).is_some_and(HashSet::is_empty) {
            registry.members.remove(&socket);
        }
        left
    }

    /// Takes a disconnected socket out of every group.
    pub(crate) fn forget(&self, socket: Sid) {
        let mut registry = self.registry();
        if let Some(ids) = registry.members.remove(&socket) {
            for id in ids {
                release(&mut registry, id);
            }
        }
    }

    /// How many groups exist, and how many sockets follow at least one (for tests and logs).
    pub(crate) fn counts(&self) -> (usize, usize) {
        let registry = self.registry();
        (registry.groups.len(), registry.members.len())
    }

    /// Marks the groups `affected` concerns dirty and starts their refreshers.
    pub(crate) fn changed(self: &Arc<Self>, affected: &[Affected]) {
        let mut to_start = Vec::new();
        {
            let registry = self.registry();
            let mut seen = HashSet::new();
            for change in affected {
                let Some(ids) = registry.by_entity.get(&change.entity) else {
                    continue;
                };
                for id in ids {
                    let group = &registry.groups[id];
                    if group.concerned_by(change) && seen.insert(*id) {
                        mark_dirty(group, &mut to_start);
                    }
                }
            }
        }
        self.start_refreshers(to_start);
    }

    /// Marks every group dirty: after changes may have been missed (Redis was away).
    pub(crate) fn refresh_all(self: &Arc<Self>) {
        let mut to_start = Vec::new();
        for group in self.registry().groups.values() {
            mark_dirty(group, &mut to_start);
        }
        self.start_refreshers(to_start);
    }

    fn start_refreshers(self: &Arc<Self>, groups: Vec<Arc<Group>>) {
        for group in groups {
            tokio::spawn(self.clone().refresh(group));
        }
    }

    /// The refresher of one group: computes and pushes while changes come, at most once per
    /// window, and ends once the group is clean or empty.
    async fn refresh(self: Arc<Self>, group: Arc<Group>) {
        loop {
            let due = group.state().last_started.map(|last| last + self.window);
            if let Some(due) = due {
                tokio::time::sleep_until(due).await;
            }
            let version = {
                let mut state = group.state();
                if !state.dirty || state.members == 0 {
                    state.refreshing = false;
                    return;
                }
                state.dirty = false;
                state.last_started = Some(Instant::now());
                state.version += 1;
                state.version
            };
            let outcome = self.compute(&group).await;
            let send = {
                let mut state = group.state();
                if state
                    .latest
                    .as_ref()
                    .is_none_or(|(newest, _)| *newest < version)
                {
                    state.latest = Some((version, outcome.clone()));
                }
                let unchanged =
                    !state.acked_since_push && state.last_pushed.as_ref() == Some(&outcome);
                state.acked_since_push = false;
                state.last_pushed = Some(outcome.clone());
                !unchanged && state.members > 0
            };
            if send {
                self.sender.send(Update::new(group.id, version, outcome));
            }
        }
    }

    async fn compute(&self, group: &Group) -> Outcome {
        // Never closed, so acquiring fails only if it were; computing anyway is then harmless.
        let _permit = self.computations.acquire().await;
        let result = self
            .runner
            .run(&group.query, group.user.clone(), group.key.input.clone())
            .await;
        if let Err(error) = &result
            && error.status().is_server_error()
        {
            tracing::warn!(
                query = %group.query.name,
                %error,
                "a live query failed; its followers get the error"
            );
        }
        Outcome::from(result)
    }
}

/// Marks `group` dirty, and adds it to `to_start` when no refresher runs for it yet.
fn mark_dirty(group: &Arc<Group>, to_start: &mut Vec<Arc<Group>>) {
    let mut state = group.state();
    state.dirty = true;
    if !state.refreshing {
        state.refreshing = true;
        to_start.push(group.clone());
    }
}

/// One socket fewer in group `id`; the group goes when it was the last.
fn release(registry: &mut Registry, id: GroupId) {
    let Some(group) = registry.groups.get(&id).cloned() else {
        return;
    };
    let empty = {
        let mut state = group.state();
        state.members = state.members.saturating_sub(1);
        state.members == 0
    };
    if !empty {
        return;
    }
    registry.groups.remove(&id);
    registry.by_key.remove(&group.key);
    for (entity, _) in &group.query.entities {
        if let Some(ids) = registry.by_entity.get_mut(entity) {
            ids.remove(&id);
        }
    }
}
