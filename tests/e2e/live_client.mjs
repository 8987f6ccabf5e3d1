// The live-query client of the generated web app (`src/appc/live.ts` and the live part of
// `useQuery`) in node, against a fake Socket.IO (fake_socket_io_client.mjs) and a stubbed
// `fetch`, with a real TanStack `QueryClient`: the test plays the server and delivers acks and
// updates in the orders that the end-to-end tests cannot force. It checks that an update that
// arrives before its subscription's ack is kept (the ack's older result does not overwrite it);
// that an update no newer than the cached result is ignored; that an HTTP fetch in flight when a
// result is pushed returns the pushed result, not its own older answer; that a pushed error
// refetches the query over HTTP; that every mounted query is subscribed again after a
// reconnection; and that an unmounted query is unsubscribed once no other key holds its id.
//
// Usage: node live_client.mjs <bundle.mjs>, where the bundle (made by compiler/tests/web.rs with
// esbuild from the operations_client fixture's generated web project, with `socket.io-client`
// aliased to the fake) exports `@appc/operations` as `operations`, its core as `core`, the live
// module as `live`, the fake as `fakeSocketIo`, TanStack's `QueryObserver`, and React's `createElement` and `renderToString`.

import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';

const storage = new Map([['appc:token', 'token-of-ada']]);
globalThis.window = {
  location: { origin: 'http://localhost:3000' },
  localStorage: {
    getItem: (key) => (storage.has(key) ? storage.get(key) : null),
    setItem: (key, value) => storage.set(key, String(value)),
    removeItem: (key) => storage.delete(key),
  },
};

/** The HTTP requests in flight, answered by the test with `answer`. */
const requests = [];
globalThis.fetch = (url, init = {}) =>
  new Promise((resolve, reject) => {
    requests.push({ url: String(url), init, resolve });
    init.signal?.addEventListener('abort', () => reject(init.signal.reason));
  });

function answer(request, body) {
  request.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
}

