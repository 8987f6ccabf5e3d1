// Drives the generated server of compiler/tests/fixtures/full_api after
// `appc db seed --name seed_dev_data`: the setup function's room, the middleware's route and
// layer, the seeded user and room, and Socket.IO outside the team's layers.
// Usage: node server_hooks.mjs <server url>

import assert from "node:assert/strict";
import { connect, run } from "./lib.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node server_hooks.mjs <server url>");
  process.exit(2);
}

run("full_api server hooks", async () => {
  // The middleware's route reads the database the setup function and the seed wrote to.
  const health = await fetch(new URL("/api/health", url));
  assert.equal(health.status, 200);
  assert.equal(health.headers.get("x-full-api"), "middleware", "the middleware's layer marks its own route");
  const body = await health.json();
  assert.equal(body.status, "ok");
  assert.ok(body.rooms.includes("setup-lobby"), `the setup function created its room: ${JSON.stringify(body)}`);
  assert.ok(body.rooms.includes("seeded-lobby"), `the seed created its room: ${JSON.stringify(body)}`);
  assert.deepEqual(body.users, ["ada"], "the seed created exactly one user");

  // The layer wraps the app's other HTTP routes too: the web client and auth.
  // The fixture's pages live under `client.baseDir` ("/app").
  const page = await fetch(new URL("/app/rooms/1", url));
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("x-full-api"), "middleware", "the layer wraps the web client");
  const login = await fetch(new URL("/auth/login", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "ada", password: "correct horse battery" }),
  });
  assert.equal(login.status, 200, "the seeded user logs in with the seeded password");
  assert.equal(login.headers.get("x-full-api"), "middleware", "the layer wraps the auth routes");
  const { token, user } = await login.json();
  assert.equal(user.username, "ada");

  // Socket.IO is outside the middleware: its handshake is not marked, and sockets still work.
  const polling = await fetch(new URL("/socket.io/?EIO=4&transport=polling", url));
  assert.equal(polling.status, 200);
  assert.equal(polling.headers.get("x-full-api"), null, "Socket.IO requests do not pass the team's layers");
  const client = await connect(url, { transports: ["websocket"], auth: { token, name: "Ada", tags: [] } });
  client.close();
});
