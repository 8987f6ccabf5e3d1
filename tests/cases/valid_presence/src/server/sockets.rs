//! Example socket setup for an analyzer case.

/// Sets up the namespace's handlers.
pub async fn chat_socket() {}
