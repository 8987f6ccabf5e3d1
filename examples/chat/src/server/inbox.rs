//! The `Inbox` namespace of `main.wasp`: only signed-in users may connect (`auth: true`), and
//! each is welcomed by name.

use crate::app::inbox::{Socket, SocketContext};

/// Greets the connected user: the runtime has already refused sockets without a valid token, so
/// `ctx.user` is the `User` entity itself, not an `Option`.
pub async fn inbox_socket(socket: Socket, ctx: SocketContext) {
    let _ = socket.emit_welcome(&format!("Welcome, {}!", ctx.user.username));
}
