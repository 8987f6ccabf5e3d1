//! One socket's presence: a task per socket of a presence namespace that applies its joins and
//! leaves in the order they were made, answers each join with the topic's list, and takes the
//! socket out of every topic when it disconnects.

use tokio::sync::mpsc;

use super::model::{Member, PRESENCE_EVENT, Topic};
use super::service::Presence;
use crate::auth::AuthUser;
use crate::socket::{NamespaceConfig, SocketRef};

/// What the socket's task does next, in the order the socket did it.
enum Step {
    Join(Topic),
    Leave(Topic),
    Disconnect,
}

/// Kept in the socket's extensions: how its joins and leaves reach its task.
#[derive(Clone)]
struct PresenceSteps(mpsc::UnboundedSender<Step>);

impl NamespaceConfig {
    /// Tracks who is connected to this namespace and its rooms in `presence` (`presence: true`
    /// in the spec), with `presence` events to its sockets (see [`Presence`]).
    pub fn presence(self, presence: Presence) -> Self {
        self.on_socket_connected(move |socket, user| watch_socket(&presence, socket, user))
    }
}

/// Tracks `socket` in its namespace's presence from now until it disconnects. The socket's
/// disconnect handler is presence's: code that replaces it with `socket.raw().on_disconnect`
/// leaves the socket listed until its process stops.
fn watch_socket(presence: &Presence, socket: &SocketRef, user: Option<&AuthUser>) {
    // Unbounded: a socket's steps are its connection, its rooms and its disconnection, made by
    // the team's code (at most one per event the rate limit lets through), each applied at once.
    let (steps, receiver) = mpsc::unbounded_channel();
    let socket_id = socket.id.to_string();
    let member = Member::of_socket(user);
    let _ = steps.send(Step::Join(Topic::namespace(socket.ns())));
    socket.extensions.insert(PresenceSteps(steps.clone()));
    socket.on_disconnect(async move || {
        let _ = steps.send(Step::Disconnect);
    });
    tokio::spawn(run_steps(
        presence.clone(),
        socket.clone(),
        socket_id,
        member,
        receiver,
    ));
}

/// Adds `socket` to `room` (the generated `Socket::join`), and on a presence namespace to the
/// room's presence: the room's sockets get a `presence` join, the socket the room's list.
pub fn join_room(socket: &SocketRef, room: String) {
    socket.join(room.clone());
    if let Some(PresenceSteps(steps)) = socket.extensions.get::<PresenceSteps>() {
        let _ = steps.send(Step::Join(Topic::room(socket.ns(), &room)));
    }
}

/// Removes `socket` from `room` (the generated `Socket::leave`), and from its presence.
pub fn leave_room(socket: &SocketRef, room: String) {
    socket.leave(room.clone());
    if let Some(PresenceSteps(steps)) = socket.extensions.get::<PresenceSteps>() {
        let _ = steps.send(Step::Leave(Topic::room(socket.ns(), &room)));
    }
}

async fn run_steps(
    presence: Presence,
    socket: SocketRef,
    socket_id: String,
    member: Member,
    mut steps: mpsc::UnboundedReceiver<Step>,
) {
    while let Some(step) = steps.recv().await {
        match step {
            Step::Join(topic) => {
                presence.join(&topic, &socket_id, member.clone()).await;
                // After the join, so the list holds the socket itself and every change after
                // the list reaches the socket as an event.
                if let Some(list) = presence.list_event(&topic, &member.key).await {
                    let _ = socket.emit(PRESENCE_EVENT, &list);
                }
            }
            Step::Leave(topic) => presence.leave(&topic, &socket_id).await,
            Step::Disconnect => break,
        }
    }
    // Dropping the socket here lets it be freed; its topics are left whatever ended the loop.
    drop(socket);
    presence.leave_all(&socket_id).await;
}
