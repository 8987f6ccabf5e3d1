// Drives the generated server of compiler/tests/fixtures/full_api: acknowledgements in both
// directions and a typed handshake with a logged-in user.
// Usage: node full_api.mjs <server url> acks <websocket|polling>

import assert from "node:assert/strict";
import { connect, nextEvent, run, signup, transportsFor, WAIT_MS } from "./lib.mjs";

const [url, scenario, transport] = process.argv.slice(2);
if (!url || scenario !== "acks" || !transport) {
  console.error("usage: node full_api.mjs <server url> acks <websocket|polling>");
  process.exit(2);
}
const transports = transportsFor(transport);

run(`full_api acks over ${transport}`, async () => {
  const username = `carol${transport}`;
  const { token } = await signup(url, username, "correct horse battery");
  const client = await connect(url, { transports, auth: { token, name: "Carol", tags: ["e2e"] } });

  // Server to client: the server waits for our answer to `typing` before it sends the message.
  const typingSeen = new Promise((resolve) => {
    client.on("typing", (typing, acknowledge) => {
      assert.equal(typing.user.username, username);
      assert.equal(typeof typing.at, "string");
      acknowledge(true);
      resolve(typing);
    });
  });
  const message = nextEvent(client, "chatMessage");
  client.emit("chatMessage", "hello with acks");
  await typingSeen;
  const stored = await message;
  assert.equal(stored.text, "hello with acks");
  assert.equal(stored.pinned, false, "the message as created, before the pin");

  // Client to server: the handler's return value is the acknowledgement.
  const recent = await client.timeout(WAIT_MS).emitWithAck("join", { room: "lobby", since: null });
  assert.ok(Array.isArray(recent));
  assert.ok(recent.some((entry) => entry.text === "hello with acks" && entry.pinned === true));

  // `BigInt` columns travel as decimal strings, exact beyond JavaScript's 2^53, both ways and
  // through the database.
  assert.equal(stored.views, "0", "a BigInt arrives as a string");
  assert.equal(stored.reach, null);
  const huge = "9223372036854775807";
  const beyondDoubles = "9007199254740993";
  const recounted = await client
    .timeout(WAIT_MS)
    .emitWithAck("recount", { ...stored, views: huge, reach: beyondDoubles });
  assert.equal(recounted.id, stored.id);
  assert.equal(recounted.views, huge, "i64::MAX comes back exactly");
  assert.equal(recounted.reach, beyondDoubles, "2^53 + 1 comes back exactly");
  const negative = await client.timeout(WAIT_MS).emitWithAck("recount", { ...stored, views: "-5", reach: null });
  assert.equal(negative.views, "-5");
  assert.equal(negative.reach, null);

  // An invalid payload for an acknowledged event is answered with an ack error naming the field.
  const rejected = await client.timeout(WAIT_MS).emitWithAck("join", { since: null });
  assert.equal(rejected.error.code, "invalid_payload");
  assert.equal(rejected.error.event, "join");
  assert.equal(rejected.error.field, "room");
  assert.equal(rejected.error.message, "missing field room, expected String");
  // `room` is `{ type: String, maxLength: 40 }`; the limit holds before the handler runs.
  const tooLong = await client.timeout(WAIT_MS).emitWithAck("join", { room: "r".repeat(41), since: null });
  assert.equal(tooLong.error.field, "room");
  assert.equal(tooLong.error.message, "room: expected at most 40 characters, found 41");
  const badDate = await client.timeout(WAIT_MS).emitWithAck("join", { room: "lobby", since: "tomorrow" });
  assert.equal(
    badDate.error.message,
    'since: expected DateTime (an RFC 3339 string such as "2024-05-01T12:00:00Z"), found String "tomorrow"',
  );
  client.close();
});
