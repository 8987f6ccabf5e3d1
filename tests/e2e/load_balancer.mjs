// Drives examples/chat running as several processes behind nginx (tests/support/start-nginx.sh)
// with the real socket.io-client. Each client binds its own loopback source address (127.0.0.x),
// so that nginx's `hash $remote_addr consistent` spreads clients over the processes; a probe
// request per address reads which process nginx chose from the `X-Appc-Upstream` header.
//
// Usage: node load_balancer.mjs <nginx url> <scenario> [arguments]
// Scenarios:
//   spread <websocket|polling|upgrade> <backend>...
//                  two clients per process (each process given as HOST:PORT) chat; every client
//                  receives every message, whichever process its sender is on
//   no-stickiness  behind a round-robin nginx, a long-polling client cannot connect (its requests
//                  reach a process that does not know its session), while a WebSocket-only client
//                  connects and chats: what to use when the balancer is not sticky
//   kill <victim HOST:PORT=PID> <survivor HOST:PORT>
//                  clients of every transport on both processes chat; the victim is killed with
//                  SIGKILL while they send; its clients reconnect through nginx to the survivor,
//                  receive the chat's history again, and every message a sender saw come back
//                  (the chat broadcasts a message only once it is stored) is in that history

import assert from "node:assert/strict";
import http from "node:http";
import { io } from "socket.io-client";
import { WAIT_MS, connect, nextEvent, run, settle } from "./lib.mjs";

const [url, scenario, ...rest] = process.argv.slice(2);
if (!url || !scenario) {
  console.error("usage: node load_balancer.mjs <nginx url> <spread|no-stickiness|kill> [arguments]");
  process.exit(2);
}

/** socket.io-client's transports for a transport name; `upgrade` is its default, polling first. */
function transportsOf(transport) {
  switch (transport) {
    case "websocket":
      return ["websocket"];
    case "polling":
      return ["polling"];
    case "upgrade":
      return ["polling", "websocket"];
    default:
      throw new Error(`unknown transport \`${transport}\`; use websocket, polling or upgrade`);
  }
}

/** Options that make every request of a client leave from `address`, for both transports. */
function fromAddress(address) {
  // The polling transport sends its requests through the agent; the WebSocket transport takes
  // `localAddress` itself.
  return { agent: new http.Agent({ localAddress: address, keepAlive: true }), localAddress: address };
}

/** The process nginx sends requests from `address` to: the `X-Appc-Upstream` of a probe. */
function upstreamOf(address) {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL("/auth/me", url), { localAddress: address, timeout: WAIT_MS }, (response) => {
      response.resume();
      const upstream = response.headers["x-appc-upstream"];
      if (typeof upstream === "string" && upstream.length > 0) resolve(upstream);
      else reject(new Error(`nginx answered ${address} without X-Appc-Upstream`));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer to ${address}'s probe within ${WAIT_MS} ms`)));
    request.on("error", reject);
  });
}

/**
 * Source addresses 127.0.0.2, 127.0.0.3, ... grouped by the process nginx sends them to, until
 * every backend has `perBackend` of them.
 */
async function addressesByBackend(backends, perBackend) {
  const chosen = new Map(backends.map((backend) => [backend, []]));
  for (let last = 2; last < 255; last += 1) {
    const address = `127.0.0.${last}`;
    const upstream = await upstreamOf(address);
    const list = chosen.get(upstream);
    assert.ok(list, `nginx sent ${address} to ${upstream}, which is not one of ${backends.join(", ")}`);
    if (list.length < perBackend) list.push(address);
    if ([...chosen.values()].every((addresses) => addresses.length >= perBackend)) return chosen;
  }
  throw new Error(`nginx did not spread 127.0.0.2-254 over every backend: ${JSON.stringify([...chosen])}`);
}

/** Resolves once `socket` has received a `chatMessage` with each of `texts`. */
function receivesAll(socket, texts, waitMs = WAIT_MS) {
  const missing = new Set(texts);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off("chatMessage", listener);
      reject(new Error(`client ${socket.label} missed ${JSON.stringify([...missing])} within ${waitMs} ms`));
    }, waitMs);
    const listener = (message) => {
      missing.delete(message.text);
      if (missing.size === 0) {
        clearTimeout(timer);
        socket.off("chatMessage", listener);
        resolve();
      }
    };
    socket.on("chatMessage", listener);
  });
}

