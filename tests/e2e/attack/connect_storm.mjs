// Row "100 anonymous connects at once" (against a chat whose Message table the test filled with
// tens of thousands of rows): every connection gets its history, and meanwhile a real login and
// `/auth/me` answer quickly, because the history query runs on an index and auth does not starve
// behind socket work. After the burst, 100 connects per second for three seconds, with
// `/auth/me` asked every 25 ms; its p99 must stay under a second.
// Usage: node attack/connect_storm.mjs <server url>

import assert from "node:assert/strict";
import { connect, run, signup } from "../lib.mjs";
import { elapsedMs, figure, login, percentile } from "./lib.mjs";

const [url] = process.argv.slice(2);
const websocket = { transports: ["websocket"] };
const BURST = 100;
const PER_SECOND = 100;
const SECONDS = 3;
const HISTORY_LENGTH = 50;

/** Connects an anonymous client, waits for its history, closes it; resolves with the time taken. */
async function connectForHistory() {
  const started = performance.now();
  const socket = await connect(url, websocket, ["chatHistory"]);
  try {
    const history = await socket.caught.chatHistory;
    assert.equal(history.length, HISTORY_LENGTH, "a new client gets the latest 50 messages");
    return elapsedMs(started);
  } finally {
    socket.close();
  }
}

/** `GET /auth/me` with `token` every `everyMs` until `stopped()`; resolves with the latencies. */
async function probeMe(token, everyMs, stopped) {
  const latencies = [];
  while (!stopped()) {
    const started = performance.now();
    const response = await fetch(new URL("/auth/me", url), { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    assert.equal(response.status, 200, `/auth/me answered ${response.status} during the storm`);
    const took = elapsedMs(started);
    latencies.push(took);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - took)));
  }
  return latencies;
}

run("100 anonymous connects at once, then 100 per second", async () => {
  await signup(url, "carol", "correct horse battery");

  let stormOver = false;
  const connects = [];
  for (let index = 0; index < BURST; index += 1) connects.push(connectForHistory());
  const loginStarted = performance.now();
  const loggedIn = await login(url, "carol", "correct horse battery");
  const loginMs = elapsedMs(loginStarted);
  assert.equal(loggedIn.status, 200, JSON.stringify(loggedIn.body));
  const probes = probeMe(loggedIn.body.token, 25, () => stormOver);

  for (let tick = 0; tick < SECONDS * 10; tick += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let index = 0; index < PER_SECOND / 10; index += 1) connects.push(connectForHistory());
  }
  const historyLatencies = await Promise.all(connects);
  stormOver = true;
  const meLatencies = await probes;

  figure("login during the burst of 100 connects", `${loginMs} ms`);
  figure("connect to history, p50 / p99 / max", `${percentile(historyLatencies, 0.5)} / ${percentile(historyLatencies, 0.99)} / ${Math.max(...historyLatencies)} ms over ${historyLatencies.length} connects`);
  figure("/auth/me during 100 connects per second, p50 / p99 / max", `${percentile(meLatencies, 0.5)} / ${percentile(meLatencies, 0.99)} / ${Math.max(...meLatencies)} ms over ${meLatencies.length} requests`);
  assert.ok(loginMs < 2000, `the login during the burst took ${loginMs} ms`);
  assert.ok(percentile(meLatencies, 0.99) < 1000, `/auth/me p99 was ${percentile(meLatencies, 0.99)} ms`);
});
