// Drives compiler/tests/fixtures/presence (`presence: true` on the root webSocket) with the real
// socket.io-client.
// Usage: node presence.mjs <server url> <scenario> <websocket|polling> [scenario arguments]
// Scenarios:
//   one-process    two tabs of one user are one entry with two connections; an anonymous socket
//                  is an entry of its own, under a random key; rooms have their own lists; joins, updates, leaves and
//                  the server's own list (`socket.presence(room)`) agree
//   cross-process <second server url> <first server pid>
//                  two processes sharing Redis and PostgreSQL list the same entries (a user's tabs
//                  on both processes are one entry) and hear each other's joins; after the first
//                  process is killed (SIGKILL), the second announces its sockets' leaves and no
//                  longer lists them (the heartbeat's 15 s TTL, then a sweep)

import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { WAIT_MS, run, settle, signup, transportsFor } from "./lib.mjs";

const [url, scenario, transport, ...rest] = process.argv.slice(2);
if (!url || !scenario || !transport) {
  console.error("usage: node presence.mjs <server url> <scenario> <websocket|polling> [arguments]");
  process.exit(2);
}
const transports = transportsFor(transport);

/** Connects a client that records every `presence` event from before its connection on, so the
 * list sent on connect is never missed (`socket.presenceEvents`). */
async function connectRecording(serverUrl, auth = {}) {
  const socket = io(serverUrl, { reconnection: false, forceNew: true, timeout: WAIT_MS, autoConnect: false, transports, auth });
  socket.presenceEvents = [];
  socket.on("presence", (event) => socket.presenceEvents.push(event));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${serverUrl} within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.connect();
  });
  return socket;
}

/** Waits until `socket` has received a `presence` event matching `predicate`; returns it. */
async function presenceEvent(socket, description, predicate, waitMs = WAIT_MS) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = socket.presenceEvents.find(predicate);
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(`no presence event ${description} within ${waitMs} ms; got ${JSON.stringify(socket.presenceEvents)}`);
    }
    await settle(20);
  }
}

/** `[key, connections]` pairs of a list, for comparisons. */
function summary(entries) {
  return entries.map((entry) => [entry.key, entry.connections]);
}

function sorted(pairs) {
  return [...pairs].sort((left, right) => (left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0));
}

function listPresence(socket, room) {
  return socket.timeout(WAIT_MS).emitWithAck("listPresence", room);
}

const isList = (room) => (event) => event.kind === "list" && event.room === room;

