/// Runs once when the server starts.
pub async fn setup() {}
