//! The per-socket limits ([`SocketLimits`]) and what enforces them on each socket
//! ([`EventGate`]): a token bucket of events per second, a bound on the handlers in flight, and
//! a second bucket of refusals after which the socket is disconnected. The gate also holds the
//! socket's [`SocketSequencer`], which keeps its handlers' effects in arrival order.
//!
//! A refused event is answered like an invalid payload (an ack error if the client asked for an
//! ack, an `error` event otherwise) with the code `rate_limited`; its handler never runs. A
//! client that keeps sending after being refused is disconnected with one log line.

use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Event, State};
use socketioxide::handler::{FromConnectParts, FromMessageParts, Value};
use socketioxide::socket::Socket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::payload::answer_refused_event;
use crate::effect_order::SocketSequencer;

/// How many events one socket may send and have waiting, and how often an authenticated
/// socket's user is checked again. The defaults suit a chat; [`Config`](crate::config::Config)
/// reads them from `APPC_SOCKET_*` variables.
///
/// ```
/// use appc_runtime::SocketLimits;
/// let limits = SocketLimits::default();
/// assert_eq!(limits.events_per_second.get(), 20);
/// assert_eq!(limits.event_burst.get(), 40);
/// assert_eq!(limits.queued_events.get(), 32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketLimits {
    /// Events one socket may send per second, sustained (`APPC_SOCKET_EVENTS_PER_SECOND`,
    /// default 20).
    pub events_per_second: NonZeroU32,
    /// Events one socket may send at once before the sustained rate applies
    /// (`APPC_SOCKET_EVENT_BURST`, default 40).
    pub event_burst: NonZeroU32,
    /// Events of one socket that may be in flight behind its oldest unfinished one
    /// (`APPC_SOCKET_QUEUED_EVENTS`, default 32): their handlers run side by side while their
    /// writes and emits wait for their turn in arrival order; an event beyond the bound is
    /// refused.
    pub queued_events: NonZeroUsize,
    /// Refused events a socket may send within 10 seconds before it is disconnected
    /// (`APPC_SOCKET_REFUSALS_BEFORE_DISCONNECT`, default 10).
    pub refusals_before_disconnect: NonZeroU32,
    /// How often the user of an authenticated socket is looked up again, so that a deleted user
    /// is disconnected (`APPC_SOCKET_USER_CHECK_SECS`, default 60; 0 turns the check off). The
    /// token's expiry disconnects the socket whatever this says.
    pub user_check_interval: Option<Duration>,
}

/// The window over which [`SocketLimits::refusals_before_disconnect`] is counted.
pub(crate) const REFUSAL_WINDOW: Duration = Duration::from_secs(10);

impl Default for SocketLimits {
    fn default() -> Self {
        SocketLimits {
            events_per_second: NonZeroU32::new(20).expect("20 is not zero"),
            event_burst: NonZeroU32::new(40).expect("40 is not zero"),
            queued_events: NonZeroUsize::new(32).expect("32 is not zero"),
            refusals_before_disconnect: NonZeroU32::new(10).expect("10 is not zero"),
            user_check_interval: Some(Duration::from_secs(60)),
        }
    }
}

/// The limits of one socket, kept in its extensions from connect on.
#[derive(Clone)]
pub(crate) struct EventGate(Arc<GateState>);

struct GateState {
    limits: SocketLimits,
    events: DefaultDirectRateLimiter,
    refusals: DefaultDirectRateLimiter,
    /// One permit per handler in flight: the oldest plus `queued_events` behind it.
    in_flight: Arc<Semaphore>,
    sequencer: Arc<SocketSequencer>,
}

/// Why an event was not handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// More events per second than the limit.
    TooFast,
    /// Too many handlers of the socket are in flight.
    TooManyWaiting,
}

/// What the client is told about a refused event, inside `{ "error": ... }` like a
/// [`PayloadError`](super::PayloadError).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RefusalBody {
    code: &'static str,
    event: String,
    message: String,
}

