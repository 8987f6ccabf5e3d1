/// Sets up the root namespace.
pub async fn root_socket() {}

/// Sets up the inbox namespace.
pub async fn inbox_socket() {}
