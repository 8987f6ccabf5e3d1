//! Group commit for SQLite: one writer connection, owned by one task, applies the single-row
//! writes (`create`, `update`, `delete`) of every [`super::Table`] in shared transactions.
//!
//! SQLite admits one writer at a time and every commit costs a WAL append, lock traffic and a
//! round trip to the connection's thread. Under a burst (a chat where many sockets post at once)
//! the writes that arrive while a batch is being applied are applied together in the next one:
//! one `BEGIN IMMEDIATE ... COMMIT` for up to [`MAX_BATCH`] statements. The caller's future
//! still completes only after the transaction holding its statement has committed, so a
//! `create` that returned `Ok` is exactly as durable as before (WAL with `synchronous = NORMAL`).
//! Statements are applied in the order they were queued: a socket event's handler releases its
//! socket's write turn once its statement is queued (see `effect_order`), so one socket's
//! writes keep their order and still share commits.
//!
//! A statement that fails with a constraint violation (a taken unique value, a missing foreign
//! key row) is undone by SQLite on its own, without ending the transaction, so only its caller
//! sees the error. Any other failure, including a failed `COMMIT`, rolls the batch back and
//! applies its statements again one by one, each in its own transaction, so that one write's
//! failure never becomes another's.

use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteRow};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::DbError;

/// The most statements one transaction applies; more wait for the next one, so a long queue
/// still commits (and answers its callers) in steps of bounded latency.
const MAX_BATCH: usize = 256;

/// How many writes may wait for the writer before callers wait to enqueue theirs.
const QUEUE_LENGTH: usize = 4096;

/// What a write statement returns: the rows of its `RETURNING` clause, or how many rows it
/// changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteKind {
    /// `fetch_all`: the statement's rows.
    Rows,
    /// `execute`: the number of changed rows.
    Affected,
}

/// The result of one write, handed back to its caller.
pub(crate) enum WriteOutcome {
    Rows(Vec<SqliteRow>),
    Affected(u64),
}

type Arguments = SqliteArguments;

struct WriteRequest {
    sql: String,
    arguments: Arguments,
    kind: WriteKind,
    reply: oneshot::Sender<Result<WriteOutcome, DbError>>,
}

enum Message {
    Write(WriteRequest),
    /// Finish what is queued, close the connection, then answer.
    Close(oneshot::Sender<()>),
}

/// A cloneable handle on the writer task.
#[derive(Debug, Clone)]
pub(crate) struct SqliteWriter {
    sender: mpsc::Sender<Message>,
}

impl SqliteWriter {
    /// Opens the writer's own connection with `options` and starts its task on the current
    /// tokio runtime.
    pub(crate) async fn start(options: &SqliteConnectOptions) -> Result<SqliteWriter, DbError> {
        let connection = options.connect().await?;
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        tokio::spawn(run(connection, receiver));
        Ok(SqliteWriter { sender })
    }

    /// Queues one statement and waits until the transaction holding it has committed.
    pub(crate) async fn write(
        &self,
        sql: String,
        arguments: Arguments,
        kind: WriteKind,
    ) -> Result<WriteOutcome, DbError> {
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            sql,
            arguments,
            kind,
            reply,
        };
        self.sender
            .send(Message::Write(request))
            .await
            .map_err(|_| DbError::Sqlx(sqlx::Error::PoolClosed))?;
        // Queued: the writer applies its queue in order, so a socket's later handlers may queue
        // their writes behind this one while it waits for its commit.
        crate::effect_order::write_submitted();
        answer
            .await
            .map_err(|_| DbError::Sqlx(sqlx::Error::PoolClosed))?
    }

    /// Applies what is queued, then closes the writer's connection; later writes fail with
    /// "pool closed", as they do on a closed pool.
    pub(crate) async fn close(&self) {
        let (reply, answer) = oneshot::channel();
        if self.sender.send(Message::Close(reply)).await.is_ok() {
            let _ = answer.await;
        }
    }
}

async fn run(mut connection: SqliteConnection, mut receiver: mpsc::Receiver<Message>) {
    let mut messages = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut close_replies = Vec::new();
    while receiver.recv_many(&mut messages, MAX_BATCH).await > 0 {
        sort_messages(messages.drain(..), &mut batch, &mut close_replies);
        if !close_replies.is_empty() {
            // No write is accepted after this point; every write already queued is applied.
            receiver.close();
            while let Ok(message) = receiver.try_recv() {
                sort_messages(std::iter::once(message), &mut batch, &mut close_replies);
            }
        }
        apply_batch(&mut connection, &mut batch).await;
        if !close_replies.is_empty() {
            if let Err(error) = connection.close().await {
                tracing::debug!(%error, "closing the SQLite writer connection failed");
            }
            for reply in close_replies {
                let _ = reply.send(());
            }
            return;
        }
    }
}

