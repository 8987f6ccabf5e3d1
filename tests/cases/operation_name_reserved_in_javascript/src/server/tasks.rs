pub async fn delete_task() {}
