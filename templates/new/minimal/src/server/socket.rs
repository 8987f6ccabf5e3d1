//! The app's socket handlers: the `fn` of the root webSocket in `main.wasp`.

use crate::app::web_socket::{Socket, SocketContext};

/// Sets up one connection: every `shout` comes back to everyone as an upper-cased `echo`.
pub async fn web_socket(socket: Socket, _ctx: SocketContext) {
    socket.on_shout(
        |socket: Socket, _ctx: SocketContext, text: String| async move {
            if let Err(error) = socket
                .emitter()
                .emit_echo_to_all(&text.to_uppercase())
                .await
            {
                eprintln!("could not broadcast an echo: {error}");
            }
        },
    );
}
