// Validates appc-bench's load generator: runs the broadcast scenario with the real
// socket.io-client at small scale and prints the delivered count as JSON, so that appc-bench can
// compare it with its own count for the same scenario on the same kind of server.
//
//   JWT_SECRET=... node validate.mjs --url http://127.0.0.1:3000 \
//       --clients 20 --senders 5 --messages 100 [--encoding json|msgpack]
//
// --messages is the total over all senders (rounded down to a multiple of --senders); every
// message goes to every client (io.emit), so the expected count is messages x clients. Prints {"delivered", "expected", "lost"} on stdout and
// exits 0 when it finished (the comparison itself is appc-bench's), 1 on a connection failure.

import { parseArgs } from "node:util";
import { io } from "socket.io-client";
import jwt from "jsonwebtoken";
import msgpackParser from "socket.io-msgpack-parser";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    clients: { type: "string", default: "20" },
    senders: { type: "string", default: "5" },
    messages: { type: "string", default: "100" },
    encoding: { type: "string", default: "json" },
    "timeout-seconds": { type: "string", default: "30" },
  },
});

const secret = process.env.JWT_SECRET;
if (!values.url || !secret) {
  console.error("error: give --url and set JWT_SECRET to the secret the server verifies tokens with");
  process.exit(2);
}
const clientCount = Number(values.clients);
const senderCount = Math.min(Number(values.senders), clientCount);
const messageCount = Number(values.messages);
const perSender = Math.floor(messageCount / senderCount);
const expected = perSender * senderCount * clientCount;
const timeoutMilliseconds = Number(values["timeout-seconds"]) * 1000;

let delivered = 0;
const sockets = [];

function finish(exitCode) {
  for (const socket of sockets) socket.close();
  console.log(JSON.stringify({ delivered, expected, lost: expected - delivered }));
  process.exit(exitCode);
}

// Everything below is bounded: the whole run ends after the timeout whatever happens.
setTimeout(() => finish(0), timeoutMilliseconds).unref();

function connect(index) {
  const token = jwt.sign({ sub: String(index), username: `user-${index}` }, secret, {
    algorithm: "HS256",
    expiresIn: "1h",
  });
  const options = { transports: ["websocket"], auth: { token }, reconnection: false };
  if (values.encoding === "msgpack") options.parser = msgpackParser;
  const socket = io(values.url, options);
  sockets.push(socket);
  socket.on("chatMessage", (message) => {
    if (typeof message?.text === "string" && message.text.startsWith("bench:")) {
      delivered += 1;
      if (delivered === expected) finish(0);
    }
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (error) => reject(new Error(`client ${index}: ${error.message}`)));
  });
}

try {
  await Promise.all(Array.from({ length: clientCount }, (_, index) => connect(index)));
} catch (error) {
  console.error(`error: ${error.message}`);
  finish(1);
}

// Each sender sends its share of the messages, one every 10 ms.
for (let sender = 0; sender < senderCount; sender += 1) {
  for (let sequence = 0; sequence < perSender; sequence += 1) {
    setTimeout(() => {
      sockets[sender].emit("chatMessage", `bench:${String(sender).padStart(6, "0")}:${sequence}`);
    }, sequence * 10);
  }
}
