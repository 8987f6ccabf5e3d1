//! Event handlers whose effects keep the order their events arrived in on the socket
//! ([`on_in_order`]), under the socket's limits (see [`limits`](super::limits)), and the
//! acknowledgement sender that keeps that order too ([`AckSender`]).
//!
//! socketioxide runs every event's async handler as its own task, so two events of one socket
//! race: a chat's inserts and broadcasts could leave in another order than they were typed. The
//! synchronous part of a socketioxide handler, though, runs in the socket's read loop, one
//! packet after another. [`on_in_order`] uses that part to check the rate and the handlers in
//! flight, decode the payload and take the event's ticket (its arrival number); the handler
//! then runs as its own task with that ticket, and its writes and emits wait for their turn
//! (see [`effect_order`](crate::effect_order) for the exact guarantee). Running the handlers
//! one at a time would give the same order but cost the group commit its batches (a sender's
//! next insert would wait for its previous broadcast). Different sockets run in parallel.
//!
//! An event that arrives before its handler is registered (right after connect) passes the
//! same checks and takes its ticket on arrival; `early_events.rs` holds it and hands it to the
//! handler once the namespace function has registered it.

use std::borrow::Cow;
use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;

use serde::Serialize;

use super::adapter::AppAdapter;
use super::early_events::{Admission, AdmittedEventHandler, EarlyEvents};
use super::emit_error::EmitError;
use super::limits::EventGate;
use super::payload::decode_event;
use super::shape::SpecType;
use crate::effect_order::{DeferredEmit, OrderTicket};

/// Registers `handler` for `event` on `socket`: the payload is decoded as `T` (an invalid one
/// is answered and skipped, like the [`Payload`](super::payload::Payload) extractor does), and
/// the handler runs as soon as it arrives, while its entity writes, its emits through the
/// runtime and its ack wait for the socket's earlier events registered the same way (see
/// [`effect_order`](crate::effect_order)). The ack sender is unused when the client asked for
/// no ack.
///
/// Events beyond the socket's rate or in-flight limit are answered with `rate_limited` and
/// never reach the handler; a socket that keeps sending them is disconnected.
///
/// ```
/// use appc_runtime::codegen::{on_in_order, AckSender};
/// use appc_runtime::SocketRef;
///
/// fn register(socket: &SocketRef) {
///     on_in_order(socket, "chatMessage", async |socket: SocketRef, text: String, ack: AckSender| {
///         // Acknowledged after the socket's earlier messages were.
///         ack.send(&"stored").ok();
///     });
/// }
/// ```
pub fn on_in_order<A, T, Handler, Done>(
    socket: &SocketRef<A>,
    event: impl Into<Cow<'static, str>>,
    handler: Handler,
) where
    A: Adapter,
    T: DeserializeOwned + SpecType + Send + Sync + 'static,
    Handler: Fn(SocketRef<A>, T, AckSender<A>) -> Done + Send + Sync + 'static,
    Done: Future<Output = ()> + Send + 'static,
{
    register_in_order(socket, event, None, handler);
}

/// [`on_in_order`] for an event whose payload declares `maxLength` (`chatMessage: { type:
/// String, maxLength: 2000 }`): a longer `String` (in characters) or list (in items) is refused
/// before the handler, like any other invalid payload.
pub fn on_in_order_with_max_length<A, T, Handler, Done>(
    socket: &SocketRef<A>,
    event: impl Into<Cow<'static, str>>,
    max_length: usize,
    handler: Handler,
) where
    A: Adapter,
    T: DeserializeOwned + SpecType + Send + Sync + 'static,
    Handler: Fn(SocketRef<A>, T, AckSender<A>) -> Done + Send + Sync + 'static,
    Done: Future<Output = ()> + Send + 'static,
{
    register_in_order(socket, event, Some(max_length), handler);
}

/// What both entry points do: register the ordered handler with the payload's `maxLength`.
fn register_in_order<A, T, Handler, Done>(
    socket: &SocketRef<A>,
    event: impl Into<Cow<'static, str>>,
    max_length: Option<usize>,
    handler: Handler,
) where
    A: Adapter,
    T: DeserializeOwned + SpecType + Send + Sync + 'static,
    Handler: Fn(SocketRef<A>, T, AckSender<A>) -> Done + Send + Sync + 'static,
    Done: Future<Output = ()> + Send + 'static,
{
    let event = event.into();
    let in_order = InOrder {
        handler: Arc::new(handler),
        max_length,
        payload: PhantomData,
    };
    // Also kept for the events that arrived before it was registered (see `early_events.rs`).
    EarlyEvents::record_handler(socket, event.clone(), Arc::new(in_order.clone()));
    socket.on(event, in_order);
}

/// The message handler [`on_in_order`] registers.
struct InOrder<Handler, T> {
    handler: Arc<Handler>,
    /// The payload's `maxLength`, when it declares one.
    max_length: Option<usize>,
    payload: PhantomData<fn() -> T>,
}

impl<Handler, T> Clone for InOrder<Handler, T> {
    fn clone(&self) -> Self {
        InOrder {
            handler: self.handler.clone(),
            max_length: self.max_length,
            payload: PhantomData,
        }
    }
}

