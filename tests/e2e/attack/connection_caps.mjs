// Row "500 sockets from one address; 200 TCP connections sending half a header".
// Scenarios:
//   sockets       500 WebSocket clients from one address at once: exactly the per-address cap
//                 connects, and it stays connected; the rest are refused at once (`connect_error`)
//   half-headers  200 TCP connections each send the start of a request and nothing more: every
//                 one is closed by the server once the header timeout has passed (not refused
//                 with a 503 before it); afterwards the server answers as before
// Usage: node attack/connection_caps.mjs <server url> sockets <connections per address>
//        node attack/connection_caps.mjs <server url> half-headers <header timeout in seconds>

import assert from "node:assert/strict";
import net from "node:net";
import { connect, run, settle } from "../lib.mjs";
import { elapsedMs, figure } from "./lib.mjs";

const [url, scenario, limitArgument] = process.argv.slice(2);
const websocket = { transports: ["websocket"] };
const SOCKETS = 500;
const HALF_HEADERS = 200;

/** Opens a TCP connection, sends the start of a request and resolves when the server closes it. */
function halfHeader(headerTimeoutMs) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const received = [];
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`GET /auth/me HTTP/1.1\r\nhost: ${hostname}\r\nx-half: `);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`a half-sent request was still open after ${headerTimeoutMs + 5000} ms`));
    }, headerTimeoutMs + 5000);
    socket.on("data", (chunk) => received.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closedAfterMs: elapsedMs(started), answer: Buffer.concat(received).toString() });
    });
  });
}

const scenarios = {
  async sockets() {
    const cap = Number(limitArgument);
    const attempts = await Promise.allSettled(Array.from({ length: SOCKETS }, () => connect(url, websocket)));
    const connected = attempts.filter((attempt) => attempt.status === "fulfilled").map((attempt) => attempt.value);
    figure("sockets connected of 500 from one address", `${connected.length} (cap ${cap})`);
    assert.equal(connected.length, cap, "exactly the per-address cap was admitted");
    await settle(1000);
    assert.equal(connected.filter((socket) => socket.connected).length, cap, "the admitted sockets stay connected");
    for (const socket of connected) socket.close();
  },

  async "half-headers"() {
    const headerTimeoutMs = Number(limitArgument) * 1000;
    const closes = await Promise.all(Array.from({ length: HALF_HEADERS }, () => halfHeader(headerTimeoutMs)));
    for (const { closedAfterMs, answer } of closes) {
      assert.ok(!answer.startsWith("HTTP/1.1 503"), `a half-sent request was refused instead of timed out: ${answer}`);
      assert.ok(closedAfterMs >= headerTimeoutMs - 100, `a half-sent request was closed after ${closedAfterMs} ms, before the header timeout`);
    }
    const slowest = Math.max(...closes.map(({ closedAfterMs }) => closedAfterMs));
    figure("200 half-sent requests, the last closed after", `${slowest} ms (timeout ${headerTimeoutMs} ms)`);
    const me = await fetch(new URL("/auth/me", url));
    assert.equal(me.status, 401, "the server still answers");
  },
};

const selected = scenarios[scenario];
if (!selected) {
  console.error(`unknown scenario \`${scenario}\`; use one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
run(`connection caps: ${scenario}`, selected);
