// The runtime of `@appc/operations` in node, against a stubbed `fetch` that answers as the HTTP
// contract of operations says: the request each operation sends (route, body, token), what it
// makes of 200, 204 and error answers, the invalidation of cached queries by entity, the cache
// reset on login, logout and the end of a session, optimistic updates and the query client's
// retry rule.
//
// Usage: node operations_client.mjs <bundle.mjs>, where the bundle (made by compiler/tests/web.rs
// with esbuild from the operations_client fixture's generated web project) exports
// `@appc/operations` as `operations`, its core as `core` and `@appc/auth` as `auth`.

import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';

const storage = new Map();
globalThis.window = {
  localStorage: {
    getItem: (key) => (storage.has(key) ? storage.get(key) : null),
    setItem: (key, value) => storage.set(key, String(value)),
    removeItem: (key) => storage.delete(key),
  },
};

/** The requests the client sent, and the answers to give, in order. */
const requests = [];
const answers = [];
globalThis.fetch = async (url, init = {}) => {
  const headers = new Headers(init.headers);
  requests.push({ url: String(url), method: init.method, headers, body: init.body });
  const answer = answers.shift();
  if (answer === undefined) {
    throw new Error(`no answer prepared for ${url}`);
  }
  if (answer instanceof Error) {
    throw answer;
  }
  return answer;
};

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const bundle = await import(pathToFileURL(process.argv[2]).href);
const { operations, core, auth } = bundle;

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('the call should have failed');
}

// A query without input: POST to its route, no body, no token while nobody is logged in.
answers.push(json(200, [{ id: 1, description: 'milk', isDone: false, dueAt: null, userId: 1 }]));
const tasks = await operations.getTasks();
assert.deepEqual(tasks.map((task) => task.description), ['milk']);
let request = requests.pop();
assert.equal(request.url, '/operations/get-tasks');
assert.equal(request.method, 'POST');
assert.equal(request.body, undefined);
assert.equal(request.headers.get('authorization'), null);
assert.equal(request.headers.get('content-type'), null);

// Logged in, an action with input: the input as JSON and the stored token as a bearer token.
answers.push(json(200, { token: 'token-of-ada', user: { id: 1, username: 'ada' } }));
await auth.login({ username: 'ada', password: 'correct horse battery' });
requests.pop();
answers.push(json(200, { id: 2, description: 'bread', isDone: false, dueAt: null, userId: 1 }));
const created = await operations.createTask({ description: 'bread', tags: ['home', 'food'] });
assert.equal(created.id, 2);
request = requests.pop();
assert.equal(request.url, '/operations/create-task');
assert.equal(request.headers.get('authorization'), 'Bearer token-of-ada');
assert.equal(request.headers.get('content-type'), 'application/json');
assert.deepEqual(JSON.parse(request.body), { description: 'bread', tags: ['home', 'food'] });

// A scalar and a null input travel as JSON too; an optional output may be null.
answers.push(json(200, null));
assert.equal(await operations.getTask(7), null);
assert.equal(requests.pop().body, '7');
answers.push(json(200, { total: 0, done: 0, labels: [null, 'home'] }));
assert.deepEqual((await operations.getTaskStats(null)).labels, [null, 'home']);
assert.equal(requests.pop().body, 'null');
// An optional input may be left out: no body, which the server takes for none.
answers.push(json(200, { total: 0, done: 0, labels: [] }));
assert.equal((await operations.getTaskStats()).total, 0);
request = requests.pop();
assert.equal(request.body, undefined);
assert.equal(request.headers.get('content-type'), null);

// No output: 204 without a body resolves to undefined.
answers.push(new Response(null, { status: 204 }));
assert.equal(await operations.toggleTask(2), undefined);
assert.equal(requests.pop().url, '/operations/toggle-task');

