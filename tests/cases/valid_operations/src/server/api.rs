pub async fn task_count() {}
pub async fn task_by_id() {}
pub async fn delete_task() {}
pub async fn webhook() {}
pub fn task_middleware() {}
pub fn webhook_middleware() {}
