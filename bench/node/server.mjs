// The Node.js anchor of appc's server benchmarks: a socket.io 4.8 server that does what Wasp's
// generated websocket server does for the two benchmark apps, so that appc is compared with what a
// team would get from Wasp on the same machine, under the same load generator.
//
// Environment (set by appc-bench):
//   PORT        port to listen on (127.0.0.1 only)
//   APP         "chat" (broadcast chatMessage {id, username, text} to everyone) or
//               "uppercase" (emit greeting on connect, answer textInput with uppercase)
//   JWT_SECRET  shared HS256 secret; the handshake's auth.token must verify with it
//   ENCODING    "json" (socket.io's default parser) or "msgpack" (socket.io-msgpack-parser)
//
// Like appc's stand-in, this variant does not store chat messages: neither side touches a database
// on the hot path, so the comparison measures the socket servers alone.

import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";
import jwt from "jsonwebtoken";
import msgpackParser from "socket.io-msgpack-parser";

const port = Number(process.env.PORT ?? 3000);
const app = process.env.APP ?? "chat";
const secret = process.env.JWT_SECRET;
const encoding = process.env.ENCODING ?? "json";

if (!secret) {
  console.error("error: JWT_SECRET is not set; appc-bench passes the shared secret in JWT_SECRET");
  process.exit(2);
}
if (app !== "chat" && app !== "uppercase") {
  console.error(`error: unknown APP "${app}"; use chat or uppercase`);
  process.exit(2);
}

const httpServer = createServer();
const options = { serveClient: false, cors: { origin: "*" } };
if (encoding === "msgpack") {
  options.parser = msgpackParser;
}
const io = new Server(httpServer, options);

// Wasp injects the user into socket.data from the JWT in the handshake; a socket without a valid
// token is refused here, exactly as the stand-in and the generated appc server (auth: true) do.
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
  if (app === "chat") {
    // The body of Wasp's documented chat webSocketFn.
    socket.on("chatMessage", (text) => {
      io.emit("chatMessage", { id: randomUUID(), username, text });
    });
  } else {
    socket.emit("greeting", `hello ${username}`);
    socket.on("textInput", (text) => {
      socket.emit("uppercase", String(text).toUpperCase());
    });
  }
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`node anchor (${app}, ${encoding}) listening on 127.0.0.1:${port}`);
});

function shutDown() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutDown);
process.on("SIGINT", shutDown);
