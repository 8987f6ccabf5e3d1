//! Presence (`presence: true` on a namespace in `main.wasp`): who is connected to a namespace
//! and to each room of it, kept across processes, with typed `presence` events to clients.
//!
//! A presence entry is one user (every socket of a logged-in user, in any tab and on any
//! process, is one entry with its number of connections) or one anonymous socket. A socket of
//! a presence namespace is tracked in the namespace's topic from its connection to its
//! disconnection, and in a room's topic while it is in the room through the generated
//! `Socket::join` and `Socket::leave` ([`join_room`], [`leave_room`]). Every change is
//! broadcast as a `presence` event ([`PresenceEvent`]) to the topic's sockets (the whole
//! namespace, or the room), through socketioxide, so the Redis adapter carries it to every
//! process; the socket that joins a topic also gets the topic's whole list.
//!
//! The store is the process's memory without `REDIS_URL` (`local.rs`) and Redis with it
//! (`redis_store.rs`, with a heartbeat TTL so a dead process's entries disappear). One socket's
//! joins and leaves run in order on one task (`socket_task`), so a quick join and leave of the
//! same room cannot arrive reversed.

mod local;
mod redis_store;
mod socket_task;

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::socket::Emitter;
use crate::throttled_log::ThrottledLog;
use local::LocalEntries;
use redis_store::RedisStore;

pub(crate) use socket_task::watch_socket;
pub use socket_task::{join_room, leave_room};

/// The Socket.IO event that carries presence to clients.
pub const PRESENCE_EVENT: &str = "presence";

/// One entry of a presence list: a logged-in user with all their sockets, or an anonymous
/// socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// `user:<id>` for a logged-in user, `socket:<socket id>` for an anonymous socket.
    pub key: String,
    /// The user's id (a number or a string, as the user entity's id), `None` when anonymous.
    pub user_id: Option<serde_json::Value>,
    /// The user's username, `None` when anonymous.
    pub username: Option<String>,
    /// How many sockets of this entry are in the topic, over every process (0 in a leave).
    pub connections: u32,
}

/// The payload of the `presence` event. `room` is `None` for the namespace's own presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PresenceEvent {
    /// Everyone present, sent to a socket when it joins the namespace or a room.
    List {
        room: Option<String>,
        entries: Vec<PresenceEntry>,
    },
    /// An entry's first socket arrived.
    Join {
        room: Option<String>,
        entry: PresenceEntry,
    },
    /// An entry's number of connections changed (another tab opened or closed).
    Update {
        room: Option<String>,
        entry: PresenceEntry,
    },
    /// An entry's last socket left.
    Leave {
        room: Option<String>,
        entry: PresenceEntry,
    },
}

/// How often a process proves it is alive to Redis, and how long Redis believes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceTimings {
    /// How often the heartbeat is refreshed and dead processes are swept (5 s).
    pub heartbeat_interval: Duration,
    /// How long a heartbeat lives: a process silent for this long is dead (15 s).
    pub ttl: Duration,
    /// How long one Redis command may take before it fails (2 s).
    pub redis_timeout: Duration,
}

impl Default for PresenceTimings {
    fn default() -> Self {
        PresenceTimings {
            heartbeat_interval: Duration::from_secs(5),
            ttl: Duration::from_secs(15),
            redis_timeout: Duration::from_secs(2),
        }
    }
}

/// Why presence could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PresenceError {
    /// Redis refused or did not answer.
    #[error("presence store (Redis): {0}")]
    Redis(#[from] redis::RedisError),
}

/// The presence service of a server: its store and the emitter that announces changes.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Presence {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    emitter: Emitter,
    failures: ThrottledLog,
}

#[derive(Debug)]
enum Store {
    Local(Mutex<LocalEntries>),
    Redis(RedisStore),
}

/// What presence is about: a namespace (`room` `None`) or one room of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Topic {
    namespace: String,
    room: Option<String>,
}

impl Topic {
    pub(crate) fn namespace(namespace: &str) -> Topic {
        Topic {
            namespace: namespace.to_owned(),
            room: None,
        }
    }

    pub(crate) fn room(namespace: &str, room: &str) -> Topic {
        Topic {
            namespace: namespace.to_owned(),
            room: Some(room.to_owned()),
        }
    }
}

