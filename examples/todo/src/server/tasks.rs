//! The todo list's queries and actions. Every one of them touches only the caller's own tasks:
//! reads filter by `userId`, and writes select the row by its id *and* its owner, so a task id
//! of another user behaves exactly like one that does not exist (404).

use crate::app::entities::{NewTask, Task, TaskUpdate};
use crate::app::operations::{
    CreateTaskContext, DeleteTaskContext, GetTaskContext, GetTasksContext, UpdateTaskContext,
};
use crate::app::types::{NewTaskInput, TaskDone, TaskId};
use appc_runtime::{Filter, HttpError, Query};

pub async fn get_tasks(ctx: GetTasksContext) -> Result<Vec<Task>, HttpError> {
    let tasks = ctx
        .entities
        .task
        .find_many(
            Query::new()
                .filter(Task::USER_ID.eq(ctx.user.id))
                .order_by(Task::ID.asc()),
        )
        .await?;
    Ok(tasks)
}

pub async fn get_task(input: TaskId, ctx: GetTaskContext) -> Result<Task, HttpError> {
    ctx.entities
        .task
        .find_first(Query::new().filter(own_task(input.id, ctx.user.id)))
        .await?
        .ok_or_else(|| no_such_task(input.id))
}

pub async fn create_task(input: NewTaskInput, ctx: CreateTaskContext) -> Result<Task, HttpError> {
    let description = input.description.trim();
    if description.is_empty() {
        return Err(HttpError::bad_request_field(
            "description",
            "the description is empty; write what there is to do",
        ));
    }
    let task = ctx
        .entities
        .task
        .create(NewTask {
            description: description.to_owned(),
            user_id: ctx.user.id,
            ..NewTask::default()
        })
        .await?;
    Ok(task)
}

pub async fn update_task(input: TaskDone, ctx: UpdateTaskContext) -> Result<(), HttpError> {
    let update = TaskUpdate {
        is_done: Some(input.is_done),
        ..TaskUpdate::default()
    };
    let updated = ctx
        .entities
        .task
        .update_many(own_task(input.id, ctx.user.id), update)
        .await?;
    if updated == 0 {
        return Err(no_such_task(input.id));
    }
    Ok(())
}

pub async fn delete_task(input: TaskId, ctx: DeleteTaskContext) -> Result<(), HttpError> {
    let deleted = ctx
        .entities
        .task
        .delete_many(own_task(input.id, ctx.user.id))
        .await?;
    if deleted == 0 {
        return Err(no_such_task(input.id));
    }
    Ok(())
}

/// The task `task_id` if it belongs to `user_id`, and nothing otherwise.
fn own_task(task_id: i64, user_id: i64) -> Filter<Task> {
    Task::ID.eq(task_id).and(Task::USER_ID.eq(user_id))
}

/// Another user's task gets the same answer as a missing one, so ids reveal nothing.
fn no_such_task(task_id: i64) -> HttpError {
    HttpError::not_found(format!(
        "you have no task with the id {task_id}; it may have been deleted"
    ))
}
