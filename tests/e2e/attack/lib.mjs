// Helpers shared by the attack scripts (tests/e2e/attack/*.mjs, run by compiler/tests/attack.rs):
// the server's memory read from /proc, latency percentiles, waiting for a socket's disconnect,
// HS256 tokens minted with the test's JWT secret, and figures printed for BENCHMARKS.md.

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

/** The resident memory of process `pid` in bytes (`VmRSS` of /proc/<pid>/status). */
export function residentBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Samples the resident memory of `pid` every `everyMs` until `stop()` is called, which returns
 * the highest value seen (sampled once more at the stop, so a short run still has a figure).
 */
export function samplePeakResidentBytes(pid, everyMs = 10) {
  let peak = residentBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, residentBytes(pid));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, residentBytes(pid));
    },
  };
}

/** Bytes as mebibytes with one decimal, for messages and figures. */
export function mebibytes(bytes) {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** The `fraction` percentile (0.99 for p99) of `values`, by the nearest-rank method. */
export function percentile(values, fraction) {
  if (values.length === 0) throw new Error("no values to take a percentile of");
  const sorted = [...values].sort((left, right) => left - right);
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Prints a measured figure on its own line, `figure: <name>: <value>`, for the test's output. */
export function figure(name, value) {
  console.log(`figure: ${name}: ${value}`);
}

/** A promise of the reason of `socket`'s next `disconnect`, rejected after `waitMs`. */
export function disconnection(socket, waitMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket was still connected after ${waitMs} ms`)), waitMs);
    socket.once("disconnect", (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Every `error` event `socket` receives from now on, by code. */
export function collectErrors(socket) {
  const errors = [];
  socket.on("error", (payload) => errors.push(payload?.error ?? payload));
  return errors;
}

/** An HS256 JSON Web Token for `claims`, signed with `secret`, as the server issues them. */
export function mintToken(secret, claims) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const signingInput = `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}`;
  const signature = createHmac("sha256", secret).update(signingInput).digest("base64url");
  return `${signingInput}.${signature}`;
}

/** `POST /auth/login`: the response's status, headers and body, whatever the status. */
export async function login(url, username, password) {
  const response = await fetch(new URL("/auth/login", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => null) };
}

/** Milliseconds since `started` (a `performance.now()` value), rounded. */
export function elapsedMs(started) {
  return Math.round(performance.now() - started);
}
