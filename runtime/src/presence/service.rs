//! The presence service of a server ([`Presence`]): its store (this process's memory, or
//! Redis), the announcement of every change to the topic's sockets through the emitter, and,
//! with Redis, the heartbeat and the sweep of dead processes.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::local::LocalEntries;
use super::model::{
    Member, PRESENCE_EVENT, PresenceChange, PresenceEntry, PresenceError, PresenceEvent,
    PresenceTimings, Topic,
};
use super::redis_store::{self, RedisStore};
use crate::socket::Emitter;
use crate::throttled_log::ThrottledLog;

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

impl Presence {
    /// Presence kept in this process's memory (one process, no `REDIS_URL`).
    pub fn local(emitter: Emitter) -> Presence {
        Presence::with_store(Store::Local(Mutex::new(LocalEntries::default())), emitter)
    }

    /// Presence shared through the Redis at `redis_url`, under the keys `<prefix>:presence:...`
    /// (`prefix` is `APPC_REDIS_PREFIX`, so apps sharing a Redis keep their entries apart): connects lazily (a Redis that is down
    /// is logged and retried, sockets keep being served) and starts the heartbeat and the sweep
    /// of dead processes, which stop when the last clone of the service is dropped.
    pub fn redis(
        redis_url: &str,
        prefix: &str,
        emitter: Emitter,
        timings: PresenceTimings,
    ) -> Result<Presence, PresenceError> {
        let presence = Presence::with_store(
            Store::Redis(RedisStore::new(
                redis_url,
                &redis_store::keys_prefix(prefix),
                timings,
            )?),
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
        redis_prefix: &str,
        emitter: Emitter,
    ) -> Result<Presence, PresenceError> {
        match redis_url {
            Some(url) => Presence::redis(url, redis_prefix, emitter, PresenceTimings::default()),
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

    /// The topic's list as a `presence` event for the socket whose entry is `own_key`.
    pub(crate) async fn list_event(&self, topic: &Topic, own_key: &str) -> Option<PresenceEvent> {
        match self.shared.store.list(topic).await {
            Ok(entries) => Some(PresenceEvent::List {
                room: topic.room.clone(),
                entries,
                own_key: own_key.to_owned(),
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
            // Entries written again after Redis lost them are announced again as joins: clients
            // that were told they left (a sweep) see them back.
            Ok(topics) => {
                for topic in topics {
                    let own_keys = redis.member_keys(&topic);
                    match redis.list(&topic).await {
                        Ok(entries) => {
                            for entry in entries {
                                if own_keys.contains(&entry.key) {
                                    presence.announce(&topic, PresenceChange::Join(entry)).await;
                                }
                            }
                        }
                        Err(error) => presence.log_failure(&error),
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
