-- appc migration for SQLite.
--
-- Changes:
--   - create table `Note` (entity `Note`, 3 columns)
--   - add index `Note_userId_idx` on `Note` (userId)
--
-- appc runs this file in one transaction; add data steps where they belong before it is applied.

CREATE TABLE "Note" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT,
  "text" TEXT NOT NULL,
  "userId" INTEGER NOT NULL REFERENCES "User"("id") ON DELETE CASCADE
);

CREATE INDEX "Note_userId_idx" ON "Note" ("userId");
