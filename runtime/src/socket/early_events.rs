//! Events a client sends right after it connects, before the namespace function has registered
//! their handlers ([`EarlyEvents`]): they are held, under the socket's limits, and handed to the
//! handlers once the function's synchronous start has run.
//!
//! socketioxide runs the connect middleware, sends the client the Socket.IO CONNECT packet, and
//! only then spawns the connect handler, which calls the namespace function that registers the
//! `on_<event>` handlers. A client that emits as soon as it sees CONNECT can have its event read
//! before that task has run, and socketioxide drops an event that has no handler: a chat
//! message sent from the client's `connect` callback was lost now and then, more often on a
//! busy multi-threaded runtime.
//!
//! The middleware therefore installs, before CONNECT is sent, a fallback handler that holds
//! every event without a handler. Each held event passes the socket's limits on arrival, as any
//! event does in [`on_in_order`](super::on_in_order): it takes a token of the event rate and a
//! place among the events in flight (or is refused with `rate_limited`), and its ticket, so its
//! effects keep their place in the socket's order even though its handler starts later. The
//! connect handler opens the socket once the namespace function's first poll returns, that is
//! when the function first waits for something or has finished: every handler it registered
//! before its first await is in place by then. The held events go, in arrival order, to the
//! handlers registered with [`on_in_order`](super::on_in_order) (whose payload check runs then);
//! one whose event has no such handler is dropped, as socketioxide drops any event without a
//! handler, and the fallback does nothing more from then on.
//!
//! Why not wait for the namespace function to return: it may keep running for the whole
//! connection (a loop that emits), and its events would wait forever. Why not register every
//! generated handler before CONNECT and install the team's closures later: the runtime would
//! still have to hold the events until the closures are there, and the namespace function is
//! free to register only some events, or raw socketioxide handlers. Holding what has no handler
//! yet covers all of that in one place, bounded by the limits every event meets anyway.
//!
//! Not covered: handlers registered after the function's first await see only the events that
//! arrive after they are registered (as before), and held events are only handed to handlers
//! registered with [`on_in_order`](super::on_in_order) (the generated `on_<event>` methods), not
//! to raw `socket.on(..)` handlers, which are outside the socket's order and limits anyway. A
//! fallback the team registers itself (`socket.raw().on_fallback(..)`) replaces this one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::extract::{Event, SocketRef};
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;
use tokio::sync::OwnedSemaphorePermit;

use super::limits::EventGate;
use crate::effect_order::TicketGuard;

/// A handler an event that passed the socket's limits can be handed to: what
/// [`on_in_order`](super::on_in_order) registers.
pub(crate) trait AdmittedEventHandler<A: Adapter>: Send + Sync + 'static {
    /// Checks the payload and runs the handler with the event's place in flight and ticket.
    fn handle_admitted(
        &self,
        socket: Arc<Socket<A>>,
        value: Value,
        ack_id: Option<i64>,
        admission: Admission,
    );
}

/// What an event holds once it has passed the socket's limits: its place among the events in
/// flight (until its handler ends) and its ticket (its place in the socket's order).
pub(crate) struct Admission {
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) ticket: TicketGuard,
}

/// One socket's held events and the in-order handlers they may go to, in its extensions from
/// the connect middleware on.
pub(crate) struct EarlyEvents<A: Adapter = LocalAdapter>(Arc<Mutex<EarlyState<A>>>);

impl<A: Adapter> Clone for EarlyEvents<A> {
    fn clone(&self) -> Self {
        EarlyEvents(self.0.clone())
    }
}

struct EarlyState<A: Adapter> {
    /// The handlers registered with `on_in_order`, by event name.
    handlers: HashMap<Cow<'static, str>, Arc<dyn AdmittedEventHandler<A>>>,
    /// The events held until the socket opens, in arrival order; `None` once it has.
    held: Option<Vec<HeldEvent<A>>>,
}

struct HeldEvent<A: Adapter> {
    /// The socket it came from, as its handler wants it. It keeps the socket alive only until
    /// the socket opens, which the connect handler makes sure of, however it ends.
    socket: Arc<Socket<A>>,
    event: String,
    value: Value,
    ack_id: Option<i64>,
    admission: Admission,
}

