// Live queries across two processes of the todo example that share one PostgreSQL database and
// one Redis: every write commits on process 1, every subscribed socket is on process 2. A shared
// note pushes the board's new result to Alice's and Bob's sockets (`getNotes`, unscoped);
// Alice's task pushes her list only to her socket (`getTasks`, `scope: user`), and her
// subscription to the single task (`getTask`) follows it being ticked off, then pushes the 404
// once it is deleted on process 1. Bob's socket never receives a byte of her task.
// Usage: node live_across.mjs <url of process 1> <url of process 2>

import assert from "node:assert/strict";
import { connect, nextMatchingEvent, run, settle, signup } from "./lib.mjs";

const [first, second] = process.argv.slice(2);
if (!first || !second) {
  console.error("usage: node live_across.mjs <url of process 1> <url of process 2>");
  process.exit(2);
}

const PASSWORD = "correct horse battery";
const SECRET = "Secret plan 42";
/** Generous: under CI this runs beside two chromium tests on two cores. */
const ACK_TIMEOUT_MS = 20000;

/** POSTs an operation to the process at `url` and resolves with its parsed answer. */
async function call(url, route, input, token) {
  const response = await fetch(new URL(`/operations/${route}`, url), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  assert.ok(response.ok, `${route} on ${url}: ${response.status} ${text}`);
  return text === "" ? null : JSON.parse(text);
}

/**
 * A socket of `token`'s user (`name`) on process 2, subscribed to `subscriptions`: resolves with it and
 * the ack's results; `socket.received` holds every event it gets.
 */
async function subscriber(name, token, subscriptions) {
  const socket = await connect(new URL("/appc-live", second).toString(), {
    transports: ["websocket"],
    auth: { token },
  });
  socket.received = [];
  socket.onAny((event, ...payloads) => socket.received.push([event, ...payloads]));
  const results = await subscribe(socket, subscriptions, name);
  assert.equal(results.length, subscriptions.length, JSON.stringify(results));
  for (const result of results) {
    assert.equal(typeof result.id, "number", `subscribed: ${JSON.stringify(result)}`);
  }
  return { socket, results };
}

/** Sends `subscribe` with `subscriptions` and resolves with the ack, failing with `what` on a timeout. */
async function subscribe(socket, subscriptions, what) {
  try {
    return await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("subscribe", subscriptions);
  } catch (error) {
    throw new Error(`no ack of ${what}'s subscribe within ${ACK_TIMEOUT_MS} ms: ${error}`);
  }
}

/** The next `update` of subscription `id` on `socket` (listening from now on). */
function nextUpdate(socket, id) {
  return nextMatchingEvent(socket, "update", (update) => update.id === id);
}

await run("live queries across processes", async () => {
  const suffix = Date.now();
  const alice = await signup(first, `alice-across-${suffix}`, PASSWORD);
  const bob = await signup(first, `bob-across-${suffix}`, PASSWORD);
  const aliceLive = await subscriber("alice", alice.token, [{ query: "getTasks" }, { query: "getNotes" }]);
  const bobLive = await subscriber("bob", bob.token, [{ query: "getTasks" }, { query: "getNotes" }]);
  const [aliceTasks, aliceNotes] = aliceLive.results;
  const [bobTasks, bobNotes] = bobLive.results;

  // An unscoped query: a note committed on process 1 reaches both subscribers on process 2.
  const noteUpdates = [nextUpdate(aliceLive.socket, aliceNotes.id), nextUpdate(bobLive.socket, bobNotes.id)];
  await call(first, "create-note", { text: "Written on process 1" }, alice.token);
  for (const update of await Promise.all(noteUpdates)) {
    assert.deepEqual(update.data.map((note) => note.text), ["Written on process 1"]);
  }

  // A scoped query: alice's task reaches her socket on process 2, and bob's not at all.
  const listUpdate = nextUpdate(aliceLive.socket, aliceTasks.id);
  const task = await call(first, "create-task", { description: SECRET }, alice.token);
  assert.deepEqual((await listUpdate).data.map((each) => each.description), [SECRET]);

  // The single row, subscribed on process 2, follows a write on process 1.
  const [single] = await subscribe(aliceLive.socket, [{ query: "getTask", input: { id: task.id } }], "alice's task");
  assert.equal(single.data?.description, SECRET, JSON.stringify(single));
  const ticked = nextUpdate(aliceLive.socket, single.id);
  await call(first, "update-task", { id: task.id, isDone: true }, alice.token);
  assert.equal((await ticked).data?.isDone, true);

  // Deleted on process 1: the row's subscription on process 2 pushes the query's 404.
  const deleted = nextUpdate(aliceLive.socket, single.id);
  await call(first, "delete-task", { id: task.id }, alice.token);
  const gone = await deleted;
  assert.ok(!("data" in gone), JSON.stringify(gone));
  assert.deepEqual([gone.error?.status, gone.error?.code], [404, "not_found"], JSON.stringify(gone));

  // Give any stray update (there must be none) time to arrive: bob got nothing of tasks.
  await settle(300);
  const bobTaskUpdates = bobLive.socket.received.filter(
    ([event, update]) => event === "update" && update.id === bobTasks.id,
  );
  assert.deepEqual(bobTaskUpdates, [], "bob's list never follows alice's tasks");
  assert.ok(!JSON.stringify(bobLive.socket.received).includes(SECRET), "no event of bob's carries alice's task");

  for (const { socket } of [aliceLive, bobLive]) socket.close();
});