/** Lets the queued work run: the live client's flush (a 0 ms timer) and pending promises. */
function settle() {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

const bundle = await import(pathToFileURL(process.argv[2]).href);
const { operations, core, live, fakeSocketIo, QueryObserver, createElement, renderToString } = bundle;
const client = core.getQueryClient();

/** The messages of `event` the client emitted since the last look; the others must be none. */
function takeEmitted(socket, event) {
  const emitted = socket.takeEmitted();
  assert.ok(
    emitted.every((message) => message.event === event),
    `expected only ${event}, got ${JSON.stringify(emitted.map((message) => message.event))}`,
  );
  return emitted;
}

/** The one message of `event` the client emitted since the last look. */
function takeOne(socket, event) {
  const emitted = takeEmitted(socket, event);
  assert.equal(emitted.length, 1, `expected one ${event}, got ${emitted.length}`);
  return emitted[0];
}

// A component that mounts `getTasks` with the real `useQuery`. Rendered on the "server" (no
// effects run), it leaves in the cache the query with `useQuery`'s own `queryFn`; an observer with
// the same options then stands for the mounted component, and `watchLiveQuery` for its effect.
const tasksKey = core.queryKey(operations.getTasks.route, undefined);
function TasksPage() {
  core.useQuery(operations.getTasks);
  return null;
}
renderToString(createElement(TasksPage));
const tasksQuery = client.getQueryCache().find({ queryKey: tasksKey, exact: true });
assert.ok(tasksQuery !== undefined, 'useQuery left its query in the cache');
const tasksObserver = new QueryObserver(client, tasksQuery.options);
const stopObserving = tasksObserver.subscribe(() => {});
const stopTasks = live.watchLiveQuery(client, tasksKey, operations.getTasks.queryName, tasksKey[1]);
await settle();

// The mount fetches over HTTP and opens the live socket, with the stored token.
assert.equal(requests.length, 1);
const mountFetch = requests.shift();
assert.equal(mountFetch.url, '/operations/get-tasks');
assert.equal(fakeSocketIo.sockets.length, 1);
const socket = fakeSocketIo.sockets[0];
assert.equal(socket.namespace, '/appc-live');
assert.equal(socket.active, true);
let handshake = null;
socket.options.auth((sent) => {
  handshake = sent;
});
assert.deepEqual(handshake, { token: 'token-of-ada' });
// Nothing is sent before the connection is up.
assert.deepEqual(takeEmitted(socket, 'subscribe'), []);

// (1) Connected, the client subscribes; the server pushes version 2 before its ack, which carries
// the older version 1: the pushed result stays.
socket.acceptConnection();
let subscribe = takeOne(socket, 'subscribe');
assert.deepEqual(subscribe.payload, [{ query: 'getTasks', input: null }]);
socket.receive('update', { id: 3, version: 2, data: ['pushed before the ack'] });
subscribe.ack([{ id: 3, version: 1, data: ['acked'] }]);
assert.deepEqual(client.getQueryData(tasksKey), ['pushed before the ack']);

// (3) The mount's HTTP fetch started before those results were pushed: its older answer does not
// replace them, and `useQuery` answers with the pushed result.
answer(mountFetch, ['older answer over HTTP']);
await settle();
assert.deepEqual(client.getQueryData(tasksKey), ['pushed before the ack']);
assert.deepEqual(tasksObserver.getCurrentResult().data, ['pushed before the ack']);

// Without a push during the fetch, the HTTP answer is what `useQuery` gives.
const refetched = tasksObserver.refetch();
await settle();
answer(requests.shift(), ['newer answer over HTTP']);
assert.deepEqual((await refetched).data, ['newer answer over HTTP']);

// (2) An update whose version is not newer than the cached one is ignored; a newer one is taken.
socket.receive('update', { id: 3, version: 2, data: ['version 2 again'] });
socket.receive('update', { id: 3, version: 1, data: ['version 1 again'] });
assert.deepEqual(client.getQueryData(tasksKey), ['newer answer over HTTP']);
socket.receive('update', { id: 3, version: 3, data: ['version 3'] });
assert.deepEqual(client.getQueryData(tasksKey), ['version 3']);

// A push while a fetch is in flight, once more, after the subscription's ack.
const refetchedAgain = tasksObserver.refetch();
await settle();
socket.receive('update', { id: 3, version: 4, data: ['version 4'] });
answer(requests.shift(), ['answer of a fetch overtaken by version 4']);
assert.deepEqual((await refetchedAgain).data, ['version 4']);
assert.deepEqual(client.getQueryData(tasksKey), ['version 4']);

// (4) A pushed error does not become the data: the query is fetched again over HTTP, and the
// component gets that answer.
socket.receive('update', { id: 3, version: 5, error: { status: 500, code: 'internal', message: 'the database is down' } });
await settle();
assert.deepEqual(client.getQueryData(tasksKey), ['version 4']);
assert.equal(requests.length, 1, 'the pushed error refetches the query');
assert.equal(requests[0].url, '/operations/get-tasks');
answer(requests.shift(), ['answer after the error']);
await settle();
assert.deepEqual(client.getQueryData(tasksKey), ['answer after the error']);
// The error's version counts: an older result that comes late is ignored.
socket.receive('update', { id: 3, version: 4, data: ['version 4 again'] });
assert.deepEqual(client.getQueryData(tasksKey), ['answer after the error']);

// (5) A second query mounts; after the connection drops and comes back, both are subscribed
// again in one message, and the acks of the new connection replace the cache whatever their
// versions (a new connection's ids and versions start again).
const taskKey = core.queryKey(operations.getTask.route, 7);
const stopTask = live.watchLiveQuery(client, taskKey, operations.getTask.queryName, taskKey[1]);
await settle();
subscribe = takeOne(socket, 'subscribe');
assert.deepEqual(subscribe.payload, [{ query: 'getTask', input: 7 }]);
subscribe.ack([{ id: 4, version: 8, data: { id: 7, description: 'task 7' } }]);
assert.deepEqual(client.getQueryData(taskKey), { id: 7, description: 'task 7' });

socket.dropConnection();
assert.equal(socket.active, true, 'Socket.IO reconnects on its own');
socket.acceptConnection();
subscribe = takeOne(socket, 'subscribe');
assert.deepEqual(subscribe.payload, [
  { query: 'getTasks', input: null },
  { query: 'getTask', input: 7 },
]);
subscribe.ack([
  { id: 10, version: 1, data: ['after the reconnection'] },
  { id: 11, version: 1, data: { id: 7, description: 'task 7 after the reconnection' } },
]);
assert.deepEqual(client.getQueryData(tasksKey), ['after the reconnection']);
assert.deepEqual(client.getQueryData(taskKey), { id: 7, description: 'task 7 after the reconnection' });
// An id of the old connection means nothing on the new one.
socket.receive('update', { id: 3, version: 9, data: ['for the old connection'] });
assert.deepEqual(client.getQueryData(tasksKey), ['after the reconnection']);

// (6) Two keys that the server names one subscription (one input, its fields in another order):
// unmounting one key keeps the subscription, unmounting the other releases it.
const statsKeyA = core.queryKey(operations.getTaskStats.route, { isDone: true, label: 'home' });
const statsKeyB = core.queryKey(operations.getTaskStats.route, { label: 'home', isDone: true });
const stopStatsA = live.watchLiveQuery(client, statsKeyA, operations.getTaskStats.queryName, statsKeyA[1]);
const stopStatsB = live.watchLiveQuery(client, statsKeyB, operations.getTaskStats.queryName, statsKeyB[1]);
await settle();
subscribe = takeOne(socket, 'subscribe');
assert.equal(subscribe.payload.length, 2, 'one render mounting two queries sends one subscribe');
const stats = { total: 2, done: 1, labels: ['home'] };
subscribe.ack([
  { id: 20, version: 1, data: stats },
  { id: 20, version: 1, data: stats },
]);
stopStatsA();
await settle();
assert.deepEqual(takeEmitted(socket, 'unsubscribe'), [], 'the other key still holds the subscription');
socket.receive('update', { id: 20, version: 2, data: { ...stats, total: 3 } });
assert.equal(client.getQueryData(statsKeyB).total, 3);
stopStatsB();
await settle();
let unsubscribe = takeOne(socket, 'unsubscribe');
assert.deepEqual(unsubscribe.payload, [20]);

// One query mounted by two components: the first unmount keeps it, the second releases it.
const stopTasksAgain = live.watchLiveQuery(client, tasksKey, operations.getTasks.queryName, tasksKey[1]);
await settle();
assert.deepEqual(takeEmitted(socket, 'subscribe'), [], 'a query already subscribed is not subscribed again');
stopTasksAgain();
await settle();
assert.deepEqual(takeEmitted(socket, 'unsubscribe'), []);
stopTasks();
stopObserving();
await settle();
unsubscribe = takeOne(socket, 'unsubscribe');
assert.deepEqual(unsubscribe.payload, [10]);
socket.receive('update', { id: 10, version: 2, data: ['after the unmount'] });
assert.deepEqual(client.getQueryData(tasksKey), ['after the reconnection']);

// A query unmounted while its ack is awaited is unsubscribed as soon as the ack names its id.
const usernamesKey = core.queryKey(operations.getUsernames.route, undefined);
const stopUsernames = live.watchLiveQuery(client, usernamesKey, operations.getUsernames.queryName, usernamesKey[1]);
await settle();
subscribe = takeOne(socket, 'subscribe');
stopUsernames();
await settle();
assert.deepEqual(takeEmitted(socket, 'unsubscribe'), []);
subscribe.ack([{ id: 30, version: 1, data: ['ada'] }]);
await settle();
unsubscribe = takeOne(socket, 'unsubscribe');
assert.deepEqual(unsubscribe.payload, [30]);

stopTask();
await settle();
unsubscribe = takeOne(socket, 'unsubscribe');
assert.deepEqual(unsubscribe.payload, [11]);
assert.equal(requests.length, 0, 'no HTTP request is left unanswered');

console.log('live client: ok');
