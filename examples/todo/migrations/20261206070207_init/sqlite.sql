-- appc migration for SQLite.
--
-- Changes:
--   - create table `User` (entity `User`, 3 columns)
--   - create table `Task` (entity `Task`, 4 columns)
--   - add index `Task_userId_idx` on `Task` (userId)
--
-- appc runs this file in one transaction; add data steps where they belong before it is applied.

CREATE TABLE "User" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "username" TEXT NOT NULL UNIQUE,
  "passwordHash" TEXT
);

CREATE TABLE "Task" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "description" TEXT NOT NULL,
  "isDone" BOOLEAN NOT NULL DEFAULT 0,
  "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE
);

CREATE INDEX "Task_userId_idx" ON "Task" ("userId");
