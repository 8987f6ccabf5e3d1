//! A socket function that forgot `async`.

/// Sets up the namespace's handlers.
pub fn chat_socket() {}
