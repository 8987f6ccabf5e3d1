// Drives the generated server of examples/uppercase (msgpack encoding, typed handshake) with the
// real socket.io-client and socket.io-msgpack-parser.
// Usage: node uppercase.mjs <server url> <scenario> <websocket|polling>
// Scenarios:
//   echo     a visitor is greeted by name, and each `textInput` comes back upper-cased to it alone
//   refused  handshakes with a missing or mistyped field are refused with a `connect_error` naming it

import assert from "node:assert/strict";
import parser from "socket.io-msgpack-parser";
import { collectEvents, connect, connectRefused, nextEvent, run, settle, transportsFor } from "./lib.mjs";

const [url, scenario, transport] = process.argv.slice(2);
if (!url || !scenario || !transport) {
  console.error("usage: node uppercase.mjs <server url> <scenario> <websocket|polling>");
  process.exit(2);
}
const transports = transportsFor(transport);

const scenarios = {
  async echo() {
    const ada = await connect(url, { transports, parser, auth: { name: "Ada", age: 36 } }, ["greeting"]);
    assert.equal(await ada.caught.greeting, "Hello, Ada!");
    const bob = await connect(url, { transports, parser, auth: { name: "Bob", age: 41 } }, ["greeting"]);
    assert.equal(await bob.caught.greeting, "Hello, Bob!");
    const seenByBob = collectEvents(bob, "uppercase");

    for (const text of ["hello", "Grüße, world 42"]) {
      const answer = nextEvent(ada, "uppercase");
      ada.emit("textInput", text);
      assert.equal(await answer, text.toUpperCase());
    }
    await settle();
    assert.deepEqual(seenByBob, [], "answers go to the sender only");
    assert.equal(ada.io.engine.transport.name, transport, "the client used the requested transport");
    ada.close();
    bob.close();
  },

  async refused() {
    // The same spec-worded messages as payloads get, over msgpack too.
    const missingAge = await connectRefused(url, { transports, parser, auth: { name: "Ada" } });
    assert.equal(missingAge.message, "invalid handshake: missing field age, expected Int");
    const mistypedAge = await connectRefused(url, { transports, parser, auth: { name: "Ada", age: "old" } });
    assert.equal(mistypedAge.message, 'invalid handshake: age: expected Int, found String "old"');
    const missingName = await connectRefused(url, { transports, parser, auth: { age: 36 } });
    assert.equal(missingName.message, "invalid handshake: missing field name, expected String");
    const noHandshake = await connectRefused(url, { transports, parser });
    assert.match(noHandshake.message, /^invalid handshake: /);
  },
};

const selected = scenarios[scenario];
if (!selected) {
  console.error(`unknown scenario \`${scenario}\`; use one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
run(`uppercase ${scenario} over ${transport}`, selected);
