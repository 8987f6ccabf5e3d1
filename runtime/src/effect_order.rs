//! The order of one socket's effects: its handlers' database writes and emits keep the order in
//! which their events arrived, while the handlers themselves run side by side.
//!
//! [`on_in_order`](crate::socket::on_in_order) gives every accepted event of a socket a ticket
//! (its arrival number on that socket) and runs its handler as its own task inside a task-local
//! [`OrderTicket`]. Each socket has a [`SocketSequencer`] with two turnstiles, one for writes
//! and one for emits; a ticket passes a turnstile once every earlier ticket of the socket has
//! released it:
//!
//! - **writes**: a write made through the entity layer ([`Table`](crate::Table)'s `create`,
//!   `update` and `delete`, and [`Database::begin`](crate::Database::begin)) waits for its turn.
//!   A ticket releases writes as soon as its first write has been handed to the database (on
//!   SQLite, queued for the group-commit writer, which applies its queue in order; on
//!   PostgreSQL, once the statement has run), when its transaction ends, or when its handler
//!   ends. The commit is awaited after the release, so the next handler's insert joins the same
//!   group commit instead of waiting for this one's.
//! - **emits**: an emit through the runtime (the generated `emit_<event>` and `Emitter`
//!   methods, [`emit_to_socket`](crate::codegen::emit_to_socket),
//!   [`Emitter::to_all`](crate::Emitter::to_all), `to_room`, `to_user`, and acknowledgements sent
//!   with the runtime's [`AckSender`](crate::codegen::AckSender)) waits until every earlier
//!   ticket's handler has ended. An asynchronous emit awaits its turn; a synchronous one made
//!   before its turn is encoded at once and queued, then sent the moment the turn comes.
//!
//! The guarantee: for one socket, the first entity write of each handler is applied in arrival
//! order (so generated ids and stored order follow the order of the events), and every emit and
//! acknowledgement leaves in arrival order (all of one handler's before any of the next one's).
//! Later writes of a handler may interleave with the next handlers' first writes; writes made
//! on the raw pools and emits made with socketioxide's own `socket.emit` or `broadcast` are not
//! ordered. Outside a ticketed task (HTTP handlers, the setup function, spawned tasks) nothing
//! waits.
//!
//! Why not run one handler at a time: with one handler in flight per socket, a sender's next
//! insert waits for its previous broadcast, so each group commit carried at most one message
//! per sender and commits and broadcasts no longer overlapped (`BENCHMARKS.md`, per-socket
//! order). Ordering the effects instead of the handlers keeps both.
//!
//! A handler that panics or is dropped releases both turnstiles through [`TicketGuard`]'s
//! `Drop`, so the socket's later events never wait for it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

tokio::task_local! {
    /// The ticket of the socket event whose handler this task runs.
    static CURRENT_TICKET: OrderTicket;
}

/// An emit made before its turn: encoded already, sent when every earlier handler has ended.
pub(crate) type DeferredEmit = Box<dyn FnOnce() + Send>;

/// One socket's tickets and turnstiles, kept in its event gate.
pub(crate) struct SocketSequencer {
    next_ticket: AtomicU64,
    writes: Turnstile,
    emits: Turnstile,
}

/// An event's place in its socket's order, available to the handler's task (and what it calls)
/// through [`OrderTicket::current`].
#[derive(Clone)]
pub(crate) struct OrderTicket {
    sequencer: Arc<SocketSequencer>,
    ticket: u64,
}

/// Releases both turnstiles of a ticket when the handler's task ends, however it ends.
pub(crate) struct TicketGuard {
    ticket: OrderTicket,
}

/// A write turn held by a [`Transaction`](crate::Transaction) until it commits, rolls back or is
/// dropped.
pub(crate) struct HeldWriteTurn {
    ticket: OrderTicket,
}

/// Tickets that passed: every ticket below `first_unreleased` has released, and so have those
/// in `released_ahead`.
struct TurnstileState {
    first_unreleased: u64,
    released_ahead: BTreeSet<u64>,
    /// Emits made before their ticket's turn, sent in ticket order as the turn comes. Only
    /// ever reached through `&mut` (the mutex makes the state `Sync`; it is never contended).
    deferred: Mutex<BTreeMap<u64, Vec<DeferredEmit>>>,
}

