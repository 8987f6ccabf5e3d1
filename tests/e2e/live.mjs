// Drives the todo example's live queries with socket.io-client and HTTP, as a web client would:
// sockets on the built-in `/appc-live` namespace watch `getTasks` (`scope: user`) and `getNotes`
// (shared); a note committed by Alice tells everyone watching the board, her own task tells only
// her sockets, nothing carries any row's content (only the entity's name), an anonymous socket
// may watch nothing that needs a login, and a burst of writes reaches a watcher as a few
// notifications.
// Usage: node live.mjs <server url>

import assert from "node:assert/strict";
import { collectEvents, connect, run, settle, signup } from "./lib.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node live.mjs <server url>");
  process.exit(2);
}

const PASSWORD = "correct horse battery";

async function call(route, input, token) {
  const response = await fetch(new URL(`/operations/${route}`, url), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  assert.ok(response.ok, `${route}: ${response.status} ${text}`);
  return text === "" ? null : JSON.parse(text);
}

/** A live socket of `token`'s user watching `queries`; resolves with it and what the server accepted. */
async function watcher(token, queries) {
  const socket = await connect(new URL("/appc-live", url).toString(), {
    transports: ["websocket"],
    auth: token === null ? {} : { token },
  });
  const changed = collectEvents(socket, "changed");
  const accepted = await socket.timeout(5000).emitWithAck("watch", queries);
  return { socket, changed, accepted };
}

await run("live queries over socket.io", async () => {
  const alice = await signup(url, "alice-live", PASSWORD);
  const bob = await signup(url, "bob-live", PASSWORD);
  const aliceWatch = await watcher(alice.token, ["getTasks", "getNotes"]);
  const bobWatch = await watcher(bob.token, ["getTasks", "getNotes"]);
  const anonymous = await watcher(null, ["getTasks", "getNotes", "noSuchQuery"]);
  assert.deepEqual(aliceWatch.accepted, ["getTasks", "getNotes"]);
  // Both queries need a login: an anonymous socket watches nothing.
  assert.deepEqual(anonymous.accepted, []);

  // A shared note: both users are told, with the entity's name and nothing else.
  await call("create-note", { text: "Standup at ten" }, alice.token);
  await settle(300);
  assert.deepEqual(aliceWatch.changed, ["Note"]);
  assert.deepEqual(bobWatch.changed, ["Note"]);

  // Alice's private task: her socket only.
  const task = await call("create-task", { description: "Secret plan 42" }, alice.token);
  await call("update-task", { id: task.id, isDone: true }, alice.token);
  await settle(300);
  assert.ok(aliceWatch.changed.includes("Task"), JSON.stringify(aliceWatch.changed));
  assert.deepEqual(bobWatch.changed, ["Note"], "bob is never told of alice's tasks");
  assert.deepEqual(anonymous.changed, []);

  // A burst of 100 notes in parallel reaches each watcher as a few notifications.
  bobWatch.changed.length = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 100 }, (_, index) => call("create-note", { text: `note ${index}` }, alice.token)),
  );
  const elapsedMs = Date.now() - started;
  await settle(300);
  const bound = Math.floor(elapsedMs / 50) + 2;
  assert.ok(
    bobWatch.changed.length >= 1 && bobWatch.changed.length <= bound,
    `${bobWatch.changed.length} notifications for 100 writes in ${elapsedMs} ms (at most ${bound})`,
  );
  assert.ok(bobWatch.changed.every((entity) => entity === "Note"));

  // Watching nothing any more: no notifications.
  assert.deepEqual(await bobWatch.socket.timeout(5000).emitWithAck("watch", []), []);
  bobWatch.changed.length = 0;
  await call("create-note", { text: "after" }, alice.token);
  await settle(300);
  assert.deepEqual(bobWatch.changed, []);

  for (const { socket } of [aliceWatch, bobWatch, anonymous]) socket.close();
});