// The contract's error body becomes an OperationError with its status, code, message and field.
answers.push(json(400, { error: { code: 'invalid_input', message: 'expected String, found Int 3', field: 'tags.1' } }));
let error = await rejection(operations.createTask({ description: 'x', tags: ['a', 'b'] }));
assert.ok(error instanceof operations.OperationError);
assert.ok(error instanceof Error);
assert.equal(error.name, 'OperationError');
assert.deepEqual(
  [error.status, error.code, error.message, error.field],
  [400, 'invalid_input', 'expected String, found Int 3', 'tags.1'],
);
requests.pop();
answers.push(json(401, { error: { code: 'unauthorized', message: 'log in to do this' } }));
error = await rejection(operations.clearDoneTasks());
assert.deepEqual([error.status, error.code, error.field], [401, 'unauthorized', null]);
requests.pop();
answers.push(json(409, { error: { code: 'task_locked', message: 'someone else is editing it' } }));
error = await rejection(operations.toggleTask(2));
assert.deepEqual([error.status, error.code, error.message], [409, 'task_locked', 'someone else is editing it']);
requests.pop();

// Answers outside the contract: an error page, a success that is not JSON, no answer at all.
answers.push(new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
error = await rejection(operations.getTasks());
assert.deepEqual([error.status, error.code, error.message], [502, 'http_error', 'the server answered 502 Bad Gateway']);
requests.pop();
answers.push(new Response('<!doctype html>', { status: 200 }));
error = await rejection(operations.getTasks());
assert.deepEqual([error.status, error.code], [200, 'invalid_response']);
requests.pop();
answers.push(new TypeError('fetch failed'));
error = await rejection(operations.getUsernames());
assert.ok(error instanceof operations.OperationError);
assert.deepEqual([error.status, error.code], [0, 'network_error']);
assert.match(error.message, /cannot reach the server: TypeError: fetch failed/);
requests.pop();

// Cache keys: the route alone without input (or with `null`, the same input to the server), the
// route and the input with one.
assert.deepEqual(core.queryKey('/operations/get-tasks', undefined), ['/operations/get-tasks']);
assert.deepEqual(core.queryKey('/operations/get-task', 7), ['/operations/get-task', 7]);
assert.deepEqual(core.queryKey('/operations/get-task-stats', null), ['/operations/get-task-stats']);

// An action invalidates the cached queries that share one of its entities, and no other.
const client = core.getQueryClient();
const tasksKey = ['/operations/get-tasks'];
const taskKey = ['/operations/get-task', 7];
const usernamesKey = ['/operations/get-usernames'];
const foreignKey = ['team-key'];
for (const key of [tasksKey, taskKey, usernamesKey, foreignKey]) {
  client.setQueryData(key, ['cached']);
}
const invalidated = () =>
  [tasksKey, taskKey, usernamesKey, foreignKey].map((key) => client.getQueryState(key).isInvalidated);
answers.push(new Response(null, { status: 204 }));
await operations.clearDoneTasks();
requests.pop();
assert.deepEqual(invalidated(), [true, true, false, false]);
// Even when it fails (it may have changed some data before failing).
for (const key of [tasksKey, taskKey]) {
  client.setQueryData(key, ['cached']);
}
answers.push(json(500, { error: { code: 'internal', message: 'internal error' } }));
await rejection(operations.toggleTask(1));
requests.pop();
assert.deepEqual(invalidated(), [true, true, false, false]);
// An action without entities invalidates nothing.
for (const key of [tasksKey, taskKey]) {
  client.setQueryData(key, ['cached']);
}
answers.push(json(200, 'pong'));
assert.equal(await operations.ping(), 'pong');
requests.pop();
assert.deepEqual(invalidated(), [false, false, false, false]);

// Optimistic updates replace the cached answers they name, and can be put back.
const consoleErrors = [];
const consoleError = console.error;
console.error = (...args) => consoleErrors.push(args.map(String).join(' '));
client.setQueryData(tasksKey, [{ id: 1, description: 'milk' }]);
const snapshot = await core.applyOptimisticUpdates(
  client,
  [
    {
      getQuerySpecifier: () => [operations.getTasks],
      updateQuery: (item, old) => [...old, { id: -1, description: item.description }],
    },
    { getQuerySpecifier: (item) => [operations.getTask, item.id], updateQuery: (item) => item },
    {
      getQuerySpecifier: () => [operations.getUsernames],
      updateQuery: () => {
        throw new Error('a bug in the team code');
      },
    },
  ],
  { id: 9, description: 'eggs' },
);
assert.deepEqual(client.getQueryData(tasksKey).map((task) => task.description), ['milk', 'eggs']);
assert.deepEqual(client.getQueryData(['/operations/get-task', 9]), { id: 9, description: 'eggs' });
assert.deepEqual(client.getQueryData(usernamesKey), ['cached'], 'an update that throws is skipped');
assert.equal(snapshot.length, 2);
console.error = consoleError;
assert.equal(consoleErrors.length, 1);
assert.match(consoleErrors[0], /optimistic update failed and was skipped.*a bug in the team code/);
core.restoreOptimisticSnapshot(client, snapshot);
assert.deepEqual(client.getQueryData(tasksKey), [{ id: 1, description: 'milk' }]);
assert.equal(client.getQueryData(['/operations/get-task', 9]), undefined);

// Logging out, and logging in again, drops every cached answer.
auth.logout();
assert.equal(client.getQueryData(tasksKey), undefined);
assert.equal(client.getQueryData(foreignKey), undefined);
client.setQueryData(tasksKey, ['of nobody']);
answers.push(json(200, { token: 'token-of-grace', user: { id: 2, username: 'grace' } }));
await auth.login({ username: 'grace', password: 'correct horse battery' });
requests.pop();
assert.equal(client.getQueryData(tasksKey), undefined);
answers.push(new Response(null, { status: 204 }));
await operations.clearDoneTasks();
assert.equal(requests.pop().headers.get('authorization'), 'Bearer token-of-grace');

// The server ending the session (a socket told `token_expired`, or a handshake refused for an
// expired token) logs out as `logout` does: the token is gone and so is every cached answer.
client.setQueryData(tasksKey, ['of grace']);
auth.endSession('token_expired');
assert.equal(auth.getAuthToken(), null);
assert.equal(client.getQueryData(tasksKey), undefined);
// The runtime's refusals of a token, as a socket's `connect_error` or a 401's message, name the
// reasons a page can show; other refusals name none.
assert.equal(
  auth.sessionEndOfRefusal('unauthorized: the token has expired; log in again to get a new one'),
  'token_expired',
);
assert.equal(auth.sessionEndOfRefusal('the token has expired; log in again to get a new one'), 'token_expired');
assert.equal(
  auth.sessionEndOfRefusal("unauthorized: the token's user no longer exists; sign up or log in again"),
  'user_deleted',
);
assert.equal(
  auth.sessionEndOfRefusal('unauthorized: the token signature is invalid; log in again to get a new one'),
  null,
);
assert.equal(auth.sessionEndOfRefusal('unauthorized: no token was sent; log in and send it'), null);

// Queries retry only what a retry can fix; actions never retry.
const { queries, mutations } = client.getDefaultOptions();
assert.equal(queries.retry(0, new operations.OperationError(0, 'network_error', 'down')), true);
assert.equal(queries.retry(1, new operations.OperationError(503, 'http_error', 'busy')), true);
assert.equal(queries.retry(2, new operations.OperationError(503, 'http_error', 'busy')), false);
assert.equal(queries.retry(0, new operations.OperationError(404, 'not_found', 'gone')), false);
assert.equal(queries.retry(0, new operations.OperationError(429, 'rate_limited', 'slow down')), false);
assert.equal(mutations.retry, false);
assert.throws(() => operations.configureQueryClient({}), /after the query client was created/);

assert.equal(requests.length, 0, 'every request was checked');
assert.equal(answers.length, 0, 'every answer was used');
console.log('operations client: ok');