struct Turnstile {
    state: watch::Sender<TurnstileState>,
}

impl SocketSequencer {
    pub(crate) fn new() -> Arc<SocketSequencer> {
        Arc::new(SocketSequencer {
            next_ticket: AtomicU64::new(0),
            writes: Turnstile::new(),
            emits: Turnstile::new(),
        })
    }

    /// The next ticket, in arrival order: call it from the socket's read loop, once per event
    /// whose handler will run, and hand the guard to the handler's task.
    pub(crate) fn next_ticket(self: &Arc<Self>) -> TicketGuard {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        TicketGuard {
            ticket: OrderTicket {
                sequencer: self.clone(),
                ticket,
            },
        }
    }
}

impl TicketGuard {
    /// Runs `future` with this ticket as the task's current one; the guard (and with it both
    /// turnstiles) is released when the returned future completes or is dropped, even unpolled.
    pub(crate) fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        let ticket = self.ticket.clone();
        async move {
            let _guard = self;
            CURRENT_TICKET.scope(ticket, future).await
        }
    }
}

impl Drop for TicketGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!(
                ticket = self.ticket.ticket,
                "a socket event handler panicked; the socket's later events go on"
            );
        }
        self.ticket.release_writes();
        self.ticket.sequencer.emits.release(self.ticket.ticket);
    }
}

impl OrderTicket {
    /// The ticket of the handler this task runs, if it runs one.
    pub(crate) fn current() -> Option<OrderTicket> {
        CURRENT_TICKET.try_with(OrderTicket::clone).ok()
    }

    /// Waits until every earlier ticket of the socket has released writes.
    pub(crate) async fn wait_for_write_turn(&self) {
        self.sequencer.writes.wait_for_turn(self.ticket).await;
    }

    /// Lets the socket's later tickets write; harmless when already released.
    pub(crate) fn release_writes(&self) {
        self.sequencer.writes.release(self.ticket);
    }

    /// Waits until every earlier ticket's handler of the socket has ended.
    pub(crate) async fn wait_for_emit_turn(&self) {
        self.sequencer.emits.wait_for_turn(self.ticket).await;
    }

    /// Sends with `emit_now` if every earlier handler has ended; otherwise queues the emit that
    /// `encode_for_later` builds, to be sent when they have.
    pub(crate) fn emit_now_or_later<E>(
        &self,
        emit_now: impl FnOnce() -> Result<(), E>,
        encode_for_later: impl FnOnce() -> Result<DeferredEmit, E>,
    ) -> Result<(), E> {
        let mut outcome = Ok(());
        // Decided and done under the turnstile's lock, so a turn that comes meanwhile cannot
        // send this ticket's queued emits after this one.
        self.sequencer.emits.state.send_if_modified(|state| {
            if state.first_unreleased >= self.ticket {
                outcome = emit_now();
                return false;
            }
            match encode_for_later() {
                Ok(deferred) => state
                    .deferred
                    .get_mut()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(self.ticket)
                    .or_default()
                    .push(deferred),
                Err(error) => outcome = Err(error),
            }
            false
        });
        outcome
    }
}

/// Waits for the write turn of the current task's ticket, if it has one, runs `write`, then
/// releases the turn (if `write` has not already: the group-commit writer releases it once the
/// statement is queued, before the commit).
pub(crate) async fn write_in_order<T>(write: impl Future<Output = T>) -> T {
    let Some(ticket) = OrderTicket::current() else {
        return write.await;
    };
    ticket.wait_for_write_turn().await;
    let outcome = write.await;
    ticket.release_writes();
    outcome
}

/// Called by the group-commit writer once a write is queued: the current task's ticket, if any,
/// lets the socket's later writes through while this one waits for its commit.
pub(crate) fn write_submitted() {
    if let Some(ticket) = OrderTicket::current() {
        ticket.release_writes();
    }
}

/// Waits for the current task's write turn and keeps it until the returned turn is dropped (a
/// transaction's writes all come before the socket's later handlers' writes).
pub(crate) async fn hold_write_turn() -> Option<HeldWriteTurn> {
    let ticket = OrderTicket::current()?;
    ticket.wait_for_write_turn().await;
    Some(HeldWriteTurn { ticket })
}

