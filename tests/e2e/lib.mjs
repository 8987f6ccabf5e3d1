// Helpers shared by the end-to-end scripts: connecting real Socket.IO clients, waiting for
// events with a deadline, and signing users up over HTTP. Every wait has a timeout so that a
// broken server fails the script instead of hanging it.

import { io } from "socket.io-client";

/** How long any single wait may take before the script fails. */
export const WAIT_MS = 5000;

/** The transports to use, from the `TRANSPORT` argument: `websocket` or `polling`. */
export function transportsFor(transport) {
  if (transport === "websocket") return ["websocket"];
  if (transport === "polling") return ["polling"];
  throw new Error(`unknown transport \`${transport}\`; use websocket or polling`);
}

/**
 * Connects a client and resolves once it is connected; rejects with the `connect_error`.
 * Listeners for `eventsToCatch` are in place before the connection, so events the server sends
 * on connect are not missed: `socket.caught[event]` is a promise of the first payload.
 */
export function connect(url, options, eventsToCatch = []) {
  const socket = io(url, { reconnection: false, forceNew: true, timeout: WAIT_MS, autoConnect: false, ...options });
  socket.caught = {};
  for (const event of eventsToCatch) socket.caught[event] = nextEvent(socket, event);
  // A refused connection never sends the caught events; keep their timeouts from being reported.
  for (const promise of Object.values(socket.caught)) promise.catch(() => {});
  const connected = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${url} within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
  });
  socket.connect();
  return connected;
}

/** Connects a client that must be refused; resolves with the `connect_error`. */
export async function connectRefused(url, options) {
  try {
    const socket = await connect(url, options);
    socket.close();
  } catch (error) {
    return error;
  }
  throw new Error(`the connection to ${url} was accepted but should have been refused`);
}

/**
 * Starts listening for `event` now and returns a promise of its next payload. Listening before
 * the action that causes the event avoids missing a fast answer.
 */
export function nextEvent(socket, event, waitMs = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no \`${event}\` event within ${waitMs} ms`));
    }, waitMs);
    const listener = (payload) => {
      clearTimeout(timer);
      resolve(payload);
    };
    socket.once(event, listener);
  });
}

/**
 * Like `nextEvent`, for the next payload of `event` that `matches` accepts (say, the `update` of
 * one live subscription among several).
 */
export function nextMatchingEvent(socket, event, matches, waitMs = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no matching \`${event}\` event within ${waitMs} ms`));
    }, waitMs);
    const listener = (payload) => {
      if (matches(payload)) {
        clearTimeout(timer);
        socket.off(event, listener);
        resolve(payload);
      }
    };
    socket.on(event, listener);
  });
}

/** Collects every payload of `event` from now on, for checks that nothing (else) arrived. */
export function collectEvents(socket, event) {
  const payloads = [];
  socket.on(event, (payload) => payloads.push(payload));
  return payloads;
}

/** Waits a little so that an event that should not come has had every chance to arrive. */
export function settle(milliseconds = 500) {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Signs a user up (`POST /auth/signup`) and returns `{ token, user }`. */
export async function signup(url, username, password) {
  const response = await fetch(new URL("/auth/signup", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(`signup of ${username} failed with ${response.status}: ${JSON.stringify(body)}`);
  }
  return body;
}

/** Runs a scenario, prints its outcome and sets the exit code (0 passed, 1 failed). */
export async function run(name, scenario) {
  try {
    await scenario();
    console.log(`ok: ${name}`);
    process.exit(0);
  } catch (error) {
    console.error(`FAILED: ${name}: ${error?.stack ?? error}`);
    process.exit(1);
  }
}
