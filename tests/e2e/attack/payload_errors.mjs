// Row "a wrong payload type": the sender gets an `error` event `invalid_payload` whose message is
// in the spec's words (`expected String, found Int 42`), never Rust types or serde internals,
// over WebSocket and long-polling alike; the chat's 2000-character limit on a message is checked
// the same way; nothing is stored or broadcast.
// Usage: node attack/payload_errors.mjs <server url> <websocket|polling>

import assert from "node:assert/strict";
import { collectEvents, connect, nextEvent, run, settle, transportsFor } from "../lib.mjs";

const [url, transport] = process.argv.slice(2);
const transports = transportsFor(transport);

/** Words that only Rust or serde would use in an error message. */
const INTERNALS = /\bi64\b|\bu64\b|\bf64\b|invalid type|at line \d+|column \d+|element not found|serde|struct|\bmap\b|\bsequence\b/i;

run(`payload errors in the spec's words over ${transport}`, async () => {
  const sender = await connect(url, { transports }, ["chatHistory"]);
  const historyBefore = await sender.caught.chatHistory;
  const witness = await connect(url, { transports }, ["chatHistory"]);
  await witness.caught.chatHistory;
  const broadcast = [...[sender, witness].map((client) => collectEvents(client, "chatMessage"))];

  const refusals = [
    [42, "expected String, found Int 42"],
    [2.5, "expected String, found Float 2.5"],
    [true, "expected String, found Bool true"],
    [["a", "list"], "expected String, found a list (2 items)"],
    [{ text: "not a plain string" }, "expected String, found a record"],
    [null, "expected String, found null"],
    ["x".repeat(2001), "expected at most 2000 characters, found 2001"],
  ];
  for (const [payload, message] of refusals) {
    const error = nextEvent(sender, "error");
    sender.emit("chatMessage", payload);
    const { error: details } = await error;
    assert.equal(details.code, "invalid_payload");
    assert.equal(details.event, "chatMessage");
    assert.equal(details.message, message, `the answer to ${JSON.stringify(payload).slice(0, 40)}`);
    assert.doesNotMatch(JSON.stringify(details), INTERNALS, "no Rust types or serde internals");
  }

  await settle();
  assert.deepEqual(broadcast.flat(), [], "nothing was broadcast");
  const later = await connect(url, { transports }, ["chatHistory"]);
  assert.deepEqual(await later.caught.chatHistory, historyBefore, "nothing was stored");
  for (const client of [sender, witness, later]) client.close();
});