/// One socket as the store keeps it: its presence key and who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Member {
    key: String,
    user_id: Option<serde_json::Value>,
    username: Option<String>,
}

impl Member {
    /// The member a socket is: its user's, or an anonymous one of its own.
    pub(crate) fn of_socket(socket_id: &str, user: Option<&AuthUser>) -> Member {
        match user {
            Some(user) => Member {
                key: format!("user:{}", user.id()),
                user_id: serde_json::to_value(user.id()).ok(),
                username: Some(user.username().to_owned()),
            },
            None => Member::anonymous(socket_id),
        }
    }

    pub(crate) fn anonymous(socket_id: &str) -> Member {
        Member {
            key: format!("socket:{socket_id}"),
            user_id: None,
            username: None,
        }
    }

    pub(crate) fn entry(&self, connections: u32) -> PresenceEntry {
        PresenceEntry {
            key: self.key.clone(),
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            connections,
        }
    }
}

/// What one socket's join or leave changed in a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PresenceChange {
    Join(PresenceEntry),
    Update(PresenceEntry),
    Leave(PresenceEntry),
}

impl PresenceChange {
    fn into_event(self, room: Option<String>) -> PresenceEvent {
        match self {
            PresenceChange::Join(entry) => PresenceEvent::Join { room, entry },
            PresenceChange::Update(entry) => PresenceEvent::Update { room, entry },
            PresenceChange::Leave(entry) => PresenceEvent::Leave { room, entry },
        }
    }
}

impl Presence {
    /// Presence kept in this process's memory (one process, no `REDIS_URL`).
    pub fn local(emitter: Emitter) -> Presence {
        Presence::with_store(Store::Local(Mutex::new(LocalEntries::default())), emitter)
    }

    /// Presence shared through the Redis at `redis_url`: connects lazily (a Redis that is down
    /// is logged and retried, sockets keep being served) and starts the heartbeat and the sweep
    /// of dead processes, which stop when the last clone of the service is dropped.
    pub fn redis(
        redis_url: &str,
        emitter: Emitter,
        timings: PresenceTimings,
    ) -> Result<Presence, PresenceError> {
        let presence = Presence::with_store(
            Store::Redis(RedisStore::new(redis_url, redis_store::PREFIX, timings)?),
            emitter,
        );
        tokio::spawn(heartbeat_loop(
            Arc::downgrade(&presence.shared),
            timings.heartbeat_interval,
        ));
        Ok(presence)
    }

    /// Presence for a server: Redis when `redis_url` is set, this process's memory otherwise.
    pub fn for_server(
        redis_url: Option<&str>,
        emitter: Emitter,
    ) -> Result<Presence, PresenceError> {
        match redis_url {
            Some(url) => Presence::redis(url, emitter, PresenceTimings::default()),
            None => Ok(Presence::local(emitter)),
        }
    }

    fn with_store(store: Store, emitter: Emitter) -> Presence {
        Presence {
            shared: Arc::new(Shared {
                store,
                emitter,
                failures: ThrottledLog::new(Duration::from_secs(60)),
            }),
        }
    }

