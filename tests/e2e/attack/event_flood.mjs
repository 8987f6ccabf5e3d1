// Row "one anonymous socket sends 20,000 events in 0.3 s": beyond the socket's rate the events
// are answered with `error` events `rate_limited` and never reach the handler; a socket that
// keeps sending is disconnected by the server; only a small part is stored and broadcast (the
// test also counts the stored rows), and everyone else is still served.
// Usage: node attack/event_flood.mjs <server url>

import assert from "node:assert/strict";
import { connect, nextEvent, run, settle } from "../lib.mjs";
import { collectErrors, disconnection, elapsedMs, figure } from "./lib.mjs";

const [url] = process.argv.slice(2);
const websocket = { transports: ["websocket"] };
const EVENTS = 20_000;

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
  const disconnected = disconnection(attacker, 20_000);
  const started = performance.now();
  for (let index = 0; index < EVENTS; index += 1) attacker.emit("chatMessage", `flood ${index}`);
  figure("20,000 events emitted in", `${elapsedMs(started)} ms`);

  // The server ends the socket (attack.rs checks its log line); whether the client reads the
  // Socket.IO disconnect packet or only sees the connection close depends on how much of its
  // own flood was still unread when the server closed it.
  const reason = await disconnected;
  assert.match(reason, /^(io server disconnect|transport close|transport error)$/, `disconnected: ${reason}`);
  figure("the flooding socket's disconnect reason", reason);
  assert.ok(errors.length > 0, "the flooding socket was told it was rate limited");
  for (const error of errors) {
    assert.equal(error.code, "rate_limited", JSON.stringify(error));
    assert.equal(error.event, "chatMessage");
  }
  await settle(1000);
  figure("rate_limited answers before the disconnect", errors.length);
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
