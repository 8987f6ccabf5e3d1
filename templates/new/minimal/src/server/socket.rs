//! The app's socket handlers: the `fn` of the root webSocket in `main.wasp`.

use crate::app::web_socket::{Context, Socket};

/// Sets up one connection: every `shout` comes back to everyone as an upper-cased `echo`.
pub async fn web_socket(socket: Socket, _ctx: Context) {
    socket.on_shout(|socket: Socket, _ctx: Context, text: String| async move {
        if let Err(error) = socket.emit_echo_to_all(&text.to_uppercase()).await {
            eprintln!("could not broadcast an echo: {error}");
        }
    });
}
