// Drives several processes of compiler/tests/fixtures/multi_process that share one PostgreSQL
// database and one Redis, with the real socket.io-client:
// - `across <url1,url2,url3> <transport>`: a line said on process 1 reaches clients of every
//   process; a room, a user's sockets, the emitter used from an api and an acknowledged
//   broadcast all span the processes, and a room's line reaches only its members.
// - `outage <url1,url2> <redis url>`: Redis is stopped (tests/support/stop-redis.sh) while
//   clients chat: each process still delivers to its own clients and not across; once Redis is
//   started again on the same port, lines from process 1 reach process 2 again, no restart.
// Usage: node multi_process.mjs <url1> <across|outage> <websocket|polling|redis url> <url2> [url3]

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { collectEvents, connect, nextEvent, run, settle, signup, transportsFor, WAIT_MS } from "./lib.mjs";

const [firstUrl, scenario, extra, ...otherUrls] = process.argv.slice(2);
const urls = [firstUrl, ...otherUrls];
if (urls.length < 2 || !["across", "outage"].includes(scenario) || !extra) {
  console.error("usage: node multi_process.mjs <url1> <across|outage> <websocket|polling|redis url> <url2> [url3]");
  process.exit(2);
}

/** Resolves with the `said` line whose text is `text`, rejecting after `waitMs`. */
function nextLine(socket, text, waitMs = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off("said", listener);
      reject(new Error(`no \`said\` line \`${text}\` within ${waitMs} ms`));
    }, waitMs);
    const listener = (line) => {
      if (line.text !== text) return;
      clearTimeout(timer);
      socket.off("said", listener);
      resolve(line);
    };
    socket.on("said", listener);
  });
}

/** Every client answers an acknowledged broadcast with its own name. */
function answerCensus(socket, name) {
  socket.on("present", (_question, ack) => ack(name));
  return socket;
}

const texts = (lines) => lines.map((line) => line.text);

if (scenario === "across") {
  const transports = transportsFor(extra);
  run(`several processes share broadcasts, rooms, users, the emitter and acks over ${extra}`, async () => {
    const [first, second, third = urls[1]] = urls;
    const ada = await signup(first, `ada${extra}${Date.now()}`, "correct horse battery");
    // Anonymous clients on processes 1, 2 and 3, and two tabs of Ada on 2 and 3.
    const one = answerCensus(await connect(first, { transports }), "one");
    const two = answerCensus(await connect(second, { transports }), "two");
    const three = answerCensus(await connect(third, { transports }), "three");
    const adaTwo = answerCensus(await connect(second, { transports, auth: { token: ada.token } }), "ada-two");
    const adaThree = answerCensus(await connect(third, { transports, auth: { token: ada.token } }), "ada-three");
    const everyone = [one, two, three, adaTwo, adaThree];
    const received = new Map(everyone.map((socket) => [socket, collectEvents(socket, "said")]));

    // A broadcast from process 1 reaches every process, stamped with the process that sent it.
    const hello = `hello ${extra}`;
    const arrivals = everyone.map((socket) => nextLine(socket, hello));
    one.emit("say", hello);
    for (const line of await Promise.all(arrivals)) assert.equal(line.process, "p1");

    // A room spans processes: members on 2 and 3 get its line, sent from 1; others do not.
    assert.equal(await two.timeout(WAIT_MS).emitWithAck("joinRoom", "blue"), true);
    assert.equal(await adaThree.timeout(WAIT_MS).emitWithAck("joinRoom", "blue"), true);
    const roomLine = `blue line ${extra}`;
    const roomArrivals = [two, adaThree].map((socket) => nextLine(socket, roomLine));
    one.emit("sayInRoom", { room: "blue", text: roomLine });
    await Promise.all(roomArrivals);

    // A user's emit reaches each of their tabs, on whichever process, and nobody else.
    const whisper = `psst ${extra}`;
    const whisperArrivals = [adaTwo, adaThree].map((socket) => nextLine(socket, whisper));
    one.emit("tell", { userId: ada.user.id, text: whisper });
    await Promise.all(whisperArrivals);

    // The emitter used from an api of process 2 reaches every process.
    const announcement = `announcement ${extra}`;
    const announced = everyone.map((socket) => nextLine(socket, announcement));
    const response = await fetch(new URL("/api/announce", second), { method: "POST", body: announcement });
    assert.equal(response.status, 200, await response.text());
    for (const line of await Promise.all(announced)) assert.equal(line.process, "p2");

    await settle();
    for (const socket of [one, three, adaTwo]) {
      assert.ok(!texts(received.get(socket)).includes(roomLine), "only the room's members get its line");
    }
    for (const socket of [one, two, three]) {
      assert.ok(!texts(received.get(socket)).includes(whisper), "only the user's sockets get their line");
    }
    for (const socket of everyone) {
      const lines = texts(received.get(socket));
      assert.equal(lines.filter((text) => text === hello).length, 1, `one copy of each line: ${lines}`);
    }

    // An acknowledged broadcast from process 3 collects the answer of every socket of every process.
    const names = await three.timeout(3 * WAIT_MS).emitWithAck("census");
    assert.deepEqual([...names].sort(), ["ada-three", "ada-two", "one", "three", "two"]);

    for (const socket of everyone) socket.close();
  });
}

if (scenario === "outage") {
  const redisUrl = extra;
  const port = new URL(redisUrl).port;
  const support = new URL("../support/", import.meta.url).pathname;
  run("Redis stopped and started again while clients chat", async () => {
    const [first, second] = urls;
    const transports = ["websocket"];
    const one = await connect(first, { transports });
    const oneAgain = await connect(first, { transports });
    const two = await connect(second, { transports });
    const atTwo = collectEvents(two, "said");

    const before = "before the outage";
    const beforeArrival = nextLine(two, before);
    one.emit("say", before);
    await beforeArrival;

    execFileSync("bash", [`${support}stop-redis.sh`, redisUrl], { stdio: "inherit" });
    // Past the driver's health check, so both processes know Redis is gone.
    await settle(2500);

    // Each process still serves its own clients: a line said on 1 reaches 1's clients...
    const during = "during the outage";
    const localArrivals = [one, oneAgain].map((socket) => nextLine(socket, during));
    one.emit("say", during);
    await Promise.all(localArrivals);
    const duringTwo = "during the outage, on two";
    const twoArrival = nextLine(two, duringTwo);
    two.emit("say", duringTwo);
    await twoArrival;
    // ...but not the other process's.
    await settle(1000);
    assert.ok(!texts(atTwo).includes(during), "no line crosses processes without Redis");

    const started = execFileSync("bash", [`${support}start-redis.sh`, port], { encoding: "utf8" }).trim();
    assert.equal(started, redisUrl);

    // Cross-process delivery resumes without restarting a server: keep saying until one arrives.
    const deadline = Date.now() + 20_000;
    let resumed = false;
    for (let attempt = 0; !resumed && Date.now() < deadline; attempt += 1) {
      const text = `after the outage ${attempt}`;
      const arrival = nextLine(two, text, 500).then(() => true, () => false);
      one.emit("say", text);
      resumed = await arrival;
    }
    assert.ok(resumed, "lines from process 1 reach process 2 again within 20 s of Redis's restart");
    for (const socket of [one, oneAgain, two]) socket.close();
  });
}