impl EventGate {
    pub(crate) fn new(limits: SocketLimits) -> EventGate {
        let events = RateLimiter::direct(
            Quota::per_second(limits.events_per_second).allow_burst(limits.event_burst),
        );
        let refusal_period = REFUSAL_WINDOW / limits.refusals_before_disconnect.get();
        let refusals = RateLimiter::direct(
            Quota::with_period(refusal_period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(limits.refusals_before_disconnect),
        );
        let in_flight = Arc::new(Semaphore::new(limits.queued_events.get().saturating_add(1)));
        EventGate(Arc::new(GateState {
            limits,
            events,
            refusals,
            in_flight,
            sequencer: SocketSequencer::new(),
        }))
    }

    /// The socket's gate, inserted on connect by [`NamespaceConfig`](super::NamespaceConfig); a
    /// socket of a namespace registered some other way gets one with the server's limits on its
    /// first event.
    pub(crate) fn of<A: Adapter>(socket: &Arc<Socket<A>>) -> EventGate {
        if let Some(gate) = socket.extensions.get::<EventGate>() {
            return gate;
        }
        let limits = State::<SocketLimits>::from_connect_parts(socket, &None)
            .map(|State(limits)| limits)
            .unwrap_or_default();
        let gate = EventGate::new(limits);
        socket.extensions.insert(gate.clone());
        gate
    }

    /// Checks the rate and the events in flight for an event of `socket` that just arrived: its
    /// place in flight, or `None` once a refusal has been answered (and the socket disconnected
    /// if it was refused too often).
    pub(crate) fn admit_or_refuse<A: Adapter>(
        &self,
        socket: &Arc<Socket<A>>,
        value: &mut Value,
        ack_id: &Option<i64>,
    ) -> Option<OwnedSemaphorePermit> {
        let refusal = match self.admit().and_then(|()| self.reserve()) {
            Ok(permit) => return Some(permit),
            Err(refusal) => refusal,
        };
        let event = Event::from_message_parts(socket, value, ack_id)
            .map(|Event(event)| event)
            .unwrap_or_default();
        let body = serde_json::json!({ "error": self.refusal_body(refusal, &event) });
        answer_refused_event(socket, value, ack_id, &body);
        if !self.may_stay_after_refusal() {
            tracing::warn!(
                socket = %socket.id,
                client = %crate::client_address::socket_client_for_log(socket),
                namespace = socket.ns(),
                event = %event,
                "disconnected a socket that kept sending events beyond its limits"
            );
            let _ = socket.clone().disconnect();
        }
        None
    }

    /// Takes one event from the socket's bucket.
    pub(crate) fn admit(&self) -> Result<(), Refusal> {
        self.0.events.check().map_err(|_| Refusal::TooFast)
    }

    /// A place for one more handler in flight, held until the handler ends, or a refusal when
    /// the oldest and `queued_events` more are in flight.
    pub(crate) fn reserve(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        self.0
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::TooManyWaiting)
    }

    /// The socket's tickets and turnstiles.
    pub(crate) fn sequencer(&self) -> &Arc<SocketSequencer> {
        &self.0.sequencer
    }

    /// Counts a refusal; `false` when the socket has been refused too often and must go.
    pub(crate) fn may_stay_after_refusal(&self) -> bool {
        self.0.refusals.check().is_ok()
    }

    /// The body of the `rate_limited` answer.
    pub(crate) fn refusal_body(&self, refusal: Refusal, event: &str) -> RefusalBody {
        let limits = &self.0.limits;
        let message = match refusal {
            Refusal::TooFast => format!(
                "too many events: at most {} per second (bursts of {}) per socket; slow down and send this event again",
                limits.events_per_second, limits.event_burst
            ),
            Refusal::TooManyWaiting => format!(
                "too many events waiting: at most {} per socket behind the oldest one still handled; wait for earlier events to finish and send this event again",
                limits.queued_events
            ),
        };
        RefusalBody {
            code: "rate_limited",
            event: event.to_owned(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_second: u32, burst: u32, queued: usize, refusals: u32) -> SocketLimits {
        SocketLimits {
            events_per_second: NonZeroU32::new(per_second).unwrap(),
            event_burst: NonZeroU32::new(burst).unwrap(),
            queued_events: NonZeroUsize::new(queued).unwrap(),
            refusals_before_disconnect: NonZeroU32::new(refusals).unwrap(),
            user_check_interval: None,
        }
    }

    #[test]
    fn the_burst_is_admitted_and_the_next_event_refused() {
        let gate = EventGate::new(limits(1, 5, 8, 3));
        for _ in 0..5 {
            assert_eq!(gate.admit(), Ok(()));
        }
        assert_eq!(gate.admit(), Err(Refusal::TooFast));
    }

    #[test]
    fn refusals_beyond_the_allowance_mean_disconnect() {
        let gate = EventGate::new(limits(1, 1, 1, 3));
        assert!(gate.may_stay_after_refusal());
        assert!(gate.may_stay_after_refusal());
        assert!(gate.may_stay_after_refusal());
        assert!(!gate.may_stay_after_refusal());
    }

    #[test]
    fn the_oldest_and_the_queued_events_are_admitted_and_the_next_refused() {
        let gate = EventGate::new(limits(100, 100, 2, 3));
        let permits: Vec<_> = (0..3).map(|_| gate.reserve().unwrap()).collect();
        assert_eq!(gate.reserve().err(), Some(Refusal::TooManyWaiting));
        drop(permits);
        assert!(
            gate.reserve().is_ok(),
            "a handler that ends frees its place"
        );
    }
}
