//! Event handlers that run in the order their events arrived on the socket ([`on_in_order`]),
//! under the socket's limits (see [`limits`](super::limits)).
//!
//! socketioxide runs every event's async handler as its own task, so two events of one socket
//! race: a chat's inserts and broadcasts could leave in another order than they were typed. The
//! synchronous part of a socketioxide handler, though, runs in the socket's read loop, one
//! packet after another. [`on_in_order`] uses that part to check the rate, decode the payload
//! and queue the handler's future behind the socket's earlier ones; one task per socket runs
//! them one at a time. Different sockets still run in parallel.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, State};
use socketioxide::handler::{FromConnectParts, FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;

use super::limits::{EventGate, SocketLimits};
use super::payload::{answer_refused_event, decode_event};
use super::shape::SpecType;

/// Registers `handler` for `event` on `socket`: the payload is decoded as `T` (an invalid one
/// is answered and skipped, like the [`Payload`](super::payload::Payload) extractor does), and the handler runs after
/// every earlier event of this socket registered the same way has finished. The ack sender is
/// unused when the client asked for no ack.
///
/// Events beyond the socket's rate or queue limit are answered with `rate_limited` and never
/// reach the handler; a socket that keeps sending them is disconnected.
///
/// ```
/// use appc_runtime::codegen::{on_in_order, AckSender};
/// use socketioxide::extract::SocketRef;
///
/// fn register(socket: &SocketRef) {
///     on_in_order(socket, "chatMessage", async |socket: SocketRef, text: String, ack: AckSender| {
///         // Stored and broadcast before the socket's next message is handled.
///         socket.broadcast().emit("chatMessage", &text).await.ok();
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
    socket.on(
        event,
        InOrder {
            handler: Arc::new(handler),
            max_length: None,
            payload: PhantomData,
        },
    );
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
    socket.on(
        event,
        InOrder {
            handler: Arc::new(handler),
            max_length: Some(max_length),
            payload: PhantomData,
        },
    );
}

/// The socket's gate, inserted on connect by [`NamespaceConfig`](super::NamespaceConfig); a
/// socket of a namespace registered some other way gets one with the server's limits on its
/// first event.
pub(crate) fn event_gate<A: Adapter>(socket: &Arc<Socket<A>>) -> EventGate {
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

/// The message handler [`on_in_order`] registers.
struct InOrder<Handler, T> {
    handler: Arc<Handler>,
    /// The payload's `maxLength`, when it declares one.
    max_length: Option<usize>,
    payload: PhantomData<fn() -> T>,
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
        let gate = event_gate(&socket);
        let admitted = gate.admit().and_then(|()| gate.reserve());
        let permit = match admitted {
            Ok(permit) => permit,
            Err(refusal) => {
                let event = Event::from_message_parts(&socket, &mut value, &ack_id)
                    .map(|Event(event)| event)
                    .unwrap_or_default();
                let body = serde_json::json!({ "error": gate.refusal_body(refusal, &event) });
                answer_refused_event(&socket, &mut value, &ack_id, &body);
                if !gate.may_stay_after_refusal() {
                    tracing::warn!(
                        socket = %socket.id,
                        namespace = socket.ns(),
                        event = %event,
                        "disconnected a socket that kept sending events beyond its limits"
                    );
                    let _ = socket.clone().disconnect();
                }
                return;
            }
        };
        // An invalid payload has been answered; the permit goes back unused.
        let Ok(payload) = decode_event::<A, T>(&socket, &mut value, &ack_id, self.max_length)
        else {
            return;
        };
        let ack = match AckSender::from_message_parts(&socket, &mut value, &ack_id) {
            Ok(ack) => ack,
            Err(never) => match never {},
        };
        permit.send(Box::pin((self.handler)(
            SocketRef::from(socket),
            payload,
            ack,
        )));
    }
}