/// Marks [`InOrder`]'s implementation of [`MessageHandler`].
struct InOrderHandler;

impl<A, T, Handler, Done> MessageHandler<A, InOrderHandler> for InOrder<Handler, T>
where
    A: Adapter,
    T: DeserializeOwned + SpecType + Send + Sync + 'static,
    Handler: Fn(SocketRef<A>, T, AckSender<A>) -> Done + Send + Sync + 'static,
    Done: Future<Output = ()> + Send + 'static,
{
    fn call(&self, socket: Arc<Socket<A>>, mut value: Value, ack_id: Option<i64>) {
        let gate = EventGate::of(&socket);
        let Some(permit) = gate.admit_or_refuse(&socket, &mut value, &ack_id) else {
            return;
        };
        // An invalid payload has been answered; the permit goes back unused.
        let Ok(payload) = decode_event::<A, T>(&socket, &mut value, &ack_id, self.max_length)
        else {
            return;
        };
        let ticket = gate.sequencer().next_ticket();
        self.run(socket, payload, value, ack_id, Admission { permit, ticket });
    }
}

impl<A, T, Handler, Done> AdmittedEventHandler<A> for InOrder<Handler, T>
where
    A: Adapter,
    T: DeserializeOwned + SpecType + Send + Sync + 'static,
    Handler: Fn(SocketRef<A>, T, AckSender<A>) -> Done + Send + Sync + 'static,
    Done: Future<Output = ()> + Send + 'static,
{
    fn handle_admitted(
        &self,
        socket: Arc<Socket<A>>,
        mut value: Value,
        ack_id: Option<i64>,
        admission: Admission,
    ) {
        // An invalid payload has been answered; the permit and the ticket are released.
        let Ok(payload) = decode_event::<A, T>(&socket, &mut value, &ack_id, self.max_length)
        else {
            return;
        };
        self.run(socket, payload, value, ack_id, admission);
    }
}

impl<Handler, T> InOrder<Handler, T> {
    /// Runs the handler as its own task with the event's ticket; its place in flight is freed
    /// when it ends.
    fn run<A, Done>(
        &self,
        socket: Arc<Socket<A>>,
        payload: T,
        mut value: Value,
        ack_id: Option<i64>,
        Admission { permit, ticket }: Admission,
    ) where
        A: Adapter,
        Handler: Fn(SocketRef<A>, T, AckSender<A>) -> Done,
        Done: Future<Output = ()> + Send + 'static,
    {
        let ack = match AckSender::from_message_parts(&socket, &mut value, &ack_id) {
            Ok(ack) => ack,
            Err(never) => match never {},
        };
        let handled = (self.handler)(SocketRef::from(socket), payload, ack);
        tokio::spawn(ticket.scope(async move {
            handled.await;
            drop(permit);
        }));
    }
}

/// Sends a handler's acknowledgement in the socket's order: after the acknowledgements and
/// emits of every earlier event of the socket (see [`effect_order`](crate::effect_order)). An
/// acknowledgement sent before its turn is encoded at once and sent when the turn comes.
pub struct AckSender<A: Adapter = AppAdapter> {
    inner: socketioxide::extract::AckSender<A>,
}

impl<A: Adapter> AckSender<A> {
    /// Sends `data` as the acknowledgement (nothing if the client asked for none). An error
    /// says the payload could not be encoded or the socket could not take it.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let AckSender { inner } = self;
        let Some(ticket) = OrderTicket::current() else {
            return send_ack(inner, data);
        };
        // Exactly one of the two closures runs and takes the sender.
        let inner = Cell::new(Some(inner));
        ticket.emit_now_or_later(
            || send_ack(inner.take().expect("sent once"), data),
            || {
                let inner = inner.take().expect("sent once");
                let value = encode_for_later("ack", data)?;
                let deferred: DeferredEmit = Box::new(move || {
                    if let Err(error) = send_ack(inner, &value) {
                        tracing::debug!(%error, "a deferred acknowledgement was not sent");
                    }
                });
                Ok(deferred)
            },
        )
    }
}

/// Usable as a socketioxide extractor too, for handlers registered with `socket.on`.
impl<A: Adapter> FromMessageParts<A> for AckSender<A> {
    type Error = std::convert::Infallible;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        value: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Self::Error> {
        let inner = socketioxide::extract::AckSender::from_message_parts(socket, value, ack_id)?;
        Ok(AckSender { inner })
    }
}

fn send_ack<A: Adapter, T: Serialize + ?Sized>(
    inner: socketioxide::extract::AckSender<A>,
    data: &T,
) -> Result<(), EmitError> {
    inner.send(data).map_err(|source| EmitError::Send {
        event: "ack".to_owned(),
        source,
    })
}

/// Encodes a payload whose send has to wait for its turn. The payloads of a spec's events are
/// JSON-shaped, so a JSON value carries them unchanged in either encoding.
pub(crate) fn encode_for_later<T: Serialize + ?Sized>(
    event: &str,
    data: &T,
) -> Result<serde_json::Value, EmitError> {
    serde_json::to_value(data).map_err(|error| EmitError::Encode {
        event: event.to_owned(),
        source: socketioxide::ParserError::new(error),
    })
}
