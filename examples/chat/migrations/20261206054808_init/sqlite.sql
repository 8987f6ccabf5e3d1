-- appc migration for SQLite.
--
-- Changes:
--   - create table `User` (entity `User`, 3 columns)
--   - create table `Message` (entity `Message`, 4 columns)
--   - add index `Message_createdAt_idx` on `Message` (createdAt)
--   - add index `Message_userId_idx` on `Message` (userId)
--
-- appc runs this file in one transaction; add data steps where they belong before it is applied.

CREATE TABLE "User" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "username" TEXT NOT NULL UNIQUE,
  "passwordHash" TEXT
);

CREATE TABLE "Message" (
  "id" TEXT PRIMARY KEY NOT NULL,
  "text" TEXT NOT NULL,
  "createdAt" DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
  "userId" INTEGER REFERENCES "User"("id")
);

CREATE INDEX "Message_createdAt_idx" ON "Message" ("createdAt");

CREATE INDEX "Message_userId_idx" ON "Message" ("userId");
