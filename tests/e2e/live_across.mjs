// Live queries across two processes of the todo example that share one PostgreSQL database and
// one Redis: every write commits on process 1, every watching socket and every refetch is on
// process 2. A shared note tells Alice's and Bob's sockets (`getNotes`, unscoped) and their
// refetch on process 2 shows it; Alice's task tells only her socket (`getTasks`, `scope: user`),
// and her refetches of the list and of the single task (`getTask`) show it; once the task is
// deleted on process 1, her socket is told and `getTask` answers 404 on process 2.
// Usage: node live_across.mjs <url of process 1> <url of process 2>

import assert from "node:assert/strict";
import { collectEvents, connect, nextEvent, run, settle, signup } from "./lib.mjs";

const [first, second] = process.argv.slice(2);
if (!first || !second) {
  console.error("usage: node live_across.mjs <url of process 1> <url of process 2>");
  process.exit(2);
}

const PASSWORD = "correct horse battery";

/** POSTs an operation to the process at `url`; resolves with the status and the parsed answer. */
async function request(url, route, input, token) {
  const response = await fetch(new URL(`/operations/${route}`, url), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

async function call(url, route, input, token) {
  const { status, body } = await request(url, route, input, token);
  assert.ok(status >= 200 && status < 300, `${route} on ${url}: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** A socket of `token`'s user on process 2, watching `queries`, with the entities it is told of. */
async function watcher(token, queries) {
  const socket = await connect(new URL("/appc-live", second).toString(), {
    transports: ["websocket"],
    auth: { token },
  });
  const changed = collectEvents(socket, "changed");
  // Generous: under CI this runs beside two chromium tests on two cores.
  assert.deepEqual(await socket.timeout(20000).emitWithAck("watch", queries), queries);
  return { socket, changed };
}

await run("live queries across processes", async () => {
  const suffix = Date.now();
  const alice = await signup(first, `alice-across-${suffix}`, PASSWORD);
  const bob = await signup(first, `bob-across-${suffix}`, PASSWORD);
  const aliceWatch = await watcher(alice.token, ["getTasks", "getNotes"]);
  const bobWatch = await watcher(bob.token, ["getTasks", "getNotes"]);

  // An unscoped query: a note committed on process 1 reaches both watchers on process 2.
  const noteTold = [aliceWatch, bobWatch].map(({ socket }) => nextEvent(socket, "changed"));
  await call(first, "create-note", { text: "Written on process 1" }, alice.token);
  assert.deepEqual(await Promise.all(noteTold), ["Note", "Note"]);
  const notes = await call(second, "get-notes", null, bob.token);
  assert.deepEqual(
    notes.map((note) => note.text),
    ["Written on process 1"],
    "bob's refetch on process 2 sees the note committed on process 1",
  );

  // A scoped query: alice's task reaches her socket on process 2, and bob's not at all.
  aliceWatch.changed.length = 0;
  bobWatch.changed.length = 0;
  const taskTold = nextEvent(aliceWatch.socket, "changed");
  const task = await call(first, "create-task", { description: "Secret plan 42" }, alice.token);
  assert.equal(await taskTold, "Task");
  const tasks = await call(second, "get-tasks", null, alice.token);
  assert.deepEqual(tasks.map((each) => each.description), ["Secret plan 42"]);
  const single = await call(second, "get-task", { id: task.id }, alice.token);
  assert.equal(single.description, "Secret plan 42");

  // The single row is deleted on process 1: alice's socket on process 2 is told, and her
  // refetch there answers 404.
  const deletionTold = nextEvent(aliceWatch.socket, "changed");
  await call(first, "delete-task", { id: task.id }, alice.token);
  assert.equal(await deletionTold, "Task");
  const gone = await request(second, "get-task", { id: task.id }, alice.token);
  assert.equal(gone.status, 404, JSON.stringify(gone.body));

  // Give any stray notification (there must be none) time to arrive: bob heard nothing of tasks.
  await settle(300);
  assert.ok(!bobWatch.changed.includes("Task"), `bob is never told of alice's tasks: ${bobWatch.changed}`);

  for (const { socket } of [aliceWatch, bobWatch]) socket.close();
});
