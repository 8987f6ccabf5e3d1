// Row "64 concurrent logins": every login succeeds, and the server's resident memory grows by
// less than 300 MB, at the peak and after (password hashing runs under a concurrency cap, in
// reused argon2 memory, instead of 19 MiB per login at once).
// Usage: node attack/concurrent_logins.mjs <server url> <server pid>

import assert from "node:assert/strict";
import { run, signup } from "../lib.mjs";
import { elapsedMs, figure, login, mebibytes, residentBytes, samplePeakResidentBytes } from "./lib.mjs";

const [url, pidArgument] = process.argv.slice(2);
const pid = Number(pidArgument);
const LOGINS = 64;
const LIMIT_BYTES = 300 * 1000 * 1000;

run("64 concurrent logins", async () => {
  await signup(url, "ada", "correct horse battery");
  const before = residentBytes(pid);
  const sampler = samplePeakResidentBytes(pid);
  const started = performance.now();
  const responses = await Promise.all(
    Array.from({ length: LOGINS }, () => login(url, "ada", "correct horse battery")),
  );
  const took = elapsedMs(started);
  const peak = sampler.stop();
  const after = residentBytes(pid);
  for (const response of responses) assert.equal(response.status, 200, JSON.stringify(response.body));

  figure("64 concurrent logins took", `${took} ms`);
  figure("RSS growth at the peak", `${mebibytes(peak - before)} MiB`);
  figure("RSS growth after", `${mebibytes(after - before)} MiB`);
  assert.ok(peak - before < LIMIT_BYTES, `RSS peaked ${mebibytes(peak - before)} MiB above the start`);
  assert.ok(after - before < LIMIT_BYTES, `RSS grew by ${mebibytes(after - before)} MiB`);
});
