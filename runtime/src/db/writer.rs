//! Group commit for SQLite and PostgreSQL: one writer connection, owned by one task, applies the
//! single-row writes (`create`, `update`, `delete`) of every `Table` in shared transactions.
//!
//! SQLite admits one writer at a time and every commit costs a WAL append, lock traffic and a
//! round trip to the connection's thread; on PostgreSQL every commit is a WAL flush and a round
//! trip to the server, and every pooled write a pool checkout. Under a burst (a chat where many
//! sockets post at once) the writes that arrive while a batch is being applied are applied
//! together in the next one: one `BEGIN ... COMMIT` for up to [`MAX_BATCH`] statements. The
//! caller's future still completes only after the transaction holding its statement has
//! committed, so a `create` that returned `Ok` is exactly as durable, and as visible to other
//! connections, as before. A lone write is applied at once, in autocommit: no batch window.
//! Statements are applied in the order they were queued: a socket event's handler releases its
//! socket's write turn once its statement is queued (see `effect_order`), so one socket's
//! writes keep their order and still share commits.
//!
//! One write's failure never becomes another's. On SQLite, a statement that fails with a
//! constraint violation (a taken unique value, a missing foreign key row) is undone on its own,
//! without ending the transaction, so only its caller sees the error. PostgreSQL aborts the whole
//! transaction on any failing statement; rather than a savepoint round trip around every
//! statement, the batch stops there. Either way, any failure the transaction does not survive,
//! including a failed `COMMIT`, rolls the batch back and applies its statements again one by
//! one, each in its own transaction (autocommit), so each caller gets its own statement's
//! answer. A failing write costs its batch a second pass; a batch without one costs nothing more.
//!
//! On PostgreSQL, other connections hold locks too (a transaction of the app, another process):
//! the writer's connection waits at most 5 s for a lock (`lock_timeout`, as SQLite's writer waits
//! 5 s for the write lock) so that one blocked statement cannot hold every later write behind it
//! for longer.
//!
//! The writer survives its own failures. Each batch runs in a task of its own, so a panic loses
//! only that batch (its callers get [`DbError::WriteInterrupted`], never a false success), and a
//! connection that breaks (an I/O error, sqlx's worker thread gone, a PostgreSQL server that
//! restarted) is replaced. Either way the writer reopens its connection after a doubling pause,
//! logging one line per failure, and the queued writes go on. A SQLite writer that fails more
//! than [`RestartPolicy::max_attempts`] times within [`RestartPolicy::window`] (a database that
//! cannot be opened any more, a write that panics every time) gives up instead of failing every
//! later write: it answers what is queued and everything after with [`DbError::WriterStopped`],
//! and [`Writer::stopped`] tells the server, which logs the reason and exits non-zero through its
//! shutdown path (a process manager then restarts it, and the failure is visible). A PostgreSQL
//! server that cannot be reached is expected to come back (a restart, a failover), as it is for
//! the pool: that writer never gives up, answers the writes of each batch it cannot apply with
//! [`DbError::DatabaseUnreachable`], and tries to reconnect for the next batch after the longest
//! pause.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteRow};
use sqlx::{
    AssertSqlSafe, ConnectOptions as _, Connection as _, PgConnection, Postgres, Sqlite,
    SqliteConnection,
};
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

/// The result of one write, handed back to its caller: `Row` is the system's row type.
pub(crate) enum WriteOutcome<Row> {
    Rows(Vec<Row>),
    Affected(u64),
}