    /// Who is present in a namespace (`room` `None`) or in one of its rooms, over every process.
    pub async fn list(
        &self,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Vec<PresenceEntry>, PresenceError> {
        let topic = Topic {
            namespace: namespace.to_owned(),
            room: room.map(str::to_owned),
        };
        self.shared.store.list(&topic).await
    }

    /// Adds a socket to a topic and announces the change to the topic's sockets.
    pub(crate) async fn join(&self, topic: &Topic, socket_id: &str, member: Member) {
        let joined = self.shared.store.join(topic, socket_id, member).await;
        match joined {
            Ok(Some(change)) => self.announce(topic, change).await,
            Ok(None) => {}
            Err(error) => self.log_failure(&error),
        }
    }

    /// Removes a socket from a topic and announces the change.
    pub(crate) async fn leave(&self, topic: &Topic, socket_id: &str) {
        match self.shared.store.leave(topic, socket_id).await {
            Ok(Some(change)) => self.announce(topic, change).await,
            Ok(None) => {}
            Err(error) => self.log_failure(&error),
        }
    }

    /// Removes a socket from every topic it is in (it disconnected).
    pub(crate) async fn leave_all(&self, socket_id: &str) {
        for topic in self.shared.store.topics_of(socket_id) {
            self.leave(&topic, socket_id).await;
        }
    }

    /// The topic's list as a `presence` event.
    pub(crate) async fn list_event(&self, topic: &Topic) -> Option<PresenceEvent> {
        match self.shared.store.list(topic).await {
            Ok(entries) => Some(PresenceEvent::List {
                room: topic.room.clone(),
                entries,
            }),
            Err(error) => {
                self.log_failure(&error);
                None
            }
        }
    }

    /// Sends a change to the topic's sockets on every process.
    async fn announce(&self, topic: &Topic, change: PresenceChange) {
        self.send_to_topic(topic, &change.into_event(topic.room.clone()))
            .await;
    }

    /// Sends a `presence` event to the topic's sockets: the namespace's, or the room's.
    async fn send_to_topic(&self, topic: &Topic, event: &PresenceEvent) {
        let emitter = &self.shared.emitter;
        let sent = match &topic.room {
            Some(room) => {
                emitter
                    .to_room(&topic.namespace, room, PRESENCE_EVENT, event)
                    .await
            }
            None => {
                emitter
                    .to_all(&topic.namespace, PRESENCE_EVENT, event)
                    .await
            }
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "a presence event was not sent to every socket");
        }
    }

    fn log_failure(&self, error: &PresenceError) {
        if let Some(failures) = self.shared.failures.note() {
            tracing::warn!(%error, failures, "presence could not reach its store; lists may miss sockets until it answers again");
        }
    }
}

impl Store {
    async fn join(
        &self,
        topic: &Topic,
        socket_id: &str,
        member: Member,
    ) -> Result<Option<PresenceChange>, PresenceError> {
        match self {
            Store::Local(local) => {
                let mut local = lock(local);
                if !local.insert(topic, socket_id, member.clone()) {
                    return Ok(None);
                }
                Ok(Some(local.change_of(topic, &member, true)))
            }
            Store::Redis(redis) => redis.join(topic, socket_id, member).await,
        }
    }

    async fn leave(
        &self,
        topic: &Topic,
        socket_id: &str,
    ) -> Result<Option<PresenceChange>, PresenceError> {
        match self {
            Store::Local(local) => {
                let mut local = lock(local);
                let Some(member) = local.remove(topic, socket_id) else {
                    return Ok(None);
                };
                Ok(Some(local.change_of(topic, &member, false)))
            }
            Store::Redis(redis) => redis.leave(topic, socket_id).await,
        }
    }

    fn topics_of(&self, socket_id: &str) -> Vec<Topic> {
        match self {
            Store::Local(local) => lock(local).topics_of(socket_id),
            Store::Redis(redis) => redis.topics_of(socket_id),
        }
    }

    async fn list(&self, topic: &Topic) -> Result<Vec<PresenceEntry>, PresenceError> {
        match self {
            Store::Local(local) => Ok(lock(local).list(topic)),
            Store::Redis(redis) => redis.list(topic).await,
        }
    }
}

fn lock(local: &Mutex<LocalEntries>) -> std::sync::MutexGuard<'_, LocalEntries> {
    local
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Refreshes this process's heartbeat and sweeps dead processes every `interval`, announcing
/// what either changed, until the presence service is dropped.
async fn heartbeat_loop(shared: Weak<Shared>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let presence = Presence { shared };
        let Store::Redis(redis) = &presence.shared.store else {
            return;
        };
        match redis.heartbeat().await {
            // Entries written again after Redis lost them are announced again: clients that
            // were told they left (a sweep) see them back.
            Ok(topics) => {
                for topic in topics {
                    if let Some(event) = presence.list_event(&topic).await {
                        presence.send_to_topic(&topic, &event).await;
                    }
                }
            }
            Err(error) => presence.log_failure(&error),
        }
        match redis.sweep().await {
            Ok(changes) => {
                for (topic, change) in changes {
                    presence.announce(&topic, change).await;
                }
            }
            Err(error) => presence.log_failure(&error),
        }
    }
}
