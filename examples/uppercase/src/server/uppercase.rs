//! The uppercase echo's socket handlers: the `fn` of the app's root webSocket in `main.wasp`.
//!
//! The client connects with its name and age (the typed `Visitor` handshake, validated before
//! this code runs), is greeted by name, and every text it sends comes back upper-cased to it alone.

use crate::app::web_socket::{Socket, SocketContext};

/// Greets the visitor, then answers each `textInput` with `uppercase`.
pub async fn uppercase_socket(socket: Socket, _ctx: SocketContext) {
    socket.on_text_input(
        |socket: Socket, _ctx: SocketContext, text: String| async move {
            let _ = socket.emit_uppercase(&text.to_uppercase());
        },
    );
    let greeting = format!("Hello, {}!", socket.handshake().name);
    let _ = socket.emit_greeting(&greeting);
}
