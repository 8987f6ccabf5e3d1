//! `GET /api/tasks/count`: how many tasks the caller has, and how many of them are done, for
//! scripts and other HTTP clients (the pages use the `getTasks` query).

use crate::app::apis::TaskCountContext;
use crate::app::entities::Task;
use appc_runtime::axum::Json;
use appc_runtime::axum::response::IntoResponse;
use appc_runtime::serde_json::json;
use appc_runtime::{ApiRequest, HttpError, Query};

pub async fn task_count(
    _request: ApiRequest,
    ctx: TaskCountContext,
) -> Result<impl IntoResponse, HttpError> {
    let own_tasks = Task::USER_ID.eq(ctx.user.id);
    let count = ctx
        .entities
        .task
        .count(Query::new().filter(own_tasks.clone()))
        .await?;
    let done = ctx
        .entities
        .task
        .count(Query::new().filter(own_tasks.and(Task::IS_DONE.eq(true))))
        .await?;
    Ok(Json(json!({ "count": count, "done": done })))
}
