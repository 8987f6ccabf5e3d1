//! Group commit for SQLite: one writer connection, owned by one task, applies the single-row
//! writes (`create`, `update`, `delete`) of every `Table` in shared transactions.
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
//!
//! The writer survives its own failures. Each batch runs in a task of its own, so a panic loses
//! only that batch (its callers get [`DbError::WriteInterrupted`], never a false success), and a
//! connection that breaks (an I/O error, sqlx's worker thread gone) is replaced. Either way the
//! writer reopens its connection after a doubling pause, logging one line per failure, and the
//! queued writes go on. A writer that fails more than [`RestartPolicy::max_attempts`] times
//! within [`RestartPolicy::window`] (a database that cannot be opened any more, a write that
//! panics every time) gives up instead of failing every later write: it answers what is queued
//! and everything after with [`DbError::WriterStopped`], and [`SqliteWriter::stopped`] tells the
//! server, which logs the reason and exits non-zero through its shutdown path (a process manager
//! then restarts it, and the failure is visible).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteRow};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::error::DbError;

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
    /// Tests only: panic while applying the batch this message is part of.
    #[cfg(test)]
    Panic,
}

/// How often the writer may fail before it gives up: at most `max_attempts` reopenings of its
/// connection within `window`, the first after `first_pause`, each later one after twice the
/// pause before.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RestartPolicy {
    pub(crate) max_attempts: usize,
    pub(crate) window: Duration,
    pub(crate) first_pause: Duration,
}

impl Default for RestartPolicy {
    /// Five reopenings a minute, after 0.1, 0.2, 0.4, 0.8 and 1.6 s: a passing failure costs
    /// a tenth of a second, and a lasting one stops the server within about three.
    fn default() -> Self {
        RestartPolicy {
            max_attempts: 5,
            window: Duration::from_secs(60),
            first_pause: Duration::from_millis(100),
        }
    }
}

/// A cloneable handle on the writer task.
#[derive(Debug, Clone)]
pub(crate) struct SqliteWriter {
    sender: mpsc::Sender<Message>,
    /// Why the writer gave up, once it has.
    stopped: watch::Receiver<Option<Arc<str>>>,
}

impl SqliteWriter {
    /// Opens the writer's own connection with `options` and starts its task on the current
    /// tokio runtime.
    pub(crate) async fn start(
        options: &SqliteConnectOptions,
        policy: RestartPolicy,
    ) -> Result<SqliteWriter, DbError> {
        let connection = options.connect().await?;
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        let (stop_sender, stopped) = watch::channel(None);
        let supervisor = Supervisor {
            options: options.clone(),
            policy,
            attempts: VecDeque::new(),
            stopped: stop_sender,
        };
        tokio::spawn(supervisor.run(connection, receiver));
        Ok(SqliteWriter { sender, stopped })
    }

