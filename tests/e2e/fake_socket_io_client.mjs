// A stand-in for `socket.io-client` that the live-query client test (live_client.mjs) bundles in
// place of the real one: no network, every message the client emits is recorded with its ack
// callback, and the test plays the server by hand (connects, answers acks, pushes events, drops
// the connection) in any order it likes.

/** Every socket the client opened, in order; the test reads them through the bundle. */
export const sockets = [];

/** One namespace's socket: the parts of Socket.IO's `Socket` that the generated client uses. */
export class FakeSocket {
  constructor(namespace, options) {
    this.namespace = namespace;
    this.options = options;
    /** The event handlers the client registered, by event. */
    this.handlers = new Map();
    /** What the client emitted and not yet taken by the test: `{ event, payload, ack }`. */
    this.emitted = [];
    this.connected = false;
    /** Trying to be connected (Socket.IO's `active`): true from `connect()` to `disconnect()`. */
    this.active = false;
  }

  on(event, handler) {
    const handlers = this.handlers.get(event) ?? [];
    handlers.push(handler);
    this.handlers.set(event, handlers);
    return this;
  }

  emit(event, payload, ack) {
    this.emitted.push({ event, payload, ack });
    return this;
  }

  connect() {
    this.active = true;
    return this;
  }

  disconnect() {
    this.active = false;
    if (this.connected) {
      this.connected = false;
      this.receive('disconnect', 'io client disconnect');
    }
    return this;
  }

  /** The server side: calls the client's handlers of `event` with `payload`. */
  receive(event, payload) {
    for (const handler of this.handlers.get(event) ?? []) {
      handler(payload);
    }
  }

  /** The server accepts the (re)connection. */
  acceptConnection() {
    this.connected = true;
    this.receive('connect');
  }

  /** The connection drops; Socket.IO keeps trying to reconnect (`active` stays true). */
  dropConnection() {
    this.connected = false;
    this.receive('disconnect', 'transport close');
  }

  /** Takes the messages emitted since the last call. */
  takeEmitted() {
    return this.emitted.splice(0, this.emitted.length);
  }
}

/** The Socket.IO manager: only `socket(namespace, options)`. */
export class Manager {
  constructor(uri, options) {
    this.uri = uri;
    this.options = options;
  }

  socket(namespace, options) {
    const socket = new FakeSocket(namespace, options);
    sockets.push(socket);
    return socket;
  }
}
