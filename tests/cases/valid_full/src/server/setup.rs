/// Runs once when the server starts.
pub async fn setup() {}

/// Adjusts the HTTP middleware.
pub fn middleware() {}