/// What the writer needs of a database system: its connection, how to run one statement on it,
/// and how its transactions react to a failing statement.
pub(crate) trait WriterSystem: Debug + Send + Sync + 'static {
    type Connection: Send + 'static;
    type Options: Clone + Debug + Send + Sync + 'static;
    type Arguments: Clone + Send + 'static;
    type Row: Send + 'static;

    /// The system's name in log lines.
    const NAME: &'static str;
    /// The statement that opens a batch's transaction.
    const BEGIN: &'static str;
    /// Whether the writer stops for good after failing too often (see the module docs).
    const GIVES_UP: bool;

    /// Opens the writer's connection and prepares it.
    fn connect(
        options: &Self::Options,
    ) -> impl Future<Output = Result<Self::Connection, sqlx::Error>> + Send;

    fn close(connection: Self::Connection) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Runs a statement without parameters (`BEGIN`, `COMMIT`, `ROLLBACK`).
    fn execute_plain(
        connection: &mut Self::Connection,
        sql: &'static str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    fn run_statement(
        connection: &mut Self::Connection,
        sql: String,
        arguments: Self::Arguments,
        kind: WriteKind,
    ) -> impl Future<Output = Result<WriteOutcome<Self::Row>, sqlx::Error>> + Send;

    /// Whether the open transaction goes on after a statement failed with `error`, the
    /// statement alone undone.
    fn transaction_survives(error: &sqlx::Error) -> bool;

    /// Whether the connection cannot serve another statement after `error`: its I/O failed,
    /// sqlx's worker thread for it is gone, or it no longer speaks the protocol.
    fn breaks_the_connection(error: &sqlx::Error) -> bool {
        matches!(
            error,
            sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)
        )
    }
}

impl WriterSystem for Sqlite {
    type Connection = SqliteConnection;
    type Options = SqliteConnectOptions;
    type Arguments = SqliteArguments;
    type Row = SqliteRow;

    const NAME: &'static str = "SQLite";
    const BEGIN: &'static str = "BEGIN IMMEDIATE";
    const GIVES_UP: bool = true;

    async fn connect(options: &SqliteConnectOptions) -> Result<SqliteConnection, sqlx::Error> {
        options.connect().await
    }

    async fn close(connection: SqliteConnection) -> Result<(), sqlx::Error> {
        connection.close().await
    }

    async fn execute_plain(
        connection: &mut SqliteConnection,
        sql: &'static str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql).execute(connection).await.map(drop)
    }

    async fn run_statement(
        connection: &mut SqliteConnection,
        sql: String,
        arguments: SqliteArguments,
        kind: WriteKind,
    ) -> Result<WriteOutcome<SqliteRow>, sqlx::Error> {
        let query = sqlx::query_with::<Sqlite, _>(AssertSqlSafe(sql), arguments);
        match kind {
            WriteKind::Rows => Ok(WriteOutcome::Rows(query.fetch_all(connection).await?)),
            WriteKind::Affected => Ok(WriteOutcome::Affected(
                query.execute(connection).await?.rows_affected(),
            )),
        }
    }

    /// SQLite undoes only a statement that violated a constraint (its default ABORT
    /// resolution); everything else ends the batch.
    fn transaction_survives(error: &sqlx::Error) -> bool {
        match error {
            sqlx::Error::Database(database_error) => {
                !matches!(database_error.kind(), sqlx::error::ErrorKind::Other)
            }
            _ => false,
        }
    }
}

impl WriterSystem for Postgres {
    type Connection = PgConnection;
    type Options = PgConnectOptions;
    type Arguments = PgArguments;
    type Row = PgRow;

    const NAME: &'static str = "PostgreSQL";
    const BEGIN: &'static str = "BEGIN";
    const GIVES_UP: bool = false;

    async fn connect(options: &PgConnectOptions) -> Result<PgConnection, sqlx::Error> {
        let mut connection = options.connect().await?;
        sqlx::query("SET lock_timeout = '5s'")
            .execute(&mut connection)
            .await?;
        Ok(connection)
    }

    async fn close(connection: PgConnection) -> Result<(), sqlx::Error> {
        connection.close().await
    }

    async fn execute_plain(
        connection: &mut PgConnection,
        sql: &'static str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql).execute(connection).await.map(drop)
    }

    async fn run_statement(
        connection: &mut PgConnection,
        sql: String,
        arguments: PgArguments,
        kind: WriteKind,
    ) -> Result<WriteOutcome<PgRow>, sqlx::Error> {
        let query = sqlx::query_with::<Postgres, _>(AssertSqlSafe(sql), arguments);
        match kind {
            WriteKind::Rows => Ok(WriteOutcome::Rows(query.fetch_all(connection).await?)),
            WriteKind::Affected => Ok(WriteOutcome::Affected(
                query.execute(connection).await?.rows_affected(),
            )),
        }
    }