impl<A: Adapter> EarlyEvents<A> {
    /// Holds the socket's events that have no handler until [`open`] (call it from the connect
    /// middleware, before socketioxide sends CONNECT).
    pub(crate) fn install(socket: &SocketRef<A>) {
        socket
            .extensions
            .insert(EarlyEvents::<A>(Arc::new(Mutex::new(EarlyState {
                handlers: HashMap::new(),
                held: Some(Vec::new()),
            }))));
        socket.on_fallback(HoldUntilOpen);
    }

    /// Remembers `handler` for `event`, so an event held for it reaches it.
    pub(crate) fn record_handler(
        socket: &Socket<A>,
        event: Cow<'static, str>,
        handler: Arc<dyn AdmittedEventHandler<A>>,
    ) {
        if let Some(early_events) = socket.extensions.get::<EarlyEvents<A>>() {
            early_events.lock().handlers.insert(event, handler);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EarlyState<A>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Opens `socket`: its held events go to their handlers in arrival order, and events without
/// a handler are dropped from now on. Harmless on a socket without held events.
pub(crate) fn open<A: Adapter>(socket: &SocketRef<A>) {
    let Some(early_events) = socket.extensions.get::<EarlyEvents<A>>() else {
        return;
    };
    let (held, handlers) = {
        let mut state = early_events.lock();
        let held = state.held.take().unwrap_or_default();
        let handlers: Vec<_> = held
            .iter()
            .map(|held| state.handlers.get(held.event.as_str()).cloned())
            .collect();
        (held, handlers)
    };
    // Outside the lock: a handler may register more handlers.
    for (held, handler) in held.into_iter().zip(handlers) {
        match handler {
            Some(handler) => {
                handler.handle_admitted(held.socket, held.value, held.ack_id, held.admission)
            }
            None => tracing::debug!(
                socket = %socket.id,
                namespace = socket.ns(),
                event = %held.event,
                "ignored an event the namespace function registered no handler for"
            ),
        }
    }
}

/// Runs a namespace's connect function and opens the socket once its first poll has returned
/// (or it panicked): the handlers it registers before its first await are in place by then.
pub(crate) async fn open_after_start<A: Adapter>(
    socket: SocketRef<A>,
    connect: impl Future<Output = ()>,
) {
    /// Opens the socket when dropped, so a panicking function does not hold its events forever.
    struct OpenOnDrop<A: Adapter>(SocketRef<A>);

    impl<A: Adapter> Drop for OpenOnDrop<A> {
        fn drop(&mut self) {
            open(&self.0);
        }
    }

    let mut connect = std::pin::pin!(connect);
    let mut opener = Some(OpenOnDrop(socket));
    std::future::poll_fn(move |context| {
        let poll = connect.as_mut().poll(context);
        drop(opener.take());
        poll
    })
    .await;
}

/// The fallback handler [`EarlyEvents::install`] registers.
struct HoldUntilOpen;

/// Marks [`HoldUntilOpen`]'s implementation of [`MessageHandler`].
struct HoldUntilOpenHandler;

impl<A: Adapter> MessageHandler<A, HoldUntilOpenHandler> for HoldUntilOpen {
    fn call(&self, socket: Arc<Socket<A>>, mut value: Value, ack_id: Option<i64>) {
        let Some(early_events) = socket.extensions.get::<EarlyEvents<A>>() else {
            return;
        };
        let event = Event::from_message_parts(&socket, &mut value, &ack_id)
            .map(|Event(event)| event)
            .unwrap_or_default();
        {
            let state = early_events.lock();
            if state.held.is_none() && !state.handlers.contains_key(event.as_str()) {
                // Open, and no handler: ignored, as socketioxide ignores such events.
                return;
            }
        }
        let gate = EventGate::of(&socket);
        let Some(permit) = gate.admit_or_refuse(&socket, &mut value, &ack_id) else {
            return;
        };
        // Taken now, in the read loop, so the event keeps its arrival place in the order.
        let ticket = gate.sequencer().next_ticket();
        let held = HeldEvent {
            socket,
            event,
            value,
            ack_id,
            admission: Admission { permit, ticket },
        };
        let mut state = early_events.lock();
        if let Some(held_events) = &mut state.held {
            held_events.push(held);
            return;
        }
        // Opened meanwhile; its handler was registered after socketioxide looked for one.
        let handler = state.handlers.get(held.event.as_str()).cloned();
        drop(state);
        if let Some(handler) = handler {
            handler.handle_admitted(held.socket, held.value, held.ack_id, held.admission);
        }
    }
}
