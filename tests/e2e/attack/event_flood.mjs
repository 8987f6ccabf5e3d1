// Row "one anonymous socket sends 20,000 events in 0.3 s". First 42 events at once, two more than
// the socket's burst of 40: the excess is answered with `error` events `rate_limited` and never
// reaches the handler, and the socket stays (fewer than 10 refusals). Then the flood: the server
// disconnects the socket that keeps sending; only a small part is stored and broadcast (the test
// also counts the stored rows), and everyone else is still served.
// Usage: node attack/event_flood.mjs <server url>

import assert from "node:assert/strict";
import { connect, nextEvent, run, settle } from "../lib.mjs";
import { collectErrors, disconnection, elapsedMs, figure } from "./lib.mjs";

const [url] = process.argv.slice(2);
const websocket = { transports: ["websocket"] };
const EVENTS = 20_000;
/** Beyond the burst of 40, and at most 9 beyond the queue of 32: refused, but not disconnected. */
const BURST = 42;

run("a flood of 20,000 events from one socket", async () => {
  const witness = await connect(url, websocket, ["chatHistory"]);
  await witness.caught.chatHistory;
  let floodSeenByWitness = 0;
  witness.on("chatMessage", (message) => {
    if (message.text.startsWith("flood ")) floodSeenByWitness += 1;
  });

  const attacker = await connect(url, websocket, ["chatHistory"]);
  await attacker.caught.chatHistory;
  const errors = collectErrors(attacker);
  let disconnectReason = null;
  attacker.once("disconnect", (reason) => {
    disconnectReason = reason;
  });

  for (let index = 0; index < BURST; index += 1) attacker.emit("chatMessage", `burst ${index}`);
  await settle(1000);
  assert.equal(disconnectReason, null, "a burst a little over the limit does not cost the connection");
  assert.ok(errors.length >= 2, `the events beyond the burst were refused: ${JSON.stringify(errors)}`);
  for (const error of errors) {
    assert.equal(error.code, "rate_limited", JSON.stringify(error));
    assert.equal(error.event, "chatMessage");
  }
  figure(`rate_limited answers to ${BURST} events at once`, errors.length);

  const disconnected = disconnection(attacker, 20_000);
  const started = performance.now();
  for (let index = 0; index < EVENTS; index += 1) attacker.emit("chatMessage", `flood ${index}`);
  figure("20,000 events emitted in", `${elapsedMs(started)} ms`);
  // The server ends the socket (attack.rs checks its log line). The client may not read the
  // answers sent before that: the server closes a connection that still has unread flood in it,
  // which resets it.
  const reason = await disconnected;
  assert.match(reason, /^(io server disconnect|transport close|transport error)$/, `disconnected: ${reason}`);
  figure("the flooding socket's disconnect reason", reason);
  await settle(1000);
  figure("flood messages broadcast", floodSeenByWitness);
  assert.ok(floodSeenByWitness < 200, `${floodSeenByWitness} of the flood's messages were broadcast`);

  // Everyone else is still served.
  const later = await connect(url, websocket, ["chatHistory"]);
  await later.caught.chatHistory;
  const arrived = nextEvent(witness, "chatMessage");
  later.emit("chatMessage", "after the flood");
  assert.equal((await arrived).text, "after the flood");
  witness.close();
  later.close();
});