impl Drop for HeldWriteTurn {
    fn drop(&mut self) {
        self.ticket.release_writes();
    }
}

/// Waits until the current task's ticket, if any, may emit.
pub(crate) async fn wait_for_emit_turn() {
    if let Some(ticket) = OrderTicket::current() {
        ticket.wait_for_emit_turn().await;
    }
}

impl Turnstile {
    fn new() -> Turnstile {
        Turnstile {
            state: watch::Sender::new(TurnstileState {
                first_unreleased: 0,
                released_ahead: BTreeSet::new(),
                deferred: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    async fn wait_for_turn(&self, ticket: u64) {
        let mut receiver = self.state.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = receiver
            .wait_for(|state| state.first_unreleased >= ticket)
            .await;
    }

    fn release(&self, ticket: u64) {
        self.state.send_if_modified(|state| {
            if ticket < state.first_unreleased || !state.released_ahead.insert(ticket) {
                return false;
            }
            let previous = state.first_unreleased;
            while state.released_ahead.remove(&state.first_unreleased) {
                state.first_unreleased += 1;
            }
            if state.first_unreleased == previous {
                return false;
            }
            // Every ticket up to the new first unreleased one now has its turn: send what they
            // queued, in ticket order, before anyone sees the new turn.
            let deferred = state
                .deferred
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner);
            while let Some(entry) = deferred.first_entry() {
                if *entry.key() > state.first_unreleased {
                    break;
                }
                for emit in entry.remove() {
                    emit();
                }
            }
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_turn_comes_once_every_earlier_ticket_has_released() {
        let sequencer = SocketSequencer::new();
        let first = sequencer.next_ticket();
        let second = sequencer.next_ticket();
        let third = sequencer.next_ticket();
        // The third released before the second: the turn goes by arrival, not by release.
        third.ticket.release_writes();
        let waiting = tokio::spawn({
            let ticket = third.ticket.clone();
            async move { ticket.wait_for_write_turn().await }
        });
        first.ticket.release_writes();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "the second has not released");
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the turn comes")
            .unwrap();
        drop(first);
        drop(third);
    }

    #[tokio::test]
    async fn emits_made_before_their_turn_are_sent_in_ticket_order() {
        let sequencer = SocketSequencer::new();
        let first = sequencer.next_ticket();
        let second = sequencer.next_ticket();
        let third = sequencer.next_ticket();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let emit = |ticket: &TicketGuard, label: &'static str| {
            let now = sent.clone();
            let later = sent.clone();
            ticket
                .ticket
                .emit_now_or_later::<()>(
                    move || {
                        now.lock().unwrap().push(label);
                        Ok(())
                    },
                    move || Ok(Box::new(move || later.lock().unwrap().push(label))),
                )
                .unwrap();
        };
        emit(&third, "third");
        emit(&second, "second a");
        emit(&first, "first");
        emit(&second, "second b");
        assert_eq!(*sent.lock().unwrap(), ["first"]);
        drop(third);
        assert_eq!(
            *sent.lock().unwrap(),
            ["first"],
            "the third waits for the second"
        );
        drop(first);
        assert_eq!(*sent.lock().unwrap(), ["first", "second a", "second b"]);
        drop(second);
        assert_eq!(
            *sent.lock().unwrap(),
            ["first", "second a", "second b", "third"]
        );
    }

    #[tokio::test]
    async fn a_handler_dropped_before_it_ran_releases_both_turnstiles() {
        let sequencer = SocketSequencer::new();
        let never_run = sequencer.next_ticket().scope(std::future::pending::<()>());
        let next = sequencer.next_ticket();
        drop(never_run);
        tokio::time::timeout(Duration::from_secs(5), async {
            next.ticket.wait_for_write_turn().await;
            next.ticket.wait_for_emit_turn().await;
        })
        .await
        .expect("the next ticket's turns come");
    }

    #[tokio::test]
    async fn outside_a_ticketed_task_nothing_waits() {
        assert!(OrderTicket::current().is_none());
        wait_for_emit_turn().await;
        assert!(hold_write_turn().await.is_none());
        assert_eq!(write_in_order(async { 7 }).await, 7);
    }
}
