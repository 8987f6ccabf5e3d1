// The todo example's live queries in Debian's chromium (playwright-core): Alice and Bob, in two
// browser contexts, both see the shared board follow Alice's new note without a reload, Bob's
// page from the result the server pushed (it fetches nothing); Alice's second tab follows her
// new task; Bob's page never shows Alice's tasks, and the frames of Bob's WebSocket (read
// through the browser's own events) never carry their contents, nor any update of his own task
// list (`scope: user`). Alice's other tab, on the page of one task (`useQuery(getTask, { id })`),
// follows it being ticked off, then shows the 404 once it is deleted. Carol's connection is cut
// (her WebSockets closed and reopening refused, through playwright's WebSocket routing, while the
// browser itself stays online): her page says it is not live, misses a new note, and shows it
// once the connection is back, from the results of its subscriptions made again.
// Usage: node browser_live.mjs <server url>

import assert from "node:assert/strict";
import { Pages, runScenarioAndExit, STEP_TIMEOUT_MS } from "./browser.mjs";

const PASSWORD = "correct horse battery";
const SECRET = "Secret plan 42";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser_live.mjs <server url>");
  process.exit(2);
}
const pages = new Pages();

/** Polls `condition` until it holds, failing after STEP_TIMEOUT_MS with what was awaited. */
async function waitFor(condition, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${what}`);
}

/** Every Socket.IO packet the page sends and receives (over WebSockets or HTTP long-polling), recorded from before the first load. */
function recordFrames(page) {
  const frames = { sent: [], received: [] };
  page.on("websocket", (socket) => {
    socket.on("framesent", ({ payload }) => frames.sent.push(String(payload)));
    socket.on("framereceived", ({ payload }) => frames.received.push(String(payload)));
  });
  // Until the connection is upgraded, Socket.IO packets travel over HTTP long-polling, several
  // to a body, separated by the record separator: a `subscribe` sent right after connecting may
  // go that way.
  const isPolling = (request) => request.url().includes("/socket.io/") && request.url().includes("transport=polling");
  page.on("request", (request) => {
    if (isPolling(request) && request.method() === "POST") {
      frames.sent.push(...(request.postData() ?? "").split("\x1e"));
    }
  });
  page.on("response", async (response) => {
    if (isPolling(response.request()) && response.request().method() === "GET") {
      // A poll still open when the page closes has no body to read.
      const body = await response.text().catch(() => "");
      frames.received.push(...body.split("\x1e"));
    }
  });
  return frames;
}

/**
 * The Socket.IO packets of the `/appc-live` namespace among `frames` (`42/appc-live,1[...]`):
 * `{ type, ackId, data }`, `type` 2 for an event (`data` is `["update", {...}]`) and 3 for an
 * ack (`data` is `[[...results]]`).
 */
function livePackets(frames) {
  return frames.flatMap((frame) => {
    const packet = /^4([23])\/appc-live,(\d*)(.*)$/s.exec(frame);
    return packet === null ? [] : [{ type: Number(packet[1]), ackId: packet[2], data: JSON.parse(packet[3]) }];
  });
}

/** The query each subscription id of `frames` stands for, from every `subscribe` and its ack. */
function subscribedQueries(frames) {
  const requests = new Map();
  for (const { type, ackId, data } of livePackets(frames.sent)) {
    if (type === 2 && data[0] === "subscribe") requests.set(ackId, data[1]);
  }
  const queries = new Map();
  for (const { type, ackId, data } of livePackets(frames.received)) {
    const request = type === 3 ? requests.get(ackId) : undefined;
    if (request === undefined) continue;
    data[0].forEach((result, index) => {
      if (result.id !== undefined) queries.set(result.id, request[index].query);
    });
  }
  return queries;
}

/** The `update`s among the frames a page received. */
function liveUpdates(frames) {
  return livePackets(frames.received)
    .filter(({ type, data }) => type === 2 && data[0] === "update")
    .map(({ data }) => data[1]);
}

/** The paths of the operations the page calls from now on. */
function recordOperations(page) {
  const paths = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith("/operations/")) paths.push(path);
  });
  return paths;
}

async function signUp(page, username) {
  await page.goto(new URL("/signup", url).toString());
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await page.waitForURL(new URL("/", url).toString());
  await waitForLive(page);
}

/** Waits until the page says live updates flow. */
async function waitForLive(page) {
  await waitFor(
    async () => (await page.getByTestId("live-status").getAttribute("data-status")) === "live",
    "the page to say that live updates flow",
  );
}

async function texts(page, testId) {
  return page.getByTestId(testId).evaluateAll((items) => items.map((item) => item.textContent?.trim() ?? ""));
}

async function expectTexts(page, testId, expected) {
  await waitFor(
    async () => JSON.stringify(await texts(page, testId)) === JSON.stringify(expected),
    `${testId}s ${JSON.stringify(expected)} (the page shows ${JSON.stringify(await texts(page, testId))})`,
  );
}

async function scenario(browser) {
  const alicePage = await pages.open(browser, "alice");
  const bobPage = await pages.open(browser, "bob");
  const bobFrames = recordFrames(bobPage);
  const bobOperations = recordOperations(bobPage);

  await signUp(alicePage, "alice");
  await signUp(bobPage, "bob");
  // Alice's second tab shares her login (same browser context).
  const aliceTab = await alicePage.context().newPage();
  pages.byName.set("alice-tab", aliceTab);
  await aliceTab.goto(url);
  await waitForLive(aliceTab);

  // Alice shares a note: Bob's page and her other tab show it without a reload, Bob's from the
  // pushed result alone.
  const bobOperationsBefore = bobOperations.length;
  await alicePage.getByLabel("New note", { exact: true }).fill("Standup at ten");
  await alicePage.getByRole("button", { name: "Share", exact: true }).click();
  for (const page of [alicePage, bobPage, aliceTab]) {
    await expectTexts(page, "note", ["Standup at ten"]);
  }
  assert.deepEqual(bobOperations.slice(bobOperationsBefore), [], "bob's page took the pushed board without fetching");

  // Alice's private task: her other tab follows; Bob's page does not change.
  await alicePage.getByLabel("New task", { exact: true }).fill(SECRET);
  await alicePage.getByRole("button", { name: "Add", exact: true }).click();
  await waitFor(
    async () => (await texts(aliceTab, "task")).some((text) => text.includes(SECRET)),
    "alice's other tab to show her task",
  );
  // Give any notification (there must be none) time to reach Bob's page.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await expectTexts(bobPage, "task", []);
  assert.ok(!(await bobPage.content()).includes(SECRET), "bob's page never shows alice's task");

  // What reached Bob's browser: the board's new result, never anything of Alice's tasks, nor any
  // update of his own task list, which he did subscribe to.
  const queryOfId = subscribedQueries(bobFrames);
  const bobUpdates = liveUpdates(bobFrames);
  assert.ok(
    [...queryOfId.values()].includes("getTasks"),
    `bob subscribed to his tasks: ${JSON.stringify(bobFrames)}`,
  );
  assert.ok(
    bobUpdates.some(
      (update) => queryOfId.get(update.id) === "getNotes" && JSON.stringify(update.data).includes("Standup"),
    ),
    `bob's socket carried the board's new result: ${JSON.stringify(bobUpdates)}`,
  );
  assert.ok(
    bobUpdates.every((update) => queryOfId.get(update.id) === "getNotes"),
    `bob's socket carried only updates of the board: ${JSON.stringify(bobUpdates)}`,
  );
  assert.ok(!bobFrames.received.some((frame) => frame.includes(SECRET)), "no frame of bob's carries alice's task");

  await watchOneTask(alicePage, aliceTab);
  await reconnectAfterACut(browser, alicePage);

  assert.deepEqual(pages.errors, [], "the pages ran without errors");
}

