//! The chat's socket handlers: the `fn` of the app's root webSocket in `main.wasp`.
//!
//! This file is an example input for `appc check` for now; its body is written against the
//! runtime's socket API once that exists (issue #5).

/// Sets up the root namespace. It will: on `chatMessage` from a signed-in client, store a
/// `Message` for that user and broadcast `chatMessage { id, username, text }` to every client.
pub fn chat_socket() {}
