//! The chat's socket handlers: the `fn` of the app's root webSocket in `main.wasp`.
//!
//! Anyone may chat: a socket whose handshake carries a valid token speaks with its user's name,
//! an anonymous one as `unknown`. Every message is stored, so a client that connects (even after
//! a server restart) first receives the latest history.

use crate::app::entities::{Message, NewMessage};
use crate::app::types::ChatMessage;
use crate::app::web_socket::{Socket, SocketContext};
use appc_runtime::{BoxError, DbError, Query};

/// How many messages a new connection receives.
const HISTORY_LENGTH: u64 = 50;

/// The name shown for messages of sockets without a logged-in user.
const ANONYMOUS_USERNAME: &str = "unknown";

/// Sets up one connection: handles `chatMessage`, then sends the history.
pub async fn chat_socket(socket: Socket, ctx: SocketContext) {
    // Handlers are registered before the first await, so no message from the client is missed.
    socket.on_chat_message(
        |socket: Socket, ctx: SocketContext, text: String| async move {
            if let Err(error) = post_message(&socket, &ctx, text).await {
                eprintln!("chatMessage from {} failed: {error}", socket.id());
            }
        },
    );
    match load_history(&ctx).await {
        Ok(history) => {
            let _ = socket.emit_chat_history(&history);
        }
        Err(error) => eprintln!("could not load the chat history: {error}"),
    }
}

/// Stores the message and broadcasts it to every socket, the sender included.
async fn post_message(socket: &Socket, ctx: &SocketContext, text: String) -> Result<(), BoxError> {
    let user_id = ctx.user.as_ref().map(|user| user.id);
    let message = ctx
        .entities
        .message
        .create(NewMessage {
            text,
            user_id,
            ..NewMessage::default()
        })
        .await?;
    let username = ctx
        .user
        .as_ref()
        .map_or(ANONYMOUS_USERNAME, |user| user.username.as_str())
        .to_owned();
    let chat_message = ChatMessage {
        id: message.id,
        username,
        text: message.text,
    };
    socket
        .emitter()
        .emit_chat_message_to_all(&chat_message)
        .await?;
    Ok(())
}

/// The latest messages, oldest first, with their authors' usernames: two queries, one for the
/// messages and one for all their authors.
async fn load_history(ctx: &SocketContext) -> Result<Vec<ChatMessage>, DbError> {
    let mut latest = ctx
        .entities
        .message
        .find_many_with(
            Query::new()
                .order_by(Message::CREATED_AT.desc())
                .limit(HISTORY_LENGTH),
            Message::USER,
        )
        .await?;
    latest.reverse();
    Ok(latest
        .into_iter()
        .map(|(message, user)| ChatMessage {
            id: message.id,
            username: user.map_or_else(|| ANONYMOUS_USERNAME.to_owned(), |user| user.username),
            text: message.text,
        })
        .collect())
}
