// Drives the generated server of examples/chat with the real socket.io-client.
// Usage: node chat.mjs <server url> <scenario> <websocket|polling> [expected history as JSON]
// Scenarios:
//   conversation   a logged-in and an anonymous client chat; both see every message with its author,
//                  and a later client's history names the author (stored from the typed `ctx.user.id`)
//   history        a new client's `chatHistory` holds exactly the expected texts, oldest first
//   history-limit  after 55 more messages, `chatHistory` holds only the latest 50, oldest first
//   invalid        a `chatMessage` that is not a string, or is over its 2000 characters, yields an
//                  `error` event in the spec's words; nothing is stored or broadcast
//   auth-required  the `/inbox` namespace refuses anonymous sockets and bad tokens, and welcomes users
//   emit-on-connect  a thousand clients (four hundred over polling), a hundred (forty) at a
//                  time, each send a message from their `connect` callback: every message is
//                  stored and broadcast, and every client also gets its history

import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { WAIT_MS, collectEvents, connect, connectRefused, nextEvent, run, settle, signup, transportsFor } from "./lib.mjs";

const [url, scenario, transport, expectedHistory] = process.argv.slice(2);
if (!url || !scenario || !transport) {
  console.error("usage: node chat.mjs <server url> <scenario> <websocket|polling> [expected history as JSON]");
  process.exit(2);
}
const transports = transportsFor(transport);

/** Sends `text` from `sender` and returns the `chatMessage` each of `receivers` got. */
async function sendAndReceive(sender, receivers, text) {
  const received = receivers.map((receiver) => nextEvent(receiver, "chatMessage"));
  sender.emit("chatMessage", text);
  return Promise.all(received);
}

