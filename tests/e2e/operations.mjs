// Drives the generated server of compiler/tests/fixtures/operations over HTTP: every status of
// the operations' contract (200, 204, 400 naming the field, 401, the team's 403/404/409, 405,
// 413, 415, 500 without its detail), the typed user, an action that emits to the caller's
// socket, and apis with a path parameter, a query string, a header, `auth: true`, their own
// middleware and their namespace's. The server runs with APPC_REQUEST_BODY_BYTES=4096.
// Usage: node operations.mjs <server url>

import assert from "node:assert/strict";
import { connect, nextEvent, run, signup } from "./lib.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node operations.mjs <server url>");
  process.exit(2);
}

/** The body limit the test server was started with. */
const BODY_LIMIT = 4096;

/** `POST /operations/<route>` with `body` as it is (a string, or undefined for none). */
async function post(route, { body, token, contentType = "application/json", method = "POST" } = {}) {
  const headers = {};
  if (contentType && body !== undefined) headers["content-type"] = contentType;
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(new URL(`/operations/${route}`, url), { method, headers, body });
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** Calls an operation with `input` as JSON. */
function call(route, input, token) {
  return post(route, { body: input === undefined ? undefined : JSON.stringify(input), token });
}

/** Asserts an error answer: its status, code, and (when given) field and message. */
function assertError(answer, status, code, { field, message } = {}) {
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text}`);
  assert.equal(answer.headers.get("content-type"), "application/json");
  assert.equal(answer.json.error.code, code, answer.text);
  assert.equal(typeof answer.json.error.message, "string");
  if (field !== undefined) assert.equal(answer.json.error.field, field, answer.text);
  if (message !== undefined) assert.equal(answer.json.error.message, message, answer.text);
}

run("operations over HTTP", async () => {
  const ada = await signup(url, "ada", "correct horse battery");
  const bob = await signup(url, "bob", "correct horse battery");

  // 200 with output; the optional user is the caller's typed user, or none.
  let answer = await call("greeting", undefined);
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json, "hello stranger");
  answer = await call("greeting", {}, ada.token);
  assert.equal(answer.json, "hello ada");
  answer = await post("greeting", { body: "null", token: bob.token });
  assert.equal(answer.json, "hello bob");
  // A bad token on a route without `auth: true` is an anonymous caller.
  answer = await call("greeting", undefined, "not-a-token");
  assert.equal(answer.json, "hello stranger");
  // An operation without input refuses one.
  assertError(await call("greeting", [1]), 400, "invalid_input", {
    message: "`greeting` takes no input, found a list (1 item); send an empty body, `{}` or `null`",
  });

  // An optional input may be left out: an empty body is none, like `null`.
  const [all, withNull, done, undone] = [
    await call("count-tasks", undefined, ada.token),
    await call("count-tasks", null, ada.token),
    await call("count-tasks", true, ada.token),
    await call("count-tasks", false, ada.token),
  ];
  for (const answer of [all, withNull, done, undone]) assert.equal(answer.status, 200, answer.text);
  assert.equal(all.json, withNull.json);
  assert.equal(all.json, done.json + undone.json);
  assertError(await call("count-tasks", "yes", ada.token), 400, "invalid_input");

  // 401 for `auth: true` without a token and with a bad one.
  assertError(await call("get-tasks", undefined), 401, "unauthorized");
  assertError(await call("get-tasks", undefined, "not-a-token"), 401, "unauthorized");
  assertError(await call("create-task", { description: "x", tags: [] }), 401, "unauthorized");

  // An action whose user is the typed `User`, which tells the caller's socket.
  const socket = await connect(url, { transports: ["websocket"], auth: { token: ada.token } });
  const created = nextEvent(socket, "taskCreated");
  answer = await call("create-task", { description: "write the tests", tags: ["work"] }, ada.token);
  assert.equal(answer.status, 200, answer.text);
  const task = answer.json;
  assert.equal(task.description, "write the tests");
  assert.equal(task.userId, ada.user.id, "the task belongs to the typed user of the context");
  assert.equal(task.isDone, false);
  assert.deepEqual(await created, task, "the action's emit reached the caller's socket");
  socket.close();

  // 200 with a list; each user sees only their own tasks.
  answer = await call("get-tasks", undefined, ada.token);
  assert.deepEqual(answer.json, [task]);
  answer = await call("get-tasks", null, bob.token);
  assert.deepEqual(answer.json, []);

  // 400 naming the field, in the spec's type names.
  assertError(await call("create-task", { description: "x", tags: ["a", 2] }, ada.token), 400, "invalid_input", {
    field: "tags.1",
    message: "tags[1]: expected String, found Int 2",
  });
  assertError(await call("create-task", { tags: [] }, ada.token), 400, "invalid_input", {
    field: "description",
    message: "missing field description, expected String",
  });
  assertError(await call("create-task", { description: "y".repeat(201), tags: [] }, ada.token), 400, "invalid_input", {
    field: "description",
    message: "description: expected at most 200 characters, found 201",
  });
  assertError(await call("create-task", "a task", ada.token), 400, "invalid_input", {
    message: 'expected NewTaskInput, found String "a task"',
  });
  assertError(await call("create-task", undefined, ada.token), 400, "invalid_input", {
    message: "missing input, expected NewTaskInput; send it as the JSON body",
  });
  // The team's own 400 naming a field.
  assertError(await call("create-task", { description: "   ", tags: [] }, ada.token), 400, "invalid_input", {
    field: "description",
  });
  // 400 for a body that is not JSON.
  const malformed = await post("create-task", { body: '{"description": "x", ', token: ada.token });
  assertError(malformed, 400, "invalid_input");
  assert.match(malformed.json.error.message, /^the body is not valid JSON: /);

  // The team's 409, 404 and 403; 204 without output.
  assertError(await call("create-task", { description: "write the tests", tags: [] }, ada.token), 409, "conflict");
  assertError(await call("set-task-done", { id: 999999, isDone: true }, ada.token), 404, "not_found");
  assertError(await call("set-task-done", { id: task.id, isDone: true }, bob.token), 403, "forbidden", {
    message: "this task belongs to another user",
  });
  answer = await call("set-task-done", { id: task.id, isDone: true }, ada.token);
  assert.equal(answer.status, 204, answer.text);
  assert.equal(answer.text, "");
  answer = await call("get-tasks", undefined, ada.token);
  assert.equal(answer.json[0].isDone, true);

  // 500 without the cause in the body (the Rust test finds it in the server's log).
  answer = await call("broken-report", undefined);
  assertError(answer, 500, "internal");
  assert.doesNotMatch(answer.text, /secret-detail/);

  // Hostile bodies: over the limit, of another content type, nested deeper than any spec type.
  // (A body streamed without a length is cut off at the limit too: the runtime's unit test
  // `a_body_over_the_limit_is_refused_whatever_its_declared_length` covers it, since a client
  // still uploading sees the connection close under it.)
  const oversized = JSON.stringify({ description: "z".repeat(BODY_LIMIT), tags: [] });
  assertError(await post("create-task", { body: oversized, token: ada.token }), 413, "payload_too_large");
  assertError(
    await post("create-task", { body: JSON.stringify({ description: "x", tags: [] }), token: ada.token, contentType: "text/plain" }),
    415,
    "unsupported_media_type",
  );
  const nested = `${"[".repeat(200)}${"]".repeat(200)}`;
  const deep = await post("create-task", { body: nested, token: ada.token });
  assertError(deep, 400, "invalid_input");
  assert.match(deep.json.error.message, /recursion limit/);
  // The server is still fine.
  assert.equal((await call("get-tasks", undefined, ada.token)).status, 200);

  // Another method, another path.
  assertError(await post("get-tasks", { method: "GET", token: ada.token }), 405, "method_not_allowed");
  assertError(await call("no-such-thing", {}), 404, "not_found");

  // An api with a path parameter, a query string and a header, through its own middleware and
  // its namespace's.
  let response = await fetch(new URL("/api/echo/hi%20there?times=2&x=1", url), { headers: { "x-greeting": "hello" } });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { echo: "hi there hi there", query: "times=2&x=1", greeting: "hello" });
  assert.equal(response.headers.get("x-echo-middleware"), "applied");
  assert.equal(response.headers.get("x-api-namespace"), "applied");
  response = await fetch(new URL("/api/echo/hi?times=many", url));
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error.field, "times");
  assert.equal(response.headers.get("x-api-namespace"), "applied", "an error answer goes through the middleware too");

  // An api with `auth: true`; the namespace's middleware only.
  response = await fetch(new URL("/api/tasks/count", url));
  assert.equal(response.status, 401);
  assert.equal((await response.json()).error.code, "unauthorized");
  response = await fetch(new URL("/api/tasks/count", url), { headers: { authorization: `Bearer ${ada.token}` } });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { username: "ada", count: 1 });
  assert.equal(response.headers.get("x-api-namespace"), "applied");
  assert.equal(response.headers.get("x-echo-middleware"), null, "an api's own middleware is its alone");

  // `ALL` answers every method; outside `/api` no namespace middleware applies.
  for (const method of ["GET", "POST", "PUT", "DELETE"]) {
    const body = method === "GET" ? undefined : "payload";
    response = await fetch(new URL("/webhooks/github", url), { method, body, headers: { authorization: `Bearer ${bob.token}` } });
    assert.equal(response.status, 200, method);
    assert.deepEqual(await response.json(), { source: "github", method, bytes: body ? 7 : 0, user: "bob" });
    assert.equal(response.headers.get("x-api-namespace"), null);
  }
  response = await fetch(new URL("/webhooks/github", url), { method: "POST", body: "w".repeat(BODY_LIMIT + 1) });
  assert.equal(response.status, 413, "an api's body has the same limit");
});
