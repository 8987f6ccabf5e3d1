pub async fn use_query() {}
pub async fn operation_error() {}
pub async fn spec_types() {}
pub async fn use_tasks() {}
