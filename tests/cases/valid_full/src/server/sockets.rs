/// Sets up the root namespace.
pub async fn root_socket() {}

/// Sets up the rooms namespace.
pub async fn rooms_socket() {}