    /// Completes with the reason once the writer has given up (see the module docs); never
    /// while it works.
    pub(crate) async fn stopped(&self) -> Arc<str> {
        let mut stopped = self.stopped.clone();
        let reason = match stopped.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            // The writer task is gone without giving up: it was closed. Nothing failed.
            Err(_) => None,
        };
        match reason {
            Some(reason) => reason,
            None => std::future::pending().await,
        }
    }

    /// Why the writer gave up, if it has.
    pub(crate) fn stop_reason(&self) -> Option<Arc<str>> {
        self.stopped.borrow().clone()
    }

    /// Tests only: makes the writer panic while it applies its next batch.
    #[cfg(test)]
    pub(crate) async fn panic_for_test(&self) {
        let _ = self.sender.send(Message::Panic).await;
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
        if self.sender.send(Message::Write(request)).await.is_err() {
            return Err(self.closed_error());
        }
        // Queued: the writer applies its queue in order, so a socket's later handlers may queue
        // their writes behind this one while it waits for its commit.
        crate::effect_order::write_submitted();
        // Without an answer, the batch holding the write was lost to a panic (the writer
        // restarts), or the writer stopped: the write may or may not have been applied.
        answer.await.unwrap_or_else(|_| match self.stop_reason() {
            Some(reason) => Err(DbError::WriterStopped {
                reason: reason.to_string(),
            }),
            None => Err(DbError::WriteInterrupted),
        })
    }

    /// The error of a write that found the writer's queue closed: closed by `close`, like a
    /// closed pool, or by the writer giving up.
    fn closed_error(&self) -> DbError {
        match self.stop_reason() {
            Some(reason) => DbError::WriterStopped {
                reason: reason.to_string(),
            },
            None => DbError::Sqlx(sqlx::Error::PoolClosed),
        }
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

/// Owns the writer's connection and queue, and reopens the connection when a batch panics or
/// finds it broken.
struct Supervisor {
    options: SqliteConnectOptions,
    policy: RestartPolicy,
    /// When the connection was reopened (or tried to be) within the policy's window.
    attempts: VecDeque<Instant>,
    stopped: watch::Sender<Option<Arc<str>>>,
}

/// What became of a batch: whether the connection can serve the next one.
enum BatchOutcome {
    Healthy(SqliteConnection),
    /// The connection reported an error that leaves it unusable; it is dropped.
    Broken(String),
    /// The batch's task panicked, taking the connection with it.
    Panicked(String),
}

impl Supervisor {
    async fn run(mut self, connection: SqliteConnection, mut receiver: mpsc::Receiver<Message>) {
        let mut connection = Some(connection);
        let mut messages = Vec::with_capacity(MAX_BATCH);
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut close_replies = Vec::new();
        let mut panic_requested = false;
        while receiver.recv_many(&mut messages, MAX_BATCH).await > 0 {
            sort_messages(
                messages.drain(..),
                &mut batch,
                &mut close_replies,
                &mut panic_requested,
            );
            if !close_replies.is_empty() {
                // No write is accepted after this point; every write already queued is applied.
                receiver.close();
                while let Ok(message) = receiver.try_recv() {
                    sort_messages(
                        std::iter::once(message),
                        &mut batch,
                        &mut close_replies,
                        &mut panic_requested,
                    );
                }
            }
            let mut live = match connection.take() {
                Some(live) => live,
                None => match self.reopen().await {
                    Ok(live) => live,
                    Err(reason) => return self.give_up(reason, batch, receiver, close_replies),
                },
            };
            if !batch.is_empty() || panic_requested {
                let outcome = apply_in_own_task(live, std::mem::take(&mut batch), panic_requested);
                panic_requested = false;
                match outcome.await {
                    BatchOutcome::Healthy(healthy) => live = healthy,
                    BatchOutcome::Broken(reason) | BatchOutcome::Panicked(reason) => {
                        tracing::error!(
                            "the SQLite writer failed ({reason}); reopening its connection, the writes of that batch were answered with an error"
                        );
                        match self.reopen().await {
                            Ok(reopened) => {
                                tracing::info!("the SQLite writer reopened its connection");
                                live = reopened;
                            }
                            Err(reason) => {
                                return self.give_up(reason, batch, receiver, close_replies);
                            }
                        }
                    }
                }
            }
            if !close_replies.is_empty() {
                if let Err(error) = live.close().await {
                    tracing::debug!(%error, "closing the SQLite writer connection failed");
                }
                for reply in close_replies {
                    let _ = reply.send(());
                }
                return;
            }
            connection = Some(live);
        }
    }

    /// Opens a new connection after the policy's pause, as long as the policy allows another
    /// attempt; the reason to give up otherwise.
    async fn reopen(&mut self) -> Result<SqliteConnection, String> {
        loop {
            let now = Instant::now();
            while self
                .attempts
                .front()
                .is_some_and(|attempt| now.duration_since(*attempt) > self.policy.window)
            {
                self.attempts.pop_front();
            }
            if self.attempts.len() >= self.policy.max_attempts {
                return Err(format!(
                    "it failed again after reopening its connection {} times within {} s",
                    self.attempts.len(),
                    self.policy.window.as_secs()
                ));
            }
            let pause = self.policy.first_pause * 2_u32.pow(self.attempts.len() as u32);
            tokio::time::sleep(pause).await;
            self.attempts.push_back(Instant::now());
            match self.options.connect().await {
                Ok(connection) => return Ok(connection),
                Err(error) => {
                    tracing::warn!(%error, "the SQLite writer could not reopen its connection");
                    if self.attempts.len() >= self.policy.max_attempts {
                        return Err(format!("it could not reopen its connection: {error}"));
                    }
                }
            }
        }
    }

    /// Stops for good: records why (which the server waits for), then answers what is queued
    /// and closes the queue, so every later write fails at once with the reason.
    fn give_up(
        self,
        reason: String,
        batch: Vec<WriteRequest>,
        mut receiver: mpsc::Receiver<Message>,
        close_replies: Vec<oneshot::Sender<()>>,
    ) {
        tracing::error!("the SQLite writer stopped: {reason}; no write can be applied any more");
        let reason: Arc<str> = Arc::from(reason);
        self.stopped.send_replace(Some(reason.clone()));
        receiver.close();
        let stopped = || DbError::WriterStopped {
            reason: reason.to_string(),
        };
        for request in batch {
            let _ = request.reply.send(Err(stopped()));
        }
        while let Ok(message) = receiver.try_recv() {
            match message {
                Message::Write(request) => {
                    let _ = request.reply.send(Err(stopped()));
                }
                Message::Close(reply) => {
                    let _ = reply.send(());
                }
                #[cfg(test)]
                Message::Panic => {}
            }
        }
        for reply in close_replies {
            let _ = reply.send(());
        }
    }
}

fn sort_messages(
    messages: impl Iterator<Item = Message>,
    batch: &mut Vec<WriteRequest>,
    close_replies: &mut Vec<oneshot::Sender<()>>,
    panic_requested: &mut bool,
) {
    for message in messages {
        match message {
            Message::Write(request) => batch.push(request),
            Message::Close(reply) => close_replies.push(reply),
            #[cfg(test)]
            Message::Panic => *panic_requested = true,
        }
    }
    // Only tests ask for a panic; elsewhere the flag stays false.
    let _ = panic_requested;
}

/// Applies `batch` in a task of its own, so that a panic loses only this batch (its callers'
/// answers are dropped, which they see as [`DbError::WriteInterrupted`]) and not the writer.
async fn apply_in_own_task(
    mut connection: SqliteConnection,
    mut batch: Vec<WriteRequest>,
    panic_requested: bool,
) -> BatchOutcome {
    let task = tokio::spawn(async move {
        if panic_requested {
            panic!("the writer was asked to panic");
        }
        let broken = apply_batch(&mut connection, &mut batch).await;
        (connection, broken)
    });
    match task.await {
        Ok((connection, None)) => BatchOutcome::Healthy(connection),
        Ok((_, Some(reason))) => BatchOutcome::Broken(reason),
        Err(join_error) => {
            let reason = match join_error.try_into_panic() {
                Ok(payload) => payload
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .map_or_else(|| "a panic".to_owned(), |text| format!("a panic: {text}")),
                Err(_) => "its task was cancelled".to_owned(),
            };
            BatchOutcome::Panicked(reason)
        }
    }
}

/// Applies every request of `batch` (emptying it) and answers each caller. Returns why the
/// connection is unusable, if a statement found it so.
async fn apply_batch(
    connection: &mut SqliteConnection,
    batch: &mut Vec<WriteRequest>,
) -> Option<String> {
    if batch.len() > 1 {
        apply_in_one_transaction(connection, batch).await
    } else {
        // A lone write needs no explicit transaction: autocommit is one commit too, with two
        // round trips fewer.
        apply_one_by_one(connection, batch.drain(..).map(Pending::Unsent)).await
    }
}

async fn apply_in_one_transaction(
    connection: &mut SqliteConnection,
    batch: &mut Vec<WriteRequest>,
) -> Option<String> {
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
        return None;
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
    apply_one_by_one(connection, pending).await
}

enum Pending {
    Unsent(WriteRequest),
    Answered(WriteRequest, sqlx::Error),
}

async fn apply_one_by_one(
    connection: &mut SqliteConnection,
    pending: impl Iterator<Item = Pending>,
) -> Option<String> {
    let mut broken = None;
    for item in pending {
        match item {
            Pending::Answered(request, error) => {
                let _ = request.reply.send(Err(DbError::from(error)));
            }
            Pending::Unsent(request) => {
                let outcome =
                    run_statement(connection, request.sql, request.arguments, request.kind).await;
                if let Err(error) = &outcome
                    && broken.is_none()
                    && breaks_the_connection(error)
                {
                    broken = Some(error.to_string());
                }
                let _ = request.reply.send(outcome.map_err(DbError::from));
            }
        }
    }
    broken
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

/// Whether the connection cannot serve another statement after `error`: its I/O failed, sqlx's
/// worker thread for it is gone, or it no longer speaks the protocol.
fn breaks_the_connection(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)
    )
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

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::*;

    /// A writer on a fresh SQLite file with a `note` table, a quick restart policy, and the
    /// folder that holds the file.
    async fn writer_on_fresh_file(max_attempts: usize) -> (SqliteWriter, tempfile::TempDir) {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("writer.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let policy = RestartPolicy {
            max_attempts,
            window: Duration::from_secs(60),
            first_pause: Duration::from_millis(1),
        };
        let writer = SqliteWriter::start(&options, policy).await.unwrap();
        execute(&writer, "CREATE TABLE note (text TEXT NOT NULL)", None)
            .await
            .unwrap();
        (writer, directory)
    }

    async fn execute(writer: &SqliteWriter, sql: &str, text: Option<&str>) -> Result<u64, DbError> {
        let mut arguments = SqliteArguments::default();
        if let Some(text) = text {
            sqlx::Arguments::add(&mut arguments, text.to_owned()).unwrap();
        }
        match writer
            .write(sql.to_owned(), arguments, WriteKind::Affected)
            .await?
        {
            WriteOutcome::Affected(count) => Ok(count),
            WriteOutcome::Rows(rows) => Ok(rows.len() as u64),
        }
    }

    async fn insert(writer: &SqliteWriter, text: &str) -> Result<u64, DbError> {
        execute(writer, "INSERT INTO note (text) VALUES (?)", Some(text)).await
    }

    async fn stored_notes(directory: &tempfile::TempDir) -> Vec<String> {
        let url = format!("sqlite://{}", directory.path().join("writer.db").display());
        let mut connection = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        sqlx::query_scalar("SELECT text FROM note ORDER BY rowid")
            .fetch_all(&mut connection)
            .await
            .unwrap()
    }

    /// Group commit batches only what queued while the previous batch was applied; it never
    /// holds a write back to wait for company. On a paused clock, a batch window (any timer the
    /// writer waited on) would move the clock on before the write is answered.
    #[tokio::test(start_paused = true)]
    async fn a_lone_write_is_committed_at_once_without_waiting_for_a_batch_window() {
        let (writer, directory) = writer_on_fresh_file(5).await;
        let started = tokio::time::Instant::now();
        assert_eq!(insert(&writer, "alone").await.unwrap(), 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(stored_notes(&directory).await, ["alone"]);
        writer.close().await;
    }

    #[tokio::test]
    async fn a_panic_loses_only_its_batch_and_the_writer_goes_on_with_a_new_connection() {
        let (writer, directory) = writer_on_fresh_file(5).await;
        insert(&writer, "before").await.unwrap();
        writer.panic_for_test().await;
        // Queued behind the panic: in its batch (answered with an error, never applied) or in
        // the next one (applied on the new connection).
        let during = insert(&writer, "during").await;
        if let Err(error) = &during {
            assert!(matches!(error, DbError::WriteInterrupted), "{error}");
            assert!(
                error
                    .to_string()
                    .contains("may or may not have been applied")
            );
        }
        insert(&writer, "after").await.unwrap();
        assert!(writer.stop_reason().is_none(), "one panic is survived");

        let mut expected = vec!["before"];
        if during.is_ok() {
            expected.push("during");
        }
        expected.push("after");
        assert_eq!(stored_notes(&directory).await, expected);
        writer.close().await;
    }

    #[tokio::test]
    async fn a_writer_that_cannot_reopen_its_connection_gives_up_and_every_write_says_why() {
        let (writer, directory) = writer_on_fresh_file(3).await;
        insert(&writer, "kept").await.unwrap();
        // The database file's folder disappears: the open connection still works on the
        // deleted file, but no new connection can be opened.
        let folder = directory.path().to_owned();
        let moved = tempfile::tempdir().unwrap();
        std::fs::rename(&folder, moved.path().join("gone")).unwrap();
        writer.panic_for_test().await;
        let reason = tokio::time::timeout(Duration::from_secs(10), writer.stopped())
            .await
            .expect("the writer gives up after its attempts");
        assert!(
            reason.contains("could not reopen its connection"),
            "{reason}"
        );

        for _ in 0..3 {
            let error = insert(&writer, "refused").await.unwrap_err();
            let DbError::WriterStopped { reason: said } = &error else {
                panic!("expected WriterStopped, got {error}");
            };
            assert_eq!(said.as_str(), &*reason);
            assert!(
                error
                    .to_string()
                    .contains("send it again once the server is back"),
                "{error}"
            );
        }
        // Closing a writer that gave up answers at once.
        tokio::time::timeout(Duration::from_secs(5), writer.close())
            .await
            .unwrap();
        std::fs::rename(moved.path().join("gone"), &folder).unwrap();
        assert_eq!(stored_notes(&directory).await, ["kept"]);
    }

    #[tokio::test]
    async fn a_writer_that_keeps_failing_gives_up_after_its_attempts() {
        let (writer, directory) = writer_on_fresh_file(2).await;
        for _ in 0..2 {
            writer.panic_for_test().await;
            insert(&writer, "between panics").await.ok();
        }
        assert!(writer.stop_reason().is_none(), "two restarts are allowed");
        writer.panic_for_test().await;
        let reason = tokio::time::timeout(Duration::from_secs(10), writer.stopped())
            .await
            .unwrap();
        assert_eq!(
            &*reason,
            "it failed again after reopening its connection 2 times within 60 s"
        );
        assert!(matches!(
            insert(&writer, "refused").await,
            Err(DbError::WriterStopped { .. })
        ));
        assert!(
            !stored_notes(&directory)
                .await
                .contains(&"refused".to_owned())
        );
    }
}
