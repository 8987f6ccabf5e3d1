// Drives the todo example's live queries with socket.io-client and HTTP, as a web client would:
// sockets on the built-in `/appc-live` namespace subscribe to `getTasks` (`scope: user`),
// `getNotes` (shared) and `getTask` (one row), get each query's current result in the ack, then
// its new result in an `update` after each committed write that changes it. What a socket
// receives is what its own user's query answers: a note reaches everyone, Alice's task only her
// sockets (never a byte of it reaches Bob's, even when he subscribes to it by its id), and an
// anonymous socket may subscribe to nothing that needs a login. A burst of writes reaches a
// subscriber as a few updates ending with the final result; a write that changes no result sends
// nothing; an unsubscribed query gets no more updates; a deleted row's query pushes its 404.
// Hostile payloads are refused item by item (`unknown_query`, `invalid_input`, over the per-socket
// limit `too_many_subscriptions`), and a payload that is not a list gets `[]`, the socket living on.
// Usage: node live.mjs <server url> <its APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET>

import assert from "node:assert/strict";
import { connect, nextMatchingEvent, run, settle, signup } from "./lib.mjs";

const [url, limitArgument] = process.argv.slice(2);
const subscriptionsPerSocket = Number(limitArgument);
if (!url || !Number.isInteger(subscriptionsPerSocket)) {
  console.error("usage: node live.mjs <server url> <its APPC_LIVE_SUBSCRIPTIONS_PER_SOCKET>");
  process.exit(2);
}

const PASSWORD = "correct horse battery";
const SECRET = "Secret plan 42";

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

/**
 * A live socket of `token`'s user (anonymous for `null`): `received` holds every event it gets,
 * `updates` every `update`.
 */
async function liveSocket(token) {
  const socket = await connect(new URL("/appc-live", url).toString(), {
    transports: ["websocket"],
    auth: token === null ? {} : { token },
  });
  socket.received = [];
  socket.onAny((event, ...payloads) => socket.received.push([event, ...payloads]));
  socket.updates = [];
  socket.on("update", (update) => socket.updates.push(update));
  return socket;
}

/** Sends `subscribe` with `payload` and resolves with the server's ack. */
function subscribe(socket, payload) {
  return socket.timeout(5000).emitWithAck("subscribe", payload);
}

/** The next `update` of subscription `id` on `socket` (listening from now on). */
function nextUpdate(socket, id) {
  return nextMatchingEvent(socket, "update", (update) => update.id === id);
}

function updatesOf(socket, id) {
  return socket.updates.filter((update) => update.id === id);
}

/** Asserts that `result` is subscribed (it has an id) and returns it. */
function subscribed(result, what) {
  assert.equal(typeof result?.id, "number", `${what} is subscribed: ${JSON.stringify(result)}`);
  return result;
}

/** Asserts that `result` is refused (no id) with `status` and `code`. */
function refused(result, status, code, what) {
  const isRefusal = result !== null && typeof result === "object" && !("id" in result);
  assert.ok(isRefusal, `${what} is refused: ${JSON.stringify(result)}`);
  assert.deepEqual([result.error?.status, result.error?.code], [status, code], `${what}: ${JSON.stringify(result)}`);
  assert.ok(typeof result.error.message === "string" && result.error.message !== "", `${what} says why`);
}

