pub async fn get_tasks() {}
pub async fn create_task() {}
