pub async fn handler() {}
