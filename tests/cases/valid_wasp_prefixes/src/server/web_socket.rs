/// Sets up the root namespace.
pub fn web_socket() {}
