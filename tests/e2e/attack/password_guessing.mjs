// Row "60 wrong passwords in 5 s, then the right one": after the username's allowance (10 a
// minute, the signup counting as one) every attempt gets 429 `too_many_requests` with
// `Retry-After`, at once and before any password check, and so does the right password.
// Usage: node attack/password_guessing.mjs <server url>

import assert from "node:assert/strict";
import { run, signup } from "../lib.mjs";
import { elapsedMs, login } from "./lib.mjs";

const [url] = process.argv.slice(2);

/** Checks a throttled answer: 429, the error code and a Retry-After within the minute. */
function assertThrottled(response, what) {
  assert.equal(response.status, 429, `${what}: ${JSON.stringify(response.body)}`);
  assert.equal(response.body?.error?.code, "too_many_requests", what);
  const retryAfter = Number(response.headers.get("retry-after"));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${what}: Retry-After ${response.headers.get("retry-after")}`);
}

run("60 wrong passwords, then the right one", async () => {
  await signup(url, "grace", "the right password");
  const started = performance.now();
  const statuses = [];
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const response = await login(url, "grace", `wrong password ${attempt}`);
    statuses.push(response.status);
    if (attempt >= 9) assertThrottled(response, `wrong password ${attempt}`);
  }
  const took = elapsedMs(started);
  assert.deepEqual(statuses.slice(0, 9), Array(9).fill(401), `the first nine are checked: ${statuses}`);
  assert.ok(took < 10_000, `60 attempts took ${took} ms: throttled ones are answered at once`);
  assertThrottled(await login(url, "grace", "the right password"), "the right password");
});