    /// PostgreSQL aborts the transaction on any failing statement.
    fn transaction_survives(_error: &sqlx::Error) -> bool {
        false
    }

    /// Besides a failed socket, the server says so itself when it ends the session: class 08
    /// (connection exception) and 57P (shut down, crashed, or the backend terminated).
    fn breaks_the_connection(error: &sqlx::Error) -> bool {
        let ended_by_server = error.as_database_error().is_some_and(|database_error| {
            database_error
                .code()
                .is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
        });
        ended_by_server
            || matches!(
                error,
                sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)
            )
    }
}

/// The group-commit writer of SQLite.
pub(crate) type SqliteWriter = Writer<Sqlite>;
/// The group-commit writer of PostgreSQL.
pub(crate) type PostgresWriter = Writer<Postgres>;

/// The writer of the app's database, whichever system it is.
#[derive(Debug, Clone)]
pub(crate) enum GroupWriter {
    Sqlite(SqliteWriter),
    Postgres(PostgresWriter),
}

impl GroupWriter {
    /// See [`Writer::stopped`].
    pub(crate) async fn stopped(&self) -> Arc<str> {
        match self {
            GroupWriter::Sqlite(writer) => writer.stopped().await,
            GroupWriter::Postgres(writer) => writer.stopped().await,
        }
    }

    /// See [`Writer::stop_reason`].
    pub(crate) fn stop_reason(&self) -> Option<Arc<str>> {
        match self {
            GroupWriter::Sqlite(writer) => writer.stop_reason(),
            GroupWriter::Postgres(writer) => writer.stop_reason(),
        }
    }

    /// See [`Writer::close`].
    pub(crate) async fn close(&self) {
        match self {
            GroupWriter::Sqlite(writer) => writer.close().await,
            GroupWriter::Postgres(writer) => writer.close().await,
        }
    }

    /// Tests only: see [`Writer::panic_for_test`].
    #[cfg(test)]
    pub(crate) async fn panic_for_test(&self) {
        match self {
            GroupWriter::Sqlite(writer) => writer.panic_for_test().await,
            GroupWriter::Postgres(writer) => writer.panic_for_test().await,
        }
    }
}

struct WriteRequest<S: WriterSystem> {
    sql: String,
    arguments: S::Arguments,
    kind: WriteKind,
    reply: oneshot::Sender<Result<WriteOutcome<S::Row>, DbError>>,
}

