// The Node.js anchor of appc's operations benchmark: what Wasp's generated server does for the
// todo example's `getTasks` query and `createTask` action, on Express 5 and the same SQLite
// schema through better-sqlite3. Per request, as Wasp's operation routes: `express.json()`
// parses the body, the auth middleware verifies the `Authorization: Bearer` token and loads the
// user from the database (appc's runtime does both too), the operation runs its statement, and
// `res.json` answers. Wasp's extra middleware (helmet, cors, the request logger) and its
// superjson (de)serialisation are left out, which only makes Node faster than Wasp would be.
//
// Environment (set by appc-bench):
//   PORT          port to listen on (127.0.0.1 only)
//   JWT_SECRET    shared HS256 secret; tokens carry the user's id in `sub`
//   DATABASE_URL  sqlite://PATH, a fresh database file
//   SCHEMA_SQL    the todo example's migration (migrations/*/sqlite.sql), run once at start so
//                 both servers use the very same tables and index

import { readFileSync } from "node:fs";
import express from "express";
import jwt from "jsonwebtoken";
import Database from "better-sqlite3";

const port = Number(process.env.PORT ?? 3000);
const secret = process.env.JWT_SECRET;
const url = process.env.DATABASE_URL ?? "";
const schemaPath = process.env.SCHEMA_SQL;
if (!secret || !url.startsWith("sqlite://") || !schemaPath) {
  console.error("error: set JWT_SECRET, DATABASE_URL=sqlite://PATH and SCHEMA_SQL (appc-bench does)");
  process.exit(2);
}

// The same settings as appc's SQLite pool: WAL, synchronous NORMAL, a busy timeout.
const db = new Database(url.slice("sqlite://".length));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
db.exec(readFileSync(schemaPath, "utf8"));

const findUser = db.prepare('SELECT "id", "username" FROM "User" WHERE "id" = ?');
const findTasks = db.prepare(
  'SELECT "id", "description", "isDone", "userId" FROM "Task" WHERE "userId" = ? ORDER BY "id" ASC',
);
const insertTask = db.prepare(
  'INSERT INTO "Task" ("description", "userId") VALUES (?, ?) RETURNING "id", "description", "isDone", "userId"',
);

/** SQLite stores booleans as 0 and 1; the JSON answer carries `true` and `false`, as appc's. */
function taskJson(row) {
  return { id: row.id, description: row.description, isDone: row.isDone === 1, userId: row.userId };
}

function fail(response, status, code, message) {
  response.status(status).json({ error: { code, message } });
}

/** Wasp's auth middleware: no valid token, or a token of a user who is gone, is a 401. */
function requireUser(request, response, next) {
  const header = request.get("authorization") ?? "";
  if (!header.startsWith("Bearer ")) return fail(response, 401, "unauthorized", "log in first");
  let claims;
  try {
    claims = jwt.verify(header.slice("Bearer ".length), secret, { algorithms: ["HS256"] });
  } catch {
    return fail(response, 401, "unauthorized", "the token is not valid");
  }
  const user = findUser.get(Number(claims.sub));
  if (user === undefined) return fail(response, 401, "unauthorized", "the token's user is gone");
  request.user = user;
  next();
}

const app = express();
app.disable("x-powered-by");
app.use(express.json());

app.post("/operations/get-tasks", requireUser, (request, response) => {
  response.json(findTasks.all(request.user.id).map(taskJson));
});

app.post("/operations/create-task", requireUser, (request, response) => {
  const description = request.body?.description;
  if (typeof description !== "string" || description.length > 500) {
    return fail(response, 400, "invalid_input", "description: expected a String of at most 500 characters");
  }
  if (description.trim() === "") {
    return fail(response, 400, "invalid_input", "the description is empty; write what there is to do");
  }
  response.json(taskJson(insertTask.get(description.trim(), request.user.id)));
});

const server = app.listen(port, "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
