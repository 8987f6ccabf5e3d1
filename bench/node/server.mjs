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
//   STORE_MESSAGES  "1" (set by `appc-bench --node-store-messages`): the chat does what the
//               generated appc chat (examples/chat) does: it looks the token's user up in SQLite
//               on connect, sends the latest 50 messages as `chatHistory`, and inserts every message
//               before broadcasting it (better-sqlite3, installed separately; see BENCHMARKS.md).
//   DATABASE_URL  sqlite://PATH, the database file of the storing variant
//
// Without STORE_MESSAGES, like appc's stand-in, the chat does not store messages: neither side
// touches a database on the hot path, so the comparison measures the socket servers alone.

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

const database = process.env.STORE_MESSAGES === "1" && app === "chat" ? await openDatabase() : null;

// The storing variant's schema mirrors the generated appc chat's tables; the users the load
// generator signs tokens for (ids 0 to 65,535) are created up front, as appc-bench does for appc.
async function openDatabase() {
  const url = process.env.DATABASE_URL ?? "";
  if (!url.startsWith("sqlite://")) {
    console.error("error: STORE_MESSAGES=1 needs DATABASE_URL=sqlite://PATH");
    process.exit(2);
  }
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(url.slice("sqlite://".length));
  db.pragma("journal_mode = WAL");
  db.exec(`
    CREATE TABLE IF NOT EXISTS "User" (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS "Message" (id TEXT PRIMARY KEY, text TEXT NOT NULL,
      createdAt TEXT NOT NULL, userId INTEGER REFERENCES "User"(id));
    WITH RECURSIVE ids(id) AS (SELECT 0 UNION ALL SELECT id + 1 FROM ids WHERE id < 65535)
      INSERT OR IGNORE INTO "User" (id, username) SELECT id, 'user-' || id FROM ids;
  `);
  return {
    findUser: db.prepare(`SELECT id, username FROM "User" WHERE id = ?`),
    insertMessage: db.prepare(
      `INSERT INTO "Message" (id, text, createdAt, userId) VALUES (?, ?, ?, ?)`,
    ),
    latestMessages: db.prepare(
      `SELECT m.id, m.text, u.username FROM "Message" m LEFT JOIN "User" u ON u.id = m.userId
       ORDER BY m.createdAt DESC LIMIT 50`,
    ),
  };
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
  if (app === "chat" && database) {
    // The generated appc chat's work: the user from the database, stored messages, history.
    const user = database.findUser.get(Number(socket.data.user?.id));
    const author = user?.username ?? "unknown";
    socket.on("chatMessage", (text) => {
      const id = randomUUID();
      database.insertMessage.run(id, String(text), new Date().toISOString(), user?.id ?? null);
      io.emit("chatMessage", { id, username: author, text });
    });
    const history = database.latestMessages.all().reverse();
    socket.emit("chatHistory", history.map((row) => ({ id: row.id, username: row.username ?? "unknown", text: row.text })));
  } else if (app === "chat") {
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