const scenarios = {
  async "one-process"() {
    const username = `ada${transport}`;
    const { token, user } = await signup(url, username, "correct horse battery");
    const adaKey = `user:${user.id}`;

    const firstTab = await connectRecording(url, { token });
    const firstList = await presenceEvent(firstTab, "list of the namespace", isList(null));
    assert.deepEqual(summary(firstList.entries), [[adaKey, 1]]);
    assert.equal(firstList.ownKey, adaKey);
    assert.equal(firstList.entries[0].username, username);
    assert.equal(firstList.entries[0].userId, user.id);
    // The first tab also hears its own arrival.
    await presenceEvent(firstTab, "join of ada", (event) => event.kind === "join" && event.entry.key === adaKey);

    // A second tab of the same user: one entry, two connections.
    const secondTab = await connectRecording(url, { token });
    const secondList = await presenceEvent(secondTab, "list of the namespace", isList(null));
    assert.deepEqual(summary(secondList.entries), [[adaKey, 2]]);
    const update = await presenceEvent(firstTab, "update of ada to 2", (event) => event.kind === "update" && event.entry.connections === 2);
    assert.equal(update.room, null);

    // An anonymous socket is an entry of its own, under a random key: never its socket id,
    // which over long-polling is the session id that reads its packets.
    const guest = await connectRecording(url);
    const guestList = await presenceEvent(guest, "list of the namespace", isList(null));
    const guestKey = guestList.ownKey;
    assert.match(guestKey, /^socket:[0-9a-f]{16}$/);
    assert.ok(!guestKey.includes(guest.id), "the socket id stays private");
    assert.deepEqual(sorted(summary(guestList.entries)), sorted([[adaKey, 2], [guestKey, 1]]));
    const guestJoin = await presenceEvent(firstTab, "join of the guest", (event) => event.kind === "join" && event.entry.key === guestKey);
    assert.equal(guestJoin.entry.userId, null);
    assert.equal(guestJoin.entry.username, null);

    // Rooms: the guest joins the lobby first, then ada's first tab.
    guest.emit("joinRoom", "lobby");
    const lobbyForGuest = await presenceEvent(guest, "list of the lobby", isList("lobby"));
    assert.deepEqual(summary(lobbyForGuest.entries), [[guestKey, 1]]);
    firstTab.emit("joinRoom", "lobby");
    const lobbyForAda = await presenceEvent(firstTab, "list of the lobby", isList("lobby"));
    assert.deepEqual(sorted(summary(lobbyForAda.entries)), sorted([[adaKey, 1], [guestKey, 1]]));
    await presenceEvent(guest, "ada's join of the lobby", (event) => event.kind === "join" && event.room === "lobby" && event.entry.key === adaKey);
    // The second tab is not in the lobby: it hears nothing of it.
    assert.equal(secondTab.presenceEvents.some((event) => event.room === "lobby"), false);

    // The server's own lists agree.
    assert.deepEqual(sorted((await listPresence(secondTab, "lobby")).map((line) => [line.key, line.connections])), sorted([[adaKey, 1], [guestKey, 1]]));
    assert.deepEqual(sorted((await listPresence(secondTab, "")).map((line) => [line.key, line.connections])), sorted([[adaKey, 2], [guestKey, 1]]));

    // Leaving the lobby, closing a tab, disconnecting.
    firstTab.emit("leaveRoom", "lobby");
    await presenceEvent(guest, "ada's leave of the lobby", (event) => event.kind === "leave" && event.room === "lobby" && event.entry.key === adaKey);
    secondTab.close();
    const oneTabLeft = await presenceEvent(guest, "update of ada to 1", (event) => event.kind === "update" && event.room === null && event.entry.connections === 1);
    assert.equal(oneTabLeft.entry.key, adaKey);
    guest.close();
    const guestLeft = await presenceEvent(firstTab, "leave of the guest", (event) => event.kind === "leave" && event.entry.key === guestKey);
    assert.equal(guestLeft.entry.connections, 0);
    assert.deepEqual(summary(await listPresence(firstTab, "lobby")), []);
    assert.deepEqual((await listPresence(firstTab, "")).map((line) => [line.key, line.connections]), [[adaKey, 1]]);
    firstTab.close();
  },

  async "cross-process"() {
    const [secondUrl, firstPid] = rest;
    assert.ok(secondUrl && firstPid, "pass the second server's url and the first server's pid");
    // Both processes serve one PostgreSQL database: a user signed up on one logs in on both.
    const username = `grace${Date.now()}`;
    const { token, user } = await signup(url, username, "correct horse battery");
    const graceKey = `user:${user.id}`;

    const graceOnFirst = await connectRecording(url, { token });
    await presenceEvent(graceOnFirst, "list of the namespace", isList(null));
    const guestOnFirst = await connectRecording(url);
    const firstGuestKey = (await presenceEvent(guestOnFirst, "list of the namespace", isList(null))).ownKey;

    // Grace's second tab is served by the other process: still one entry, now with two
    // connections, and the first process's sockets hear it through the Redis adapter.
    const graceOnSecond = await connectRecording(secondUrl, { token });
    const secondList = await presenceEvent(graceOnSecond, "list of the namespace", isList(null));
    const guestOnSecond = await connectRecording(secondUrl);
    const secondGuestKey = (await presenceEvent(guestOnSecond, "list of the namespace", isList(null))).ownKey;
    // The Redis may hold another run's processes for their TTL: only this run's entries count.
    const ours = (entries) =>
      sorted(summary(entries).filter(([key]) => [graceKey, firstGuestKey, secondGuestKey].includes(key)));
    assert.deepEqual(ours(secondList.entries), sorted([[graceKey, 2], [firstGuestKey, 1]]), "the second process lists the first one's sockets");
    await presenceEvent(graceOnFirst, "grace's update to 2 from the other process", (event) => event.kind === "update" && event.entry.key === graceKey && event.entry.connections === 2);
    await presenceEvent(guestOnFirst, "the second guest's join from the other process", (event) => event.kind === "join" && event.entry.key === secondGuestKey);

    // Each process answers with the same list, read from Redis.
    const everyone = sorted([[graceKey, 2], [firstGuestKey, 1], [secondGuestKey, 1]]);
    const fromFirst = await listPresence(graceOnFirst, "");
    const fromSecond = await listPresence(graceOnSecond, "");
    assert.deepEqual(ours(fromFirst), everyone);
    assert.deepEqual(sorted(summary(fromFirst)), sorted(summary(fromSecond)));

    // The first process dies without a word: no disconnection reaches its store. Its guest
    // leaves every list and grace keeps her other tab, within the heartbeat's 15 s TTL and the
    // second process's next sweep (every 5 s).
    process.kill(Number(firstPid), "SIGKILL");
    const killedAt = Date.now();
    await presenceEvent(guestOnSecond, "leave of the killed process's guest", (event) => event.kind === "leave" && event.entry.key === firstGuestKey, 25_000);
    const seconds = (Date.now() - killedAt) / 1000;
    assert.ok(seconds <= 21, `the leave came ${seconds} s after the kill`);
    console.log(`the killed process's guest left the list ${seconds.toFixed(1)} s after the kill`);
    await presenceEvent(guestOnSecond, "grace's update to 1", (event) => event.kind === "update" && event.entry.key === graceKey && event.entry.connections === 1);
    assert.deepEqual(ours(await listPresence(graceOnSecond, "")), sorted([[graceKey, 1], [secondGuestKey, 1]]));
    for (const socket of [graceOnFirst, guestOnFirst, graceOnSecond, guestOnSecond]) socket.close();
  },
};

const chosen = scenarios[scenario];
if (!chosen) {
  console.error(`unknown scenario \`${scenario}\`; choose one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
run(`presence ${scenario} over ${transport}`, chosen);
