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
mod model;
mod redis_store;
mod service;
mod socket_task;

pub use model::{PresenceEntry, PresenceError, PresenceEvent, PresenceTimings};
pub use service::Presence;
pub use socket_task::{join_room, leave_room};
