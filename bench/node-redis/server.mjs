// The Node.js anchor of appc's multi-process benchmark: the chat of bench/node/server.mjs (what
// Wasp's generated websocket server does: the JWT from the handshake, `io.emit('chatMessage',
// {id, username, text})`) with socket.io's own Redis adapter, @socket.io/redis-adapter, so that
// several processes on one Redis are one chat, as Socket.IO's documentation sets it up.
//
// Environment (set by `appc-bench processes`):
//   PORT        port to listen on (127.0.0.1 only)
//   JWT_SECRET  shared HS256 secret; the handshake's auth.token must verify with it
//   REDIS_URL   redis://HOST:PORT of the Redis every process shares
//
// Like the non-storing anchor of bench/node it does not store messages.

import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import jwt from "jsonwebtoken";

const port = Number(process.env.PORT ?? 3000);
const secret = process.env.JWT_SECRET;
const redisUrl = process.env.REDIS_URL;

if (!secret) {
  console.error("error: JWT_SECRET is not set; appc-bench passes the shared secret in JWT_SECRET");
  process.exit(2);
}
if (!redisUrl) {
  console.error("error: REDIS_URL is not set; set it to the redis:// url every process shares");
  process.exit(2);
}

// The adapter publishes on one connection and subscribes on another, as its documentation does.
const publisher = createClient({ url: redisUrl });
const subscriber = publisher.duplicate();
for (const client of [publisher, subscriber]) {
  client.on("error", (error) => console.error(`redis: ${error.message}`));
}
await Promise.all([publisher.connect(), subscriber.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, {
  serveClient: false,
  cors: { origin: "*" },
  adapter: createAdapter(publisher, subscriber),
});

io.use((socket, next) => {
  const token = socket.handshake.auth?.token;
  if (typeof token !== "string") {
    next(new Error("missing auth token"));
    return;
  }
  jwt.verify(token, secret, { algorithms: ["HS256"] }, (error, claims) => {
    if (error) {
      next(new Error("invalid auth token"));
      return;
    }
    socket.data.user = { id: claims.sub, username: claims.username };
    next();
  });
});

io.on("connection", (socket) => {
  const username = socket.data.user?.username || "unknown";
  socket.on("chatMessage", (text) => {
    io.emit("chatMessage", { id: randomUUID(), username, text });
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`node redis anchor listening on 127.0.0.1:${port}`);
});

function shutDown() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutDown);
process.on("SIGINT", shutDown);
