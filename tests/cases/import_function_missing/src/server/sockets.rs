//! Example socket setup for an analyzer case.

/// Sets up the namespace's handlers.
pub async fn chat_socket() {}

/// Greets a new connection.
pub async fn greet() {}

// pub fn commented_out() {}
fn helper() {}