await run("live queries over socket.io", async () => {
  const alice = await signup(url, "alice-live", PASSWORD);
  const bob = await signup(url, "bob-live", PASSWORD);
  const carol = await signup(url, "carol-live", PASSWORD);
  const aliceSocket = await liveSocket(alice.token);
  const aliceOtherTab = await liveSocket(alice.token);
  const bobSocket = await liveSocket(bob.token);
  const anonymous = await liveSocket(null);

  // Subscribed, with the current results in the ack (`input` absent or null without input).
  const [aliceTasks, aliceNotes] = await subscribe(aliceSocket, [
    { query: "getTasks" },
    { query: "getNotes", input: null },
  ]);
  subscribed(aliceTasks, "alice's getTasks");
  subscribed(aliceNotes, "alice's getNotes");
  assert.deepEqual([aliceTasks.data, aliceNotes.data], [[], []]);
  // One group per (query, input, user): her other socket, and subscribing again, get the same id.
  const [otherTabTasks] = await subscribe(aliceOtherTab, [{ query: "getTasks" }]);
  assert.equal(subscribed(otherTabTasks, "alice's other getTasks").id, aliceTasks.id);
  assert.equal((await subscribe(aliceSocket, [{ query: "getTasks" }]))[0].id, aliceTasks.id);
  const [bobTasks, bobNotes] = await subscribe(bobSocket, [{ query: "getTasks" }, { query: "getNotes" }]);
  subscribed(bobTasks, "bob's getTasks");
  subscribed(bobNotes, "bob's getNotes");

  // Both queries need a login: an anonymous socket subscribes to nothing.
  const anonymousResults = await subscribe(anonymous, [
    { query: "getTasks" },
    { query: "getNotes" },
    { query: "noSuchQuery" },
  ]);
  assert.equal(anonymousResults.length, 3, JSON.stringify(anonymousResults));
  refused(anonymousResults[0], 401, "unauthorized", "an anonymous getTasks");
  refused(anonymousResults[1], 401, "unauthorized", "an anonymous getNotes");
  refused(anonymousResults[2], 404, "unknown_query", "an anonymous unknown query");

  // A shared note: both users get the board's new result.
  const noteUpdates = [nextUpdate(aliceSocket, aliceNotes.id), nextUpdate(bobSocket, bobNotes.id)];
  await call("create-note", { text: "Standup at ten" }, alice.token);
  for (const update of await Promise.all(noteUpdates)) {
    assert.deepEqual(update.data.map((note) => note.text), ["Standup at ten"]);
  }

  // Alice's private task: both her sockets get her list with it.
  const taskUpdates = [nextUpdate(aliceSocket, aliceTasks.id), nextUpdate(aliceOtherTab, aliceTasks.id)];
  const task = await call("create-task", { description: SECRET }, alice.token);
  for (const update of await Promise.all(taskUpdates)) {
    assert.deepEqual(update.data.map((each) => each.description), [SECRET]);
  }

  // One row: alice gets it; bob, asking for it by its id, gets the 404 his own query answers.
  const [aliceTask] = await subscribe(aliceSocket, [{ query: "getTask", input: { id: task.id } }]);
  assert.equal(subscribed(aliceTask, "alice's getTask").data.description, SECRET);
  const [bobPeek] = await subscribe(bobSocket, [{ query: "getTask", input: { id: task.id } }]);
  subscribed(bobPeek, "bob's getTask of alice's task");
  assert.ok(!("data" in bobPeek), JSON.stringify(bobPeek));
  assert.deepEqual([bobPeek.error?.status, bobPeek.error?.code], [404, "not_found"], JSON.stringify(bobPeek));

  // Ticked off: the row's subscription follows.
  const ticked = nextUpdate(aliceSocket, aliceTask.id);
  await call("update-task", { id: task.id, isDone: true }, alice.token);
  assert.equal((await ticked).data.isDone, true);
  // The same write again changes no result, so nothing is sent.
  await settle(300);
  const updatesBefore = aliceSocket.updates.length;
  await call("update-task", { id: task.id, isDone: true }, alice.token);
  await settle(300);
  assert.deepEqual(aliceSocket.updates.slice(updatesBefore), [], "an unchanged result is not sent again");

  // Nothing of alice's tasks reached bob (`scope: user`), nor anything at all the anonymous socket.
  assert.deepEqual(updatesOf(bobSocket, bobTasks.id), [], "bob's list never follows alice's tasks");
  assert.deepEqual(updatesOf(bobSocket, bobPeek.id), [], "bob's peek never follows alice's task");
  assert.ok(!JSON.stringify(bobSocket.received).includes(SECRET), "no event of bob's carries alice's task");
  assert.deepEqual(anonymous.received, []);

  // A burst of 100 notes in parallel (by carol, whose operations budget is whole) reaches bob
  // as a few updates (one at once, then at most one per 15 ms window), the last one final.
  bobSocket.updates.length = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 100 }, (_, index) => call("create-note", { text: `note ${index}` }, carol.token)),
  );
  const elapsedMs = Date.now() - started;
  await settle(300);
  const burst = updatesOf(bobSocket, bobNotes.id);
  const bound = Math.floor(elapsedMs / 15) + 2;
  assert.ok(
    burst.length >= 1 && burst.length <= bound,
    `${burst.length} updates for 100 writes in ${elapsedMs} ms (at most ${bound})`,
  );
  assert.equal(burst.at(-1).data.length, 101, "the last update holds every note");
  console.log(`burst: 100 writes in ${elapsedMs} ms reached bob as ${burst.length} updates`);

  // Unsubscribed: no more updates. (`unsubscribe` has no ack, but the server handles a socket's
  // events in order, so the ack of the next `subscribe` says it has taken effect.)
  bobSocket.emit("unsubscribe", [bobNotes.id]);
  assert.deepEqual(await subscribe(bobSocket, []), [], "an empty list subscribes to nothing");
  bobSocket.updates.length = 0;
  const aliceSeesIt = nextUpdate(aliceSocket, aliceNotes.id);
  await call("create-note", { text: "after" }, alice.token);
  await aliceSeesIt;
  await settle(300);
  assert.deepEqual(bobSocket.updates, [], "bob unsubscribed from the board");

  // The row is deleted: its subscription pushes the 404 the query now answers.
  const deleted = nextUpdate(aliceSocket, aliceTask.id);
  await call("delete-task", { id: task.id }, alice.token);
  const gone = await deleted;
  assert.ok(!("data" in gone), JSON.stringify(gone));
  assert.deepEqual([gone.error?.status, gone.error?.code], [404, "not_found"], JSON.stringify(gone));

  await hostilePayloads(alice.token, task.id);

  for (const socket of [aliceSocket, aliceOtherTab, bobSocket, anonymous]) socket.close();
});