enum Message<S: WriterSystem> {
    Write(WriteRequest<S>),
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
#[derive(Debug)]
pub(crate) struct Writer<S: WriterSystem> {
    sender: mpsc::Sender<Message<S>>,
    /// Why the writer gave up, once it has.
    stopped: watch::Receiver<Option<Arc<str>>>,
}

impl<S: WriterSystem> Clone for Writer<S> {
    fn clone(&self) -> Self {
        Writer {
            sender: self.sender.clone(),
            stopped: self.stopped.clone(),
        }
    }
}

impl<S: WriterSystem> Writer<S> {
    /// Opens the writer's own connection with `options` and starts its task on the current
    /// tokio runtime.
    pub(crate) async fn start(
        options: &S::Options,
        policy: RestartPolicy,
    ) -> Result<Writer<S>, DbError> {
        let connection = S::connect(options).await?;
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
        let (stop_sender, stopped) = watch::channel(None);
        let supervisor = Supervisor {
            options: options.clone(),
            policy,
            attempts: VecDeque::new(),
            stopped: stop_sender,
        };
        tokio::spawn(supervisor.run(connection, receiver));
        Ok(Writer { sender, stopped })
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
        arguments: S::Arguments,
        kind: WriteKind,
    ) -> Result<WriteOutcome<S::Row>, DbError> {
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
struct Supervisor<S: WriterSystem> {
    options: S::Options,
    policy: RestartPolicy,
    /// When the connection was reopened (or tried to be) within the policy's window.
    attempts: VecDeque<Instant>,
    stopped: watch::Sender<Option<Arc<str>>>,
}

/// What became of a batch: whether the connection can serve the next one.
enum BatchOutcome<S: WriterSystem> {
    Healthy(S::Connection),
    /// The connection reported an error that leaves it unusable; it is dropped.
    Broken(String),
    /// The batch's task panicked, taking the connection with it.
    Panicked(String),
}

/// Why the writer could not reopen its connection.
enum ReopenFailure {
    /// It stops for good (SQLite, see [`WriterSystem::GIVES_UP`]).
    GiveUp(String),
    /// PostgreSQL could not be reached this time; the next batch tries again.
    Unreachable(String),
}

impl<S: WriterSystem> Supervisor<S> {
    async fn run(mut self, connection: S::Connection, mut receiver: mpsc::Receiver<Message<S>>) {
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
                    Err(ReopenFailure::GiveUp(reason)) => {
                        return self.give_up(reason, batch, receiver, close_replies);
                    }
                    Err(ReopenFailure::Unreachable(reason)) => {
                        answer_unreachable(&reason, batch.drain(..));
                        if !close_replies.is_empty() {
                            for reply in close_replies {
                                let _ = reply.send(());
                            }
                            return;
                        }
                        continue;
                    }
                },
            };
            if !batch.is_empty() || panic_requested {
                let outcome = apply_in_own_task(live, std::mem::take(&mut batch), panic_requested);
                panic_requested = false;
                match outcome.await {
                    BatchOutcome::Healthy(healthy) => live = healthy,
                    BatchOutcome::Broken(reason) | BatchOutcome::Panicked(reason) => {
                        tracing::error!(
                            "the {} writer failed ({reason}); reopening its connection, the writes of that batch were answered with an error",
                            S::NAME
                        );
                        match self.reopen().await {
                            Ok(reopened) => {
                                tracing::info!("the {} writer reopened its connection", S::NAME);
                                live = reopened;
                            }
                            Err(ReopenFailure::GiveUp(reason)) => {
                                return self.give_up(reason, batch, receiver, close_replies);
                            }
                            Err(ReopenFailure::Unreachable(_)) => {
                                // The next batch tries again; nothing of this one is left.
                                if !close_replies.is_empty() {
                                    for reply in close_replies {
                                        let _ = reply.send(());
                                    }
                                    return;
                                }
                                continue;
                            }
                        }
                    }
                }
            }
            if !close_replies.is_empty() {
                if let Err(error) = S::close(live).await {
                    tracing::debug!(%error, "closing the {} writer connection failed", S::NAME);
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
    /// attempt; why it failed otherwise. A writer that never gives up (PostgreSQL) tries once per
    /// call, pausing at most as long as the policy's last attempt would.
    async fn reopen(&mut self) -> Result<S::Connection, ReopenFailure> {
        loop {
            let now = Instant::now();
            while self
                .attempts
                .front()
                .is_some_and(|attempt| now.duration_since(*attempt) > self.policy.window)
            {
                self.attempts.pop_front();
            }
            if S::GIVES_UP && self.attempts.len() >= self.policy.max_attempts {
                return Err(ReopenFailure::GiveUp(format!(
                    "it failed again after reopening its connection {} times within {} s",
                    self.attempts.len(),
                    self.policy.window.as_secs()
                )));
            }
            let doublings = self
                .attempts
                .len()
                .min(self.policy.max_attempts.saturating_sub(1));
            let pause = self.policy.first_pause * 2_u32.pow(doublings as u32);
            tokio::time::sleep(pause).await;
            if self.attempts.len() >= self.policy.max_attempts {
                self.attempts.pop_front();
            }
            self.attempts.push_back(Instant::now());
            match S::connect(&self.options).await {
                Ok(connection) => return Ok(connection),
                Err(error) => {
                    tracing::warn!(%error, "the {} writer could not reopen its connection", S::NAME);
                    if !S::GIVES_UP {
                        return Err(ReopenFailure::Unreachable(error.to_string()));
                    }
                    if self.attempts.len() >= self.policy.max_attempts {
                        return Err(ReopenFailure::GiveUp(format!(
                            "it could not reopen its connection: {error}"
                        )));
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
        batch: Vec<WriteRequest<S>>,
        mut receiver: mpsc::Receiver<Message<S>>,
        close_replies: Vec<oneshot::Sender<()>>,
    ) {
        tracing::error!(
            "the {} writer stopped: {reason}; no write can be applied any more",
            S::NAME
        );
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

/// Answers the writes of a batch that could not be applied because the database could not be
/// reached: none of them was applied.
fn answer_unreachable<S: WriterSystem>(reason: &str, batch: impl Iterator<Item = WriteRequest<S>>) {
    for request in batch {
        let _ = request.reply.send(Err(DbError::DatabaseUnreachable {
            system: S::NAME,
            reason: reason.to_owned(),
        }));
    }
}

fn sort_messages<S: WriterSystem>(
    messages: impl Iterator<Item = Message<S>>,
    batch: &mut Vec<WriteRequest<S>>,
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
async fn apply_in_own_task<S: WriterSystem>(
    mut connection: S::Connection,
    mut batch: Vec<WriteRequest<S>>,
    panic_requested: bool,
) -> BatchOutcome<S> {
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
async fn apply_batch<S: WriterSystem>(
    connection: &mut S::Connection,
    batch: &mut Vec<WriteRequest<S>>,
) -> Option<String> {
    if batch.len() > 1 {
        apply_in_one_transaction(connection, batch).await
    } else {
        // A lone write needs no explicit transaction: autocommit is one commit too, with two
        // round trips fewer.
        apply_one_by_one(connection, batch.drain(..).map(Pending::Unsent)).await
    }
}

async fn apply_in_one_transaction<S: WriterSystem>(
    connection: &mut S::Connection,
    batch: &mut Vec<WriteRequest<S>>,
) -> Option<String> {
    if let Err(error) = S::execute_plain(connection, S::BEGIN).await {
        tracing::debug!(%error, "could not begin a group commit; writing one by one");
        return apply_one_by_one(connection, batch.drain(..).map(Pending::Unsent)).await;
    }
    let mut results: Vec<(WriteRequest<S>, StatementResult<S>)> = Vec::with_capacity(batch.len());
    let mut batch_failed = false;
    for mut request in batch.drain(..) {
        if batch_failed {
            results.push((request, Err(sqlx::Error::WorkerCrashed)));
            continue;
        }
        // The arguments are needed again if the batch has to be replayed one by one.
        let arguments = request.arguments.clone();
        let sql = std::mem::take(&mut request.sql);
        let outcome = S::run_statement(connection, sql.clone(), arguments, request.kind).await;
        request.sql = sql;
        if let Err(error) = &outcome {
            batch_failed = !S::transaction_survives(error);
        }
        results.push((request, outcome));
    }
    let committed = !batch_failed
        && match S::execute_plain(connection, "COMMIT").await {
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
    if let Err(error) = S::execute_plain(connection, "ROLLBACK").await {
        // Without an open transaction (SQLite may have rolled it back itself) this fails
        // harmlessly; the replay below runs in autocommit either way.
        tracing::debug!(%error, "rollback after a failed group commit");
    }
    let pending = results.into_iter().map(|(request, outcome)| match outcome {
        // A statement undone alone, its transaction going on (a constraint violation on
        // SQLite), has its own answer, which does not depend on the other statements of the
        // batch. On PostgreSQL every statement runs again.
        Err(error) if S::transaction_survives(&error) => Pending::Answered(request, error),
        _ => Pending::Unsent(request),
    });
    apply_one_by_one(connection, pending).await
}

/// What one statement of a batch returned, before the batch's fate is known.
type StatementResult<S> = Result<WriteOutcome<<S as WriterSystem>::Row>, sqlx::Error>;

enum Pending<S: WriterSystem> {
    Unsent(WriteRequest<S>),
    Answered(WriteRequest<S>, sqlx::Error),
}

async fn apply_one_by_one<S: WriterSystem>(
    connection: &mut S::Connection,
    pending: impl Iterator<Item = Pending<S>>,
) -> Option<String> {
    let mut broken = None;
    for item in pending {
        match item {
            Pending::Answered(request, error) => {
                let _ = request.reply.send(Err(DbError::from(error)));
            }
            Pending::Unsent(request) => {
                let outcome =
                    S::run_statement(connection, request.sql, request.arguments, request.kind)
                        .await;
                if let Err(error) = &outcome
                    && broken.is_none()
                    && S::breaks_the_connection(error)
                {
                    broken = Some(error.to_string());
                }
                let _ = request.reply.send(outcome.map_err(DbError::from));
            }
        }
    }
    broken
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

/// The writer on PostgreSQL, against the server of `APPC_TEST_POSTGRES_URL`
/// (tests/support/start-postgres.sh prints one); skipped, with a notice, without it.
///
/// To know which writes share a batch, the tests hold the writer on a lock: a first write waits
/// for a row that another connection keeps locked, the writes queued meanwhile form the next
/// batch once the lock is released. Every row records the transaction that inserted it.
#[cfg(test)]
mod postgres_tests {
    use std::str::FromStr as _;

    use sqlx::{PgPool, Row as _};

    use super::*;

    struct Fixture {
        writer: PostgresWriter,
        /// Connections of the test itself: reads, and the lock holders.
        pool: PgPool,
        /// The `note` table of this test (unique name) and its two lock rows' table.
        note: String,
        gate: String,
    }

    async fn fixture() -> Option<Fixture> {
        let Some(url) = std::env::var("APPC_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
        else {
            eprintln!(
                "\n*** skipped: set APPC_TEST_POSTGRES_URL (tests/support/start-postgres.sh prints one) ***\n"
            );
            return None;
        };
        let options = PgConnectOptions::from_str(&url).unwrap();
        let writer = PostgresWriter::start(&options, RestartPolicy::default())
            .await
            .unwrap();
        let pool = PgPool::connect(&url).await.unwrap();
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let note = format!("writer_note_{suffix}");
        let gate = format!("writer_gate_{suffix}");
        for statement in [
            format!(
                "CREATE TABLE {note} (text TEXT NOT NULL UNIQUE, transaction_id BIGINT NOT NULL DEFAULT txid_current())"
            ),
            format!("CREATE TABLE {gate} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"),
            format!("INSERT INTO {gate} VALUES (1, 0), (2, 0)"),
        ] {
            sqlx::query(AssertSqlSafe(statement))
                .execute(&pool)
                .await
                .unwrap();
        }
        Some(Fixture {
            writer,
            pool,
            note,
            gate,
        })
    }

    impl Fixture {
        async fn write(&self, sql: String, text: Option<&str>) -> Result<u64, DbError> {
            let mut arguments = PgArguments::default();
            if let Some(text) = text {
                sqlx::Arguments::add(&mut arguments, text.to_owned()).unwrap();
            }
            match self
                .writer
                .write(sql, arguments, WriteKind::Affected)
                .await?
            {
                WriteOutcome::Affected(count) => Ok(count),
                WriteOutcome::Rows(rows) => Ok(rows.len() as u64),
            }
        }

        /// Queues an insert of `text` into the note table in a task of its own.
        fn spawn_insert(
            self: &Arc<Self>,
            text: &'static str,
        ) -> tokio::task::JoinHandle<Result<u64, DbError>> {
            let fixture = self.clone();
            tokio::spawn(async move {
                let sql = format!("INSERT INTO {} (text) VALUES ($1)", fixture.note);
                fixture.write(sql, Some(text)).await
            })
        }

        /// Queues a write that waits for gate row `row` while another connection holds it.
        fn spawn_gated_write(
            self: &Arc<Self>,
            row: i32,
        ) -> tokio::task::JoinHandle<Result<u64, DbError>> {
            let fixture = self.clone();
            tokio::spawn(async move {
                let sql = format!("UPDATE {} SET n = n + 1 WHERE id = {row}", fixture.gate);
                fixture.write(sql, None).await
            })
        }

        /// Locks gate row `row` in an open transaction of the test's own, until committed.
        async fn hold_gate(&self, row: i32) -> sqlx::Transaction<'static, Postgres> {
            let mut holder = self.pool.begin().await.unwrap();
            let sql = format!("SELECT n FROM {} WHERE id = {row} FOR UPDATE", self.gate);
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut *holder)
                .await
                .unwrap();
            holder
        }

        /// Waits until the writer's connection waits for a lock on the gate table.
        async fn wait_for_writer_blocked(&self) {
            let pattern = format!("UPDATE {}%", self.gate);
            for _ in 0..500 {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
                )
                .bind(&pattern)
                .fetch_one(&self.pool)
                .await
                .unwrap();
                if waiting > 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the writer never waited for the gate");
        }

        /// The note table's rows: text and the transaction that inserted it, read through a
        /// connection of the test's own.
        async fn stored(&self) -> Vec<(String, i64)> {
            let sql = format!(
                "SELECT text, transaction_id FROM {} ORDER BY text",
                self.note
            );
            sqlx::query(AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await
                .unwrap()
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect()
        }

        async fn drop_tables(&self) {
            self.writer.close().await;
            for table in [&self.note, &self.gate] {
                sqlx::query(AssertSqlSafe(format!("DROP TABLE {table}")))
                    .execute(&self.pool)
                    .await
                    .unwrap();
            }
            self.pool.close().await;
        }
    }

    /// Releases gate row 1 after the writes queued behind the write it holds are in the queue.
    async fn release_after_queueing(holder: sqlx::Transaction<'static, Postgres>) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        holder.commit().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_writes_queued_together_commit_in_one_transaction() {
        let Some(fixture) = fixture().await else {
            return;
        };
        let fixture = Arc::new(fixture);
        let holder = fixture.hold_gate(1).await;
        let gated = fixture.spawn_gated_write(1);
        fixture.wait_for_writer_blocked().await;
        let inserts: Vec<_> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|text| fixture.spawn_insert(text))
            .collect();
        release_after_queueing(holder).await;
        assert_eq!(gated.await.unwrap().unwrap(), 1);
        for insert in inserts {
            assert_eq!(insert.await.unwrap().unwrap(), 1);
        }
        let stored = fixture.stored().await;
        let texts: Vec<_> = stored.iter().map(|(text, _)| text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d"]);
        assert!(
            stored
                .iter()
                .all(|(_, transaction)| *transaction == stored[0].1),
            "one transaction for the whole batch: {stored:?}"
        );
        fixture.drop_tables().await;
    }

    /// PostgreSQL aborts a transaction on any failing statement: the batch is applied again
    /// one by one, so the constraint violation and the statement on a missing table fail alone,
    /// and every other write of their batch is stored exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_postgres_write_fails_alone_and_the_rest_of_its_batch_commits() {
        let Some(fixture) = fixture().await else {
            return;
        };
        let fixture = Arc::new(fixture);
        let insert = format!("INSERT INTO {} (text) VALUES ($1)", fixture.note);
        fixture.write(insert, Some("taken")).await.unwrap();
        let holder = fixture.hold_gate(1).await;
        let gated = fixture.spawn_gated_write(1);
        fixture.wait_for_writer_blocked().await;
        let before = [fixture.spawn_insert("a"), fixture.spawn_insert("b")];
        let taken = fixture.spawn_insert("taken");
        let missing_table = {
            let fixture = fixture.clone();
            tokio::spawn(async move {
                let sql = "INSERT INTO writer_no_such_table (text) VALUES ($1)".to_owned();
                fixture.write(sql, Some("nowhere")).await
            })
        };
        let after = [fixture.spawn_insert("c"), fixture.spawn_insert("d")];
        release_after_queueing(holder).await;
        assert_eq!(gated.await.unwrap().unwrap(), 1);
        let taken = taken.await.unwrap().unwrap_err();
        assert!(taken.is_unique_violation(), "{taken}");
        let missing_table = missing_table.await.unwrap().unwrap_err();
        assert!(
            missing_table.to_string().contains("writer_no_such_table"),
            "{missing_table}"
        );
        for insert in before.into_iter().chain(after) {
            assert_eq!(insert.await.unwrap().unwrap(), 1);
        }
        let texts: Vec<_> = fixture
            .stored()
            .await
            .into_iter()
            .map(|(text, _)| text)
            .collect();
        assert_eq!(texts, ["a", "b", "c", "d", "taken"]);
        fixture.drop_tables().await;
    }

    /// A write is answered only after the transaction holding it has committed: while a later
    /// statement of its batch is still running, other connections do not see it, and once the
    /// caller has its answer, they do.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_postgres_write_is_visible_only_once_it_is_reported_done() {
        let Some(fixture) = fixture().await else {
            return;
        };
        let fixture = Arc::new(fixture);
        let first_holder = fixture.hold_gate(1).await;
        let second_holder = fixture.hold_gate(2).await;
        let first_gated = fixture.spawn_gated_write(1);
        fixture.wait_for_writer_blocked().await;
        // The next batch: the insert, then a write that waits for gate row 2.
        let early = fixture.spawn_insert("early");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second_gated = fixture.spawn_gated_write(2);
        release_after_queueing(first_holder).await;
        assert_eq!(first_gated.await.unwrap().unwrap(), 1);
        // The batch has inserted `early` and now waits on gate row 2.
        fixture.wait_for_writer_blocked().await;
        assert!(!early.is_finished(), "answered before its batch committed");
        assert!(
            fixture.stored().await.is_empty(),
            "visible before its batch committed"
        );
        second_holder.commit().await.unwrap();
        assert_eq!(early.await.unwrap().unwrap(), 1);
        let texts: Vec<_> = fixture
            .stored()
            .await
            .into_iter()
            .map(|(text, _)| text)
            .collect();
        assert_eq!(texts, ["early"], "visible as soon as it is answered");
        assert_eq!(second_gated.await.unwrap().unwrap(), 1);
        fixture.drop_tables().await;
    }

    /// A write waiting for a lock another connection keeps fails after the writer's 5 s
    /// `lock_timeout`, and the writes queued behind it go on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_postgres_write_waits_at_most_five_seconds_for_a_lock() {
        let Some(fixture) = fixture().await else {
            return;
        };
        let fixture = Arc::new(fixture);
        let holder = fixture.hold_gate(1).await;
        let started = std::time::Instant::now();
        let gated = fixture.spawn_gated_write(1);
        fixture.wait_for_writer_blocked().await;
        let behind = fixture.spawn_insert("behind");
        let error = gated.await.unwrap().unwrap_err();
        assert!(error.to_string().contains("lock timeout"), "{error}");
        assert!(started.elapsed() >= Duration::from_secs(5));
        assert_eq!(behind.await.unwrap().unwrap(), 1);
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "the write behind waited for a second lock timeout"
        );
        holder.commit().await.unwrap();
        assert_eq!(fixture.stored().await.len(), 1);
        fixture.drop_tables().await;
    }

    /// The server ends the writer's session (a restart, an administrator): the write that saw
    /// it fails, the writer reconnects, and the next write is applied.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_postgres_writer_reconnects_after_the_server_ends_its_session() {
        let Some(fixture) = fixture().await else {
            return;
        };
        let terminated = fixture
            .write(
                "SELECT pg_terminate_backend(pg_backend_pid())".to_owned(),
                None,
            )
            .await;
        assert!(terminated.is_err(), "the session outlived its termination");
        let insert = format!("INSERT INTO {} (text) VALUES ($1)", fixture.note);
        assert_eq!(fixture.write(insert, Some("after")).await.unwrap(), 1);
        assert!(fixture.writer.stop_reason().is_none());
        assert_eq!(fixture.stored().await.len(), 1);
        fixture.drop_tables().await;
    }
}
