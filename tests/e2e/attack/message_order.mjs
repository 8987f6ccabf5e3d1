// Row "one socket sends 51 `chatMessage`s in a row": one socket's handlers run one after another,
// so every client (the sender included) receives the messages in the order they were sent, and
// the history a new client gets lists them in that order too.
// Usage: node attack/message_order.mjs <server url>

import assert from "node:assert/strict";
import { collectEvents, connect, run } from "../lib.mjs";

const [url] = process.argv.slice(2);
const websocket = { transports: ["websocket"] };
const MESSAGES = 51;
const HISTORY_LENGTH = 50;

/** Resolves once `received` holds `count` payloads, or rejects after `waitMs`. */
async function waitForCount(received, count, waitMs, who) {
  const deadline = performance.now() + waitMs;
  while (received.length < count) {
    if (performance.now() > deadline) throw new Error(`${who} got ${received.length} of ${count} messages within ${waitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

run("51 messages in a row keep their order", async () => {
  const sender = await connect(url, websocket, ["chatHistory"]);
  const witness = await connect(url, websocket, ["chatHistory"]);
  await Promise.all([sender.caught.chatHistory, witness.caught.chatHistory]);
  const seenBySender = collectEvents(sender, "chatMessage");
  const seenByWitness = collectEvents(witness, "chatMessage");

  const texts = Array.from({ length: MESSAGES }, (_, index) => `in a row ${index}`);
  for (const text of texts) sender.emit("chatMessage", text);

  await waitForCount(seenBySender, MESSAGES, 10_000, "the sender");
  await waitForCount(seenByWitness, MESSAGES, 10_000, "the witness");
  assert.deepEqual(seenBySender.map((message) => message.text), texts, "the sender sees its messages in send order");
  assert.deepEqual(seenByWitness.map((message) => message.text), texts, "another client sees them in send order");

  const later = await connect(url, websocket, ["chatHistory"]);
  const history = await later.caught.chatHistory;
  assert.deepEqual(
    history.map((message) => message.text),
    texts.slice(MESSAGES - HISTORY_LENGTH),
    "the stored history is in send order",
  );
  for (const client of [sender, witness, later]) client.close();
});
