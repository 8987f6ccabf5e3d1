pub async fn get_tasks() {}
pub async fn task_count() {}
