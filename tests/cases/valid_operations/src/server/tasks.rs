pub async fn get_tasks() {}
pub async fn count_tasks_by_filter() {}
pub async fn create_task() {}
pub async fn rename_all() {}