const scenarios = {
  async conversation() {
    const username = `alice${transport}`;
    const { token } = await signup(url, username, "correct horse battery");
    const alice = await connect(url, { transports, auth: { token } }, ["chatHistory"]);
    const anonymous = await connect(url, { transports }, ["chatHistory"]);
    assert.ok(Array.isArray(await alice.caught.chatHistory));
    assert.ok(Array.isArray(await anonymous.caught.chatHistory));

    const fromAlice = await sendAndReceive(alice, [alice, anonymous], `hello from ${username}`);
    for (const message of fromAlice) {
      assert.equal(message.username, username);
      assert.equal(message.text, `hello from ${username}`);
      assert.equal(typeof message.id, "string");
      assert.ok(message.id.length > 0);
    }
    assert.equal(fromAlice[0].id, fromAlice[1].id, "both clients see the same stored message");

    const fromAnonymous = await sendAndReceive(anonymous, [alice, anonymous], `hello from nobody on ${transport}`);
    for (const message of fromAnonymous) {
      assert.deepEqual(Object.keys(message).sort(), ["id", "text", "username"]);
      assert.equal(message.username, "unknown");
      assert.equal(message.text, `hello from nobody on ${transport}`);
    }
    assert.equal(alice.io.engine.transport.name, transport, "the client used the requested transport");

    // The history is read back from the database: alice's message names her only if the handler
    // stored her id (`ctx.user.id`) with it.
    const later = await connect(url, { transports }, ["chatHistory"]);
    const history = await later.caught.chatHistory;
    const stored = history.find((message) => message.text === `hello from ${username}`);
    assert.equal(stored?.username, username, `alice's message in the history: ${JSON.stringify(history)}`);
    alice.close();
    anonymous.close();
    later.close();
  },

  async history() {
    const expected = JSON.parse(expectedHistory ?? "null");
    assert.ok(Array.isArray(expected), "pass the expected history texts as a JSON array");
    const client = await connect(url, { transports }, ["chatHistory"]);
    const history = await client.caught.chatHistory;
    assert.deepEqual(history.map((message) => message.text), expected);
    for (const message of history) assert.equal(typeof message.username, "string");
    client.close();
  },

  async "history-limit"() {
    const sender = await connect(url, { transports }, ["chatHistory"]);
    await sender.caught.chatHistory;
    const texts = [];
    // One at a time: each message is stored before the next is sent, so the order is certain.
    for (let index = 0; index < 55; index += 1) {
      texts.push(`message ${index}`);
      await sendAndReceive(sender, [sender], `message ${index}`);
    }
    const reader = await connect(url, { transports }, ["chatHistory"]);
    const history = await reader.caught.chatHistory;
    assert.equal(history.length, 50);
    assert.deepEqual(history.map((message) => message.text), texts.slice(5));
    sender.close();
    reader.close();
  },

  async invalid() {
    const sender = await connect(url, { transports }, ["chatHistory"]);
    const historyBefore = await sender.caught.chatHistory;
    const witness = await connect(url, { transports }, ["chatHistory"]);
    await witness.caught.chatHistory;
    const seenBySender = collectEvents(sender, "chatMessage");
    const seenByWitness = collectEvents(witness, "chatMessage");

    // Refused in the spec's words, before the handler runs: `chatMessage` is declared
    // `{ type: String, maxLength: 2000 }`, and the limit counts characters, not bytes.
    const refusals = [
      [42, "expected String, found Int 42"],
      [{ text: "not a plain string" }, "expected String, found a record"],
      [null, "expected String, found null"],
      ["ü".repeat(2417), "expected at most 2000 characters, found 2417"],
    ];
    for (const [invalidPayload, message] of refusals) {
      const error = nextEvent(sender, "error");
      sender.emit("chatMessage", invalidPayload);
      const { error: details } = await error;
      assert.equal(details.code, "invalid_payload");
      assert.equal(details.event, "chatMessage");
      assert.equal(details.message, message);
    }
    await settle();
    assert.deepEqual([...seenBySender, ...seenByWitness], [], "nothing was broadcast");

    const later = await connect(url, { transports }, ["chatHistory"]);
    assert.deepEqual(await later.caught.chatHistory, historyBefore, "nothing was stored");
    for (const client of [sender, witness, later]) client.close();
  },

  async "emit-on-connect"() {
    // The server sends CONNECT before its namespace function has registered `chatMessage`: a
    // message sent the moment the client is connected must wait for the handler, not be lost.
    // A hundred connecting at once keep the server busy enough to show the race; over polling
    // each client holds two or three HTTP connections, and one address may have 256.
    const rounds = 10;
    const clientsPerRound = transport === "polling" ? 40 : 100;
    const lost = [];
    for (let round = 0; round < rounds; round += 1) {
      const clients = Array.from({ length: clientsPerRound }, async (_, index) => {
        const text = `sent on connect over ${transport}, ${round}.${index}`;
        const socket = io(url, { reconnection: false, forceNew: true, timeout: WAIT_MS, autoConnect: false, transports });
        const history = nextEvent(socket, "chatHistory");
        const broadcast = new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), WAIT_MS);
          socket.on("chatMessage", (message) => {
            if (message.text !== text) return;
            clearTimeout(timer);
            resolve(true);
          });
        });
        socket.on("connect", () => socket.emit("chatMessage", text));
        socket.connect();
        try {
          assert.ok(Array.isArray(await history));
          if (!(await broadcast)) lost.push(text);
        } finally {
          socket.close();
        }
      });
      await Promise.all(clients);
    }
    assert.deepEqual(lost, [], `${lost.length} of ${rounds * clientsPerRound} messages sent on connect were lost`);
  },

  async "auth-required"() {
    const inbox = new URL("/inbox", url).toString();
    const anonymous = await connectRefused(inbox, { transports });
    assert.match(anonymous.message, /^unauthorized/);
    const badToken = await connectRefused(inbox, { transports, auth: { token: "not-a-token" } });
    assert.match(badToken.message, /^unauthorized/);

    const username = `bob${transport}`;
    const { token } = await signup(url, username, "correct horse battery");
    const client = await connect(inbox, { transports, auth: { token } }, ["welcome"]);
    assert.equal(await client.caught.welcome, `Welcome, ${username}!`);
    client.close();
  },
};

const selected = scenarios[scenario];
if (!selected) {
  console.error(`unknown scenario \`${scenario}\`; use one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
run(`chat ${scenario} over ${transport}`, selected);