/** What a hostile or broken client sends is refused item by item, and the socket lives on. */
async function hostilePayloads(token, taskId) {
  const socket = await liveSocket(token);

  // A payload that is not a list of subscriptions: `[]`.
  for (const payload of ["getTasks", { query: "getTasks" }, 42, null]) {
    assert.deepEqual(await subscribe(socket, payload), [], `the ack of ${JSON.stringify(payload)}`);
  }

  const results = await subscribe(socket, [
    { query: "noSuchQuery" },
    // An action is no query.
    { query: "createTask", input: { description: "through the socket" } },
    { query: "getTask", input: "seven" },
    { query: "getTask", input: { id: "seven" } },
    { query: "getNotes" },
  ]);
  assert.equal(results.length, 5, JSON.stringify(results));
  refused(results[0], 404, "unknown_query", "an unknown query");
  refused(results[1], 404, "unknown_query", "an action");
  refused(results[2], 400, "invalid_input", "an input of the wrong type");
  refused(results[3], 400, "invalid_input", "an input with a field of the wrong type");
  subscribed(results[4], "getNotes after the refused ones");

  // The per-socket limit counts distinct subscriptions (the refused ones are none): getNotes is
  // one, then one row each, and the one past the limit is refused.
  const rows = Array.from({ length: subscriptionsPerSocket }, (_, index) => ({
    query: "getTask",
    input: { id: taskId + 1000 + index },
  }));
  const rowResults = await subscribe(socket, rows);
  assert.equal(rowResults.length, subscriptionsPerSocket, JSON.stringify(rowResults));
  rowResults.slice(0, -1).forEach((result, index) => subscribed(result, `row subscription ${index + 1}`));
  refused(rowResults.at(-1), 429, "too_many_subscriptions", "the subscription past the limit");
  // Subscribing again to one it has is no new subscription.
  assert.equal(subscribed((await subscribe(socket, [{ query: "getNotes" }]))[0], "getNotes again").id, results[4].id);
  // Unsubscribing frees a place, for the very next subscribe (events are handled in order).
  socket.emit("unsubscribe", [rowResults[0].id]);
  subscribed((await subscribe(socket, [rows.at(-1)]))[0], "a row once another was unsubscribed");

  // The socket still gets its updates.
  const noted = nextUpdate(socket, results[4].id);
  await call("create-note", { text: "after the hostile payloads" }, token);
  assert.ok((await noted).data.some((note) => note.text === "after the hostile payloads"));
  socket.close();
}
