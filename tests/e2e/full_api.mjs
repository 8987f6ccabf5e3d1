// Drives the generated server of compiler/tests/fixtures/full_api: acknowledgements in both
// directions and a typed handshake with a logged-in user (`acks`), and events without a payload
// both ways, with a payload sent where none is declared refused (`no-payload`).
// Usage: node full_api.mjs <server url> <acks|no-payload> <websocket|polling>

import assert from "node:assert/strict";
import { connect, nextEvent, run, settle, signup, transportsFor, WAIT_MS } from "./lib.mjs";

const [url, scenario, transport] = process.argv.slice(2);
if (!url || !["acks", "no-payload"].includes(scenario) || !transport) {
  console.error("usage: node full_api.mjs <server url> <acks|no-payload> <websocket|polling>");
  process.exit(2);
}
const transports = transportsFor(transport);

if (scenario === "no-payload") {
  run(`full_api events without a payload over ${transport}`, async () => {
    const username = `dave${transport}`;
    const { token } = await signup(url, username, "correct horse battery");
    const client = await connect(url, { transports, auth: { token, name: "Dave", tags: [] } });

    // Every payload-less event the server sends arrives with no argument at all.
    const stateUpdates = [];
    client.on("stateUpdated", (...args) => stateUpdates.push(args));
    const asked = [];
    client.on("areYouThere", (...args) => {
      asked.push(args.length - 1);
      args.at(-1)(true);
    });
    const firstUpdate = nextEvent(client, "stateUpdated");
    client.emit("askForStateUpdate");
    await firstUpdate;
    // The socket's own answer and the one to its user (every tab of it); none to the empty room.
    await settle();
    assert.deepEqual(asked, [0], "`areYouThere` carries only the ack callback");
    assert.deepEqual(stateUpdates, [[], []], "`stateUpdated` arrives without arguments, twice");

    // A payload-less event with an acknowledgement: the handler's return value comes back.
    const count = await client.timeout(WAIT_MS).emitWithAck("countMessages");
    assert.equal(typeof count, "number");
    assert.ok(count >= 0);

    // A payload sent with an event declared without one is refused like a wrong payload, and
    // the handler never runs: no `areYouThere` follows.
    const refusal = nextEvent(client, "error");
    client.emit("askForStateUpdate", 5);
    const { error } = await refusal;
    assert.equal(error.code, "invalid_payload");
    assert.equal(error.event, "askForStateUpdate");
    assert.equal(error.field, null);
    assert.equal(error.message, "expected no payload, found Int 5");
    const nullRefusal = nextEvent(client, "error");
    client.emit("askForStateUpdate", null);
    assert.equal((await nullRefusal).error.message, "expected no payload, found null");
    const ackRefusal = await client.timeout(WAIT_MS).emitWithAck("countMessages", { all: true });
    assert.equal(ackRefusal.error.code, "invalid_payload");
    assert.equal(ackRefusal.error.event, "countMessages");
    assert.equal(ackRefusal.error.message, "expected no payload, found a record");
    await settle();
    assert.deepEqual(asked, [0], "no handler ran for the refused events");
    client.close();
  });
} else run(`full_api acks over ${transport}`, async () => {
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
