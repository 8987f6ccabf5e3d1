// Drives the todo example's web client in Debian's chromium with playwright-core: Alice signs
// up, adds two tasks, ticks one off, deletes the other, and after a reload sees exactly what she
// left; Bob, in another browser context, signs up and sees none of her tasks, and his own calls
// of `updateTask` and `deleteTask` on her task's id answer 404 and leave it as it was;
// `GET /api/tasks/count` counts each user's own tasks. Logging out asks nothing the server would
// refuse (no 401), and logging in again shows her list.
// Usage: node browser_todo.mjs <server url>
// On failure every page is saved as a PNG (the paths are printed). With APPC_SCREENSHOTS=1 they
// are saved on success too, to look at the pages.

import assert from "node:assert/strict";
import { expectText, Pages, runScenarioAndExit, waitFor } from "./browser.mjs";

const PASSWORD = "correct horse battery";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser_todo.mjs <server url>");
  process.exit(2);
}
/** Every page opened, so all of them can be photographed when something fails. */
const pages = new Pages();

/** Signs up through the signup form and waits for the (empty) task list at `/`. */
async function signUp(page, username) {
  await page.goto(new URL("/signup", url).toString());
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await page.waitForURL(new URL("/", url).toString());
  await expectText(page.getByTestId("current-user"), username);
  await expectText(page.getByTestId("remaining"), "Nothing to do.");
}

async function addTask(page, description) {
  await page.getByLabel("New task", { exact: true }).fill(description);
  await page.getByRole("button", { name: "Add", exact: true }).click();
}

/** The tasks the page shows, in order, as `{ description, isDone }`. */
async function tasksOf(page) {
  return page.getByTestId("task").evaluateAll((items) =>
    items.map((item) => ({
      description: item.querySelector("span")?.textContent ?? "",
      isDone: item.querySelector("input[type=checkbox]")?.checked ?? false,
    })),
  );
}

/** Waits until the page shows exactly `expected` and its count line reads `remaining`. */
async function expectTasks(page, expected, remaining) {
  await waitFor(
    async () => JSON.stringify(await tasksOf(page)) === JSON.stringify(expected),
    `the tasks ${JSON.stringify(expected)} (the page shows ${JSON.stringify(await tasksOf(page))})`,
  );
  await expectText(page.getByTestId("remaining"), remaining);
}

/** Logs in over HTTP (`POST /auth/login`) and returns the token, for the direct calls. */
async function tokenOf(username) {
  const response = await fetch(new URL("/auth/login", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, `login of ${username}: ${JSON.stringify(body)}`);
  return body.token;
}

/** Calls an operation as the holder of `token`; returns the status and the JSON body, if any. */
async function callOperation(route, input, token) {
  const response = await fetch(new URL(`/operations/${route}`, url), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

async function countOf(token) {
  const headers = token === null ? {} : { authorization: `Bearer ${token}` };
  const response = await fetch(new URL("/api/tasks/count", url), { headers });
  return { status: response.status, body: await response.json() };
}

async function scenario(browser) {
  const alicePage = await pages.open(browser, "alice");
  const bobPage = await pages.open(browser, "bob");

  // The task list requires a login: an anonymous visitor is sent to the login page.
  await alicePage.goto(url);
  await alicePage.waitForURL(new URL("/login", url).toString());

  await signUp(alicePage, "alice");
  await addTask(alicePage, "Buy milk");
  await expectTasks(alicePage, [{ description: "Buy milk", isDone: false }], "1 of 1 left");
  await addTask(alicePage, "Write the report");
  await expectTasks(
    alicePage,
    [
      { description: "Buy milk", isDone: false },
      { description: "Write the report", isDone: false },
    ],
    "2 of 2 left",
  );
  await alicePage.getByRole("checkbox").first().click();
  await expectTasks(
    alicePage,
    [
      { description: "Buy milk", isDone: true },
      { description: "Write the report", isDone: false },
    ],
    "1 of 2 left",
  );
  await alicePage.getByRole("button", { name: "Delete Write the report", exact: true }).click();
  await expectTasks(alicePage, [{ description: "Buy milk", isDone: true }], "0 of 1 left");

  // What the page shows is what the server stored: a reload fetches it again.
  await alicePage.reload();
  await expectText(alicePage.getByTestId("current-user"), "alice");
  await expectTasks(alicePage, [{ description: "Buy milk", isDone: true }], "0 of 1 left");

  // Bob sees none of Alice's tasks, and his own stay his.
  await signUp(bobPage, "bob");
  await addTask(bobPage, "Walk the dog");
  await expectTasks(bobPage, [{ description: "Walk the dog", isDone: false }], "1 of 1 left");
  await alicePage.reload();
  await expectTasks(alicePage, [{ description: "Buy milk", isDone: true }], "0 of 1 left");

  // Bob's direct calls on Alice's task answer 404, as for a task that does not exist.
  const aliceToken = await tokenOf("alice");
  const bobToken = await tokenOf("bob");
  const aliceTasks = await callOperation("get-tasks", null, aliceToken);
  assert.equal(aliceTasks.status, 200);
  assert.equal(aliceTasks.body.length, 1);
  const aliceTask = aliceTasks.body[0];
  for (const [route, input] of [
    ["update-task", { id: aliceTask.id, isDone: false }],
    ["delete-task", { id: aliceTask.id }],
    ["update-task", { id: 999_999, isDone: false }],
  ]) {
    const answer = await callOperation(route, input, bobToken);
    assert.equal(answer.status, 404, `${route} ${JSON.stringify(input)} by bob: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, "not_found");
  }
  assert.deepEqual((await callOperation("get-tasks", null, aliceToken)).body, [aliceTask]);
  assert.equal(aliceTask.isDone, true);
  await alicePage.reload();
  await expectTasks(alicePage, [{ description: "Buy milk", isDone: true }], "0 of 1 left");

  // Anonymous calls are refused before the team's function runs.
  assert.equal((await callOperation("get-tasks", null, "not-a-token")).status, 401);

  // The api counts each user's own tasks.
  assert.deepEqual(await countOf(aliceToken), { status: 200, body: { count: 1, done: 1 } });
  assert.deepEqual(await countOf(bobToken), { status: 200, body: { count: 1, done: 0 } });
  assert.equal((await countOf(null)).status, 401);

  assert.deepEqual(pages.errors, [], "the pages ran without errors");

  // Logging out leaves the list for the login page without asking the server for it again: the
  // auth-only list would be refused without a token, so no request of the page is answered 401.
  const refused = [];
  alicePage.on("response", (response) => {
    if (response.status() === 401) refused.push(`${response.request().method()} ${response.url()}`);
  });
  await alicePage.getByRole("button", { name: "Log out", exact: true }).click();
  await alicePage.waitForURL(new URL("/login", url).toString());
  // A refetch would start at once; give one a moment to show up before counting.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(refused, [], "no request of the page was refused after logging out");
  assert.deepEqual(pages.errors, [], "the pages ran without errors after logging out");

  // Logging in again shows her list, fetched with the new token.
  await alicePage.getByLabel("Username", { exact: true }).fill("alice");
  await alicePage.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await alicePage.getByRole("button", { name: "Log in", exact: true }).click();
  await alicePage.waitForURL(new URL("/", url).toString());
  await expectTasks(alicePage, [{ description: "Buy milk", isDone: true }], "0 of 1 left");
  assert.deepEqual(refused, [], "no request of the page was refused after logging in again");
  assert.deepEqual(pages.errors, [], "the pages ran without errors after logging in again");
}

await runScenarioAndExit({ title: "browser todo", screenshotName: "todo", pages, scenario });