fn sort_messages(
    messages: impl Iterator<Item = Message>,
    batch: &mut Vec<WriteRequest>,
    close_replies: &mut Vec<oneshot::Sender<()>>,
) {
    for message in messages {
        match message {
            Message::Write(request) => batch.push(request),
            Message::Close(reply) => close_replies.push(reply),
        }
    }
}

/// Applies every request of `batch` (emptying it) and answers each caller.
async fn apply_batch(connection: &mut SqliteConnection, batch: &mut Vec<WriteRequest>) {
    if batch.len() > 1 {
        apply_in_one_transaction(connection, batch).await;
    } else {
        // A lone write needs no explicit transaction: autocommit is one commit too, with two
        // round trips fewer.
        apply_one_by_one(connection, batch.drain(..).map(Pending::Unsent)).await;
    }
}

async fn apply_in_one_transaction(
    connection: &mut SqliteConnection,
    batch: &mut Vec<WriteRequest>,
) {
    if let Err(error) = sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *connection)
        .await
    {
        tracing::debug!(%error, "could not begin a group commit; writing one by one");
        return apply_one_by_one(connection, batch.drain(..).map(Pending::Unsent)).await;
    }
    let mut results: Vec<(WriteRequest, Result<WriteOutcome, sqlx::Error>)> =
        Vec::with_capacity(batch.len());
    let mut batch_failed = false;
    for mut request in batch.drain(..) {
        if batch_failed {
            results.push((request, Err(sqlx::Error::WorkerCrashed)));
            continue;
        }
        // The arguments are needed again if the batch has to be replayed one by one.
        let arguments = request.arguments.clone();
        let sql = std::mem::take(&mut request.sql);
        let outcome = run_statement(connection, sql.clone(), arguments, request.kind).await;
        request.sql = sql;
        if let Err(error) = &outcome {
            batch_failed = !is_statement_level(error);
        }
        results.push((request, outcome));
    }
    let committed = !batch_failed
        && match sqlx::query("COMMIT").execute(&mut *connection).await {
            Ok(_) => true,
            Err(error) => {
                tracing::debug!(%error, "a group commit failed; writing one by one");
                false
            }
        };
    if committed {
        for (request, outcome) in results {
            let _ = request.reply.send(outcome.map_err(DbError::from));
        }
        return;
    }
    if let Err(error) = sqlx::query("ROLLBACK").execute(&mut *connection).await {
        // Without an open transaction (SQLite may have rolled it back itself) this fails
        // harmlessly; the replay below runs in autocommit either way.
        tracing::debug!(%error, "rollback after a failed group commit");
    }
    let pending = results.into_iter().map(|(request, outcome)| match outcome {
        // A constraint violation is the statement's own answer and does not depend on the
        // other statements of the batch.
        Err(error) if is_statement_level(&error) => Pending::Answered(request, error),
        _ => Pending::Unsent(request),
    });
    apply_one_by_one(connection, pending).await;
}

enum Pending {
    Unsent(WriteRequest),
    Answered(WriteRequest, sqlx::Error),
}

async fn apply_one_by_one(
    connection: &mut SqliteConnection,
    pending: impl Iterator<Item = Pending>,
) {
    for item in pending {
        match item {
            Pending::Answered(request, error) => {
                let _ = request.reply.send(Err(DbError::from(error)));
            }
            Pending::Unsent(request) => {
                let outcome =
                    run_statement(connection, request.sql, request.arguments, request.kind)
                        .await
                        .map_err(DbError::from);
                let _ = request.reply.send(outcome);
            }
        }
    }
}

async fn run_statement(
    connection: &mut SqliteConnection,
    sql: String,
    arguments: Arguments,
    kind: WriteKind,
) -> Result<WriteOutcome, sqlx::Error> {
    let query = sqlx::query_with::<Sqlite, _>(AssertSqlSafe(sql), arguments);
    match kind {
        WriteKind::Rows => Ok(WriteOutcome::Rows(query.fetch_all(&mut *connection).await?)),
        WriteKind::Affected => Ok(WriteOutcome::Affected(
            query.execute(&mut *connection).await?.rows_affected(),
        )),
    }
}

/// Whether SQLite undid only the failing statement and kept the transaction open: true for
/// constraint violations (SQLite's default ABORT resolution), false for everything else.
fn is_statement_level(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database_error) => {
            !matches!(database_error.kind(), sqlx::error::ErrorKind::Other)
        }
        _ => false,
    }
}
