/// Sets up the root namespace.
pub async fn web_socket() {}