/**
 * A single-row watch: `aliceTab` opens the page of Alice's task (`useQuery(getTask, { id })`);
 * ticking it off on `alicePage` shows there, and once it is deleted the query answers 404 and
 * the page says the task is gone.
 */
async function watchOneTask(alicePage, aliceTab) {
  await aliceTab.getByRole("link", { name: `Open ${SECRET}`, exact: true }).click();
  await aliceTab.waitForURL(/\/tasks\/\d+$/);
  await waitForLive(aliceTab);
  await waitFor(
    async () => (await aliceTab.getByTestId("task-state").textContent().catch(() => null)) === "To do",
    "the task's page to show the task to do",
  );
  await alicePage.getByRole("checkbox").first().click();
  await waitFor(
    async () => (await aliceTab.getByTestId("task-state").textContent().catch(() => null)) === "Done",
    "the task's page to follow the task being ticked off",
  );
  await alicePage.getByRole("button", { name: `Delete ${SECRET}`, exact: true }).click();
  await waitFor(
    async () => (await aliceTab.getByTestId("task-error").getAttribute("data-status").catch(() => null)) === "404",
    "the task's page to show that the deleted task answers 404",
  );
  const error = await aliceTab.getByTestId("task-error").textContent();
  assert.ok(error.includes("This task is gone"), error);
}

/**
 * Carol's connection drops: her WebSockets go through playwright's routing, which closes them
 * and refuses new ones (and the HTTP long-polling transport) while `cut`. The browser stays
 * online, so nothing but the live client's reconnection can refresh her board.
 */
async function reconnectAfterACut(browser, alicePage) {
  const carolPage = await pages.open(browser, "carol", {
    // The refused reconnections are logged by the browser; they are the point of the test.
    ignoreConsoleError: (message) => /WebSocket|ERR_FAILED|socket\.io/i.test(message.text() + message.location().url),
  });
  let cut = false;
  const open = new Set();
  await carolPage.routeWebSocket(/\/socket\.io\//, (pageSide) => {
    if (cut) {
      pageSide.close();
      return;
    }
    const serverSide = pageSide.connectToServer();
    const connection = { pageSide, serverSide };
    open.add(connection);
    pageSide.onClose(() => open.delete(connection));
  });
  await carolPage.route(/\/socket\.io\//, (route) => (cut ? route.abort() : route.continue()));
  await signUp(carolPage, "carol");
  await expectTexts(carolPage, "note", ["Standup at ten"]);

  cut = true;
  for (const { pageSide, serverSide } of open) {
    await serverSide.close();
    await pageSide.close();
  }
  await waitFor(
    async () => (await carolPage.getByTestId("live-status").getAttribute("data-status")) === "reconnecting",
    "carol's page to say that live updates stopped",
  );
  await alicePage.getByLabel("New note", { exact: true }).fill("Missed while away");
  await alicePage.getByRole("button", { name: "Share", exact: true }).click();
  await expectTexts(alicePage, "note", ["Standup at ten", "Missed while away"]);
  // Nothing reaches carol while the connection is down.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await expectTexts(carolPage, "note", ["Standup at ten"]);
  assert.notEqual(await carolPage.getByTestId("live-status").getAttribute("data-status"), "live");

  // Back: the client subscribes again, and the ack's result (no fetch) brings the missed note.
  const carolOperations = recordOperations(carolPage);
  cut = false;
  await waitForLive(carolPage);
  await expectTexts(carolPage, "note", ["Standup at ten", "Missed while away"]);
  assert.deepEqual(carolOperations, [], "carol's page took the subscriptions' results without fetching");
}

await runScenarioAndExit({ title: "browser live queries", screenshotName: "live", pages, scenario });
