pub fn get_tasks() {}
pub fn create_task() {}
pub fn task_count() {}
pub async fn async_middleware() {}
async fn private_query() {}
