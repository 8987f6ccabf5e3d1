//! The data of presence: the entries and events clients get ([`PresenceEntry`],
//! [`PresenceEvent`]), and what the stores keep: topics (a namespace, or a room of it), members
//! (one socket's presence key and user) and the change one socket's join or leave made.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;

/// The Socket.IO event that carries presence to clients.
pub(crate) const PRESENCE_EVENT: &str = "presence";

/// One entry of a presence list: a logged-in user with all their sockets, or an anonymous
/// socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// `user:<id>` for a logged-in user, `socket:<random id>` for an anonymous socket (random,
    /// not the socket's id: over long-polling that id is the session's, which must stay secret).
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
    /// Everyone present, sent to a socket when it joins the namespace or a room, with the key of
    /// the socket's own entry.
    #[serde(rename_all = "camelCase")]
    List {
        room: Option<String>,
        entries: Vec<PresenceEntry>,
        own_key: String,
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

/// What presence is about: a namespace (`room` `None`) or one room of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Topic {
    pub(crate) namespace: String,
    pub(crate) room: Option<String>,
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
    pub(crate) key: String,
    pub(crate) user_id: Option<serde_json::Value>,
    pub(crate) username: Option<String>,
}

impl Member {
    /// The member a socket is: its user's, or an anonymous one of its own with a random id.
    pub(crate) fn of_socket(user: Option<&AuthUser>) -> Member {
        match user {
            Some(user) => Member {
                key: format!("user:{}", user.id()),
                user_id: serde_json::to_value(user.id()).ok(),
                username: Some(user.username().to_owned()),
            },
            None => Member::anonymous(&uuid::Uuid::new_v4().simple().to_string()[..16]),
        }
    }

    /// An anonymous socket's member, `socket:<presence_id>`.
    pub(crate) fn anonymous(presence_id: &str) -> Member {
        Member {
            key: format!("socket:{presence_id}"),
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
    pub(crate) fn into_event(self, room: Option<String>) -> PresenceEvent {
        match self {
            PresenceChange::Join(entry) => PresenceEvent::Join { room, entry },
            PresenceChange::Update(entry) => PresenceEvent::Update { room, entry },
            PresenceChange::Leave(entry) => PresenceEvent::Leave { room, entry },
        }
    }
}
