// Row "a token that expires 4 s after connect; a user deleted while connected": the socket
// speaks as its user until then, and is then told why (`error` event `token_expired` or
// `user_deleted`) and disconnected by the server, as HTTP would refuse the token from then on.
// The token is minted here with the server's JWT secret, as the server would sign it but with a
// 4 s lifetime. The user is deleted by the test (attack.rs) when this script prints
// `delete user <id>`; it answers `deleted` on stdin.
// Usage: node attack/session_end.mjs <server url> <JWT secret>

import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { connect, nextEvent, run, signup } from "../lib.mjs";
import { collectErrors, disconnection, elapsedMs, figure, mintToken } from "./lib.mjs";

const [url, jwtSecret] = process.argv.slice(2);
const websocket = { transports: ["websocket"] };
const LIFETIME_SECONDS = 4;
const testInput = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Connects with `token` and checks that a message from the socket carries `username`. */
async function connectAs(token, username, witness) {
  const socket = await connect(url, { ...websocket, auth: { token } }, ["chatHistory"]);
  await socket.caught.chatHistory;
  const arrived = nextEvent(witness, "chatMessage");
  socket.emit("chatMessage", `${username} is here`);
  const message = await arrived;
  assert.equal(message.username, username, "the socket speaks as its user");
  return socket;
}

/** Waits for the server to end `socket` with an `error` event `code`, then a disconnect. */
async function assertEndedWith(socket, code, errors, closed) {
  assert.equal(await closed, "io server disconnect", "the server disconnected the socket");
  assert.deepEqual(errors.map((error) => error.code), [code], "the client was told why");
}

run("sockets end when their token expires or their user is deleted", async () => {
  const witness = await connect(url, websocket, ["chatHistory"]);
  await witness.caught.chatHistory;

  const { user: eve } = await signup(url, "eve", "correct horse battery");
  const issuedAt = Math.floor(Date.now() / 1000);
  const shortLived = mintToken(jwtSecret, { sub: String(eve.id), iat: issuedAt, exp: issuedAt + LIFETIME_SECONDS });
  const expiring = await connectAs(shortLived, "eve", witness);
  const expiringErrors = collectErrors(expiring);
  const expired = disconnection(expiring, (LIFETIME_SECONDS + 5) * 1000);
  await assertEndedWith(expiring, "token_expired", expiringErrors, expired);
  const endedAfterMs = Date.now() - issuedAt * 1000;
  figure("socket with a 4 s token disconnected after", `${endedAfterMs} ms`);
  assert.ok(endedAfterMs >= LIFETIME_SECONDS * 1000 - 1000, `disconnected ${endedAfterMs} ms after issue, before the expiry`);

  const { token, user: mallory } = await signup(url, "mallory", "correct horse battery");
  const doomed = await connectAs(token, "mallory", witness);
  const doomedErrors = collectErrors(doomed);
  const deleted = disconnection(doomed, 10_000);
  console.log(`delete user ${mallory.id}`);
  const answer = await testInput.next();
  assert.equal(answer.value, "deleted", "the test deleted the user");
  const deletedAt = performance.now();
  await assertEndedWith(doomed, "user_deleted", doomedErrors, deleted);
  figure("socket of a deleted user disconnected after", `${elapsedMs(deletedAt)} ms`);

  witness.close();
});