const scenarios = {
  async spread() {
    const [transport, ...backends] = rest;
    assert.ok(backends.length >= 2, "spread needs the transport and at least two backends");
    const transports = transportsOf(transport);
    const addresses = await addressesByBackend(backends, 2);
    const clients = [];
    for (const [backend, list] of addresses) {
      for (const address of list) {
        const client = await connect(url, { transports, ...fromAddress(address) }, ["chatHistory"]);
        client.label = `${address} on ${backend}`;
        await client.caught.chatHistory;
        clients.push(client);
      }
    }
    if (transport === "upgrade") {
      // The upgrade's WebSocket request must reach the process that holds the polling session.
      await settle(1000);
      for (const client of clients) {
        assert.equal(client.io.engine.transport.name, "websocket", `${client.label} upgraded to WebSocket`);
      }
    }
    // Several rounds, so that each long-polling session makes many requests through nginx.
    for (let round = 0; round < 3; round += 1) {
      const texts = clients.map((client, index) => `${transport} round ${round} from client ${index}`);
      const everyoneReceives = Promise.all(clients.map((client) => receivesAll(client, texts)));
      clients.forEach((client, index) => client.emit("chatMessage", texts[index]));
      await everyoneReceives;
    }
    for (const client of clients) {
      assert.equal(client.io.engine.transport.name, transports.at(-1), `${client.label} kept its transport`);
      client.close();
    }
  },

  async ["no-stickiness"]() {
    // Round-robin sends the handshake to one process and the next request to the other, which
    // answers it with "Session ID unknown"; the client never connects.
    const refusal = await connect(url, { transports: ["polling"], ...fromAddress("127.0.0.2") }).then(
      (socket) => {
        socket.close();
        return null;
      },
      (error) => error,
    );
    assert.ok(refusal, "a long-polling client connected through a round-robin balancer; it should not have");
    console.log(`long-polling without stickiness: ${refusal.message}`);

    // One WebSocket is one connection, so a non-sticky balancer cannot split its session.
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const client = await connect(url, { transports: ["websocket"], ...fromAddress("127.0.0.2") }, ["chatHistory"]);
      client.label = `websocket client ${attempt}`;
      await client.caught.chatHistory;
      const text = `websocket-only through round-robin, attempt ${attempt}`;
      const echoed = receivesAll(client, [text]);
      client.emit("chatMessage", text);
      await echoed;
      client.close();
    }
  },

  async kill() {
    const [victimArgument, survivor] = rest;
    const [victim, victimPid] = (victimArgument ?? "").split("=");
    assert.ok(victim && Number(victimPid) > 0 && survivor, "kill needs <victim HOST:PORT=PID> <survivor HOST:PORT>");
    const addresses = await addressesByBackend([victim, survivor], 3);
    const transports = ["websocket", "polling", "upgrade"];
    const clients = [];
    for (const [backend, list] of addresses) {
      for (const [index, address] of list.entries()) {
        const transport = transports[index];
        const client = io(url, {
          transports: transportsOf(transport),
          ...fromAddress(address),
          forceNew: true,
          timeout: WAIT_MS,
          reconnectionDelay: 100,
          reconnectionDelayMax: 500,
        });
        client.label = `${transport} client ${address} on ${backend}`;
        client.onVictim = backend === victim;
        // Every connection (the first and each reconnection) receives the history: keep them all.
        client.histories = [];
        client.disconnectedAt = null;
        client.on("chatHistory", (history) => client.histories.push({ at: Date.now(), history }));
        client.on("disconnect", () => {
          client.disconnectedAt ??= Date.now();
        });
        clients.push(client);
      }
    }
    const deadline = Date.now() + WAIT_MS;
    while (clients.some((client) => client.histories.length === 0)) {
      assert.ok(Date.now() < deadline, "every client connected and received its history");
      await settle(20);
    }

    // A message is acknowledged as stored when its sender receives it back: the chat broadcasts
    // a message only after its insert committed.
    const acknowledged = new Map(); // text -> { id, at }
    for (const client of clients) {
      client.sent = new Set();
      client.on("chatMessage", (message) => {
        if (client.sent.has(message.text) && !acknowledged.has(message.text)) {
          acknowledged.set(message.text, { id: message.id, at: Date.now() });
        }
      });
    }
    const send = (client, text) => {
      client.sent.add(text);
      client.emit("chatMessage", text);
    };

    // Before the kill, a message from either process reaches the clients of both.
    const before = clients.map((_, index) => `before the kill from client ${index}`);
    const everyoneReceives = Promise.all(clients.map((client) => receivesAll(client, before)));
    clients.forEach((client, index) => send(client, before[index]));
    await everyoneReceives;

    // Every client sends every 25 ms; the victim dies in the middle.
    let killedAt = null;
    for (let round = 0; round < 6; round += 1) {
      if (round === 3) {
        process.kill(Number(victimPid), "SIGKILL");
        killedAt = Date.now();
      }
      clients.forEach((client, index) => send(client, `round ${round} from client ${index}`));
      await settle(25);
    }

    // The victim's clients reconnect through nginx (which now finds the victim refusing
    // connections and passes them to the survivor) and receive the history again.
    const reconnectDeadline = Date.now() + 20_000;
    const victims = clients.filter((client) => client.onVictim);
    const reconnected = (client) => client.connected && client.histories.some((entry) => entry.at > killedAt);
    while (!victims.every(reconnected)) {
      assert.ok(
        Date.now() < reconnectDeadline,
        `the victim's clients reconnected within 20 s: ${victims.map((client) => `${client.label} connected=${client.connected}`).join(", ")}`,
      );
      await settle(50);
    }
    for (const client of clients.filter((client) => !client.onVictim)) {
      assert.equal(client.disconnectedAt, null, `${client.label} on the survivor stayed connected`);
    }

    // After the failover everyone is on the survivor, and a message reaches every client again.
    const after = clients.map((_, index) => `after the kill from client ${index}`);
    const everyoneReceivesAfter = Promise.all(clients.map((client) => receivesAll(client, after, 10_000)));
    clients.forEach((client, index) => send(client, after[index]));
    await everyoneReceivesAfter;

    // Re-sync: the history a victim received on reconnecting holds every message acknowledged
    // before it lost its connection (those committed before it asked for the history again).
    for (const client of victims) {
      const resync = client.histories.find((entry) => entry.at > killedAt);
      const ids = new Set(resync.history.map((message) => message.id));
      for (const [text, ack] of acknowledged) {
        if (ack.at < client.disconnectedAt) {
          assert.ok(ids.has(ack.id), `${client.label}'s history after reconnecting lacks "${text}", acknowledged before it disconnected`);
        }
      }
    }

    // Nothing acknowledged is lost: a new client's history (the latest 50, more than were sent)
    // holds every acknowledged message.
    const sentCount = clients.reduce((sum, client) => sum + client.sent.size, 0);
    assert.ok(sentCount <= 50, `the scenario sends at most the 50 messages a history holds, not ${sentCount}`);
    const observer = await connect(url, { transports: ["websocket"], ...fromAddress("127.0.0.1") }, ["chatHistory"]);
    const history = await observer.caught.chatHistory;
    const stored = new Map(history.map((message) => [message.id, message.text]));
    for (const [text, ack] of acknowledged) {
      assert.equal(stored.get(ack.id), text, `the acknowledged message "${text}" is in the history`);
    }
    const lostUnacknowledged = [...clients.flatMap((client) => [...client.sent])].filter((text) => !acknowledged.has(text));
    console.log(
      `sent ${sentCount}, acknowledged ${acknowledged.size} (all stored), not acknowledged ${lostUnacknowledged.length}: ${JSON.stringify(lostUnacknowledged)}`,
    );
    observer.close();
    for (const client of clients) client.close();
  },
};

const chosen = scenarios[scenario];
if (!chosen) {
  console.error(`unknown scenario \`${scenario}\`; use ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
await run(`${scenario} ${rest.join(" ")}`, chosen);
