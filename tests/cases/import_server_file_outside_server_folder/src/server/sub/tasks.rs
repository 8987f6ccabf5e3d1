pub async fn get_tasks() {}
