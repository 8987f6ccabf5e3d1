// Row "1 MB and 10 MB `chatMessage` over WebSocket": each is refused by closing the sender's
// connection (a WebSocket message or frame beyond the Socket.IO max_payload, 100 kB), nothing is
// stored or broadcast, and the server goes on serving everyone else.
// Usage: node attack/oversized_messages.mjs <server url>

import assert from "node:assert/strict";
import { collectEvents, connect, nextEvent, run, settle } from "../lib.mjs";
import { disconnection } from "./lib.mjs";

const [url] = process.argv.slice(2);
const websocket = { transports: ["websocket"] };

run("oversized chatMessage over WebSocket", async () => {
  const witness = await connect(url, websocket, ["chatHistory"]);
  const historyBefore = await witness.caught.chatHistory;
  const seenByWitness = collectEvents(witness, "chatMessage");

  for (const megabytes of [1, 10]) {
    const attacker = await connect(url, websocket, ["chatHistory"]);
    await attacker.caught.chatHistory;
    const seenByAttacker = collectEvents(attacker, "chatMessage");
    const closed = disconnection(attacker, 10_000);
    attacker.emit("chatMessage", "x".repeat(megabytes * 1_000_000));
    const reason = await closed;
    assert.match(reason, /^transport (close|error)$/, `the ${megabytes} MB message closed the connection`);
    assert.deepEqual(seenByAttacker, [], `the ${megabytes} MB message was not broadcast back`);
  }

  await settle();
  assert.deepEqual(seenByWitness, [], "nothing was broadcast");
  const later = await connect(url, websocket, ["chatHistory"]);
  assert.deepEqual(await later.caught.chatHistory, historyBefore, "nothing was stored");

  // Still serving: an ordinary message goes round.
  const arrived = nextEvent(witness, "chatMessage");
  later.emit("chatMessage", "still serving");
  assert.equal((await arrived).text, "still serving");
  witness.close();
  later.close();
});
