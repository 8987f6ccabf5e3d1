// Drives the chat example's web client in Debian's chromium with playwright-core: two users in
// two browser contexts sign up, chat, and see each other's messages with the right usernames;
// after one logs out, that user's socket reconnects anonymously and speaks as `unknown`.
// Usage: node browser_chat.mjs <server url>
// On failure every page is saved as a PNG (the paths are printed). With APPC_SCREENSHOTS=1 they
// are saved on success too, to look at the pages.

import assert from "node:assert/strict";
import { expectText, Pages, runScenarioAndExit, waitFor } from "./browser.mjs";

const PASSWORD = "correct horse battery";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser_chat.mjs <server url>");
  process.exit(2);
}
/** Every page opened, so all of them can be photographed when something fails. */
const pages = new Pages();

function openUser(browser, name) {
  return pages.open(browser, name, { contextOptions: { viewport: { width: 1000, height: 760 } } });
}

/** Signs up through the signup form and waits for the chat at `/` to be connected. */
async function signUp(page, username) {
  await page.goto(new URL("/signup", url).toString());
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await page.waitForURL(new URL("/", url).toString());
  await expectText(page.getByTestId("current-user"), username);
  await expectConnected(page);
}

async function sendMessage(page, text) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  // The send button is enabled only while the socket is connected; click waits for that.
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

/** Waits until the page's message list holds a message with this author and text. */
async function expectMessage(page, username, text) {
  const exactText = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  const textOfMessage = page.getByTestId("message-text").filter({ hasText: exactText });
  const message = page.getByTestId("message").filter({ has: textOfMessage });
  await expectText(message.getByTestId("message-username"), username);
}

async function expectConnected(page) {
  const indicator = page.getByTestId("connection-status");
  const isConnected = async () => (await indicator.getAttribute("data-status")) === "connected";
  await waitFor(isConnected, "the indicator to say connected");
  assert.equal((await indicator.innerText()).trim(), "Connected");
}

async function messagesOf(page) {
  return page.getByTestId("message").evaluateAll((items) =>
    items.map((item) => ({
      username: item.querySelector("[data-testid=message-username]")?.textContent ?? "",
      text: item.querySelector("[data-testid=message-text]")?.textContent ?? "",
    })),
  );
}

async function scenario(browser) {
  const alicePage = await openUser(browser, "alice");
  const bobPage = await openUser(browser, "bob");

  // Before signing up, the chat is open to anonymous visitors.
  await alicePage.goto(url);
  await expectText(alicePage.getByTestId("current-user"), "anonymous");
  await expectConnected(alicePage);

  await signUp(alicePage, "alice");
  await signUp(bobPage, "bob");

  await sendMessage(alicePage, "Hello from Alice");
  await sendMessage(bobPage, "Hi Alice, Bob here");
  for (const page of [alicePage, bobPage]) {
    await expectMessage(page, "alice", "Hello from Alice");
    await expectMessage(page, "bob", "Hi Alice, Bob here");
  }
  for (const page of [alicePage, bobPage]) {
    assert.deepEqual(await messagesOf(page), [
      { username: "alice", text: "Hello from Alice" },
      { username: "bob", text: "Hi Alice, Bob here" },
    ]);
  }

  // Logging out reconnects Alice's socket without a token: she is `unknown` to the server now
  // (the server reads the token only when a socket connects, so this proves the reconnection).
  await alicePage.getByRole("button", { name: "Log out", exact: true }).click();
  await expectText(alicePage.getByTestId("current-user"), "anonymous");
  await expectConnected(alicePage);
  await sendMessage(alicePage, "Now I am anonymous");
  for (const page of [alicePage, bobPage]) {
    await expectMessage(page, "unknown", "Now I am anonymous");
  }
  // The reconnection brought the history again; it replaced the list instead of doubling it.
  assert.deepEqual(await messagesOf(alicePage), [
    { username: "alice", text: "Hello from Alice" },
    { username: "bob", text: "Hi Alice, Bob here" },
    { username: "unknown", text: "Now I am anonymous" },
  ]);
  await expectConnected(bobPage);
  await expectText(bobPage.getByTestId("current-user"), "bob");

  // Leaving the chat and coming back within the app (the shared socket stays open) shows the
  // history again.
  await alicePage.getByRole("link", { name: "Sign up", exact: true }).click();
  await alicePage.getByRole("link", { name: "Chat", exact: true }).click();
  await waitFor(async () => (await messagesOf(alicePage)).length === 3, "the history after returning to the chat");
  await expectConnected(alicePage);

  // Logging back in shows inline errors for a wrong password, then succeeds.
  await alicePage.getByRole("link", { name: "Log in", exact: true }).click();
  await alicePage.getByLabel("Username", { exact: true }).fill("alice");
  await alicePage.getByLabel("Password", { exact: true }).fill("not the password");
  await alicePage.getByRole("button", { name: "Log in", exact: true }).click();
  await waitFor(async () => (await alicePage.getByTestId("auth-error").count()) === 1, "the login error");
  await alicePage.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await alicePage.getByRole("button", { name: "Log in", exact: true }).click();
  await alicePage.waitForURL(new URL("/", url).toString());
  await expectText(alicePage.getByTestId("current-user"), "alice");
  await expectConnected(alicePage);
  await sendMessage(alicePage, "Back as Alice");
  await expectMessage(bobPage, "alice", "Back as Alice");

  // The login error above is a 401 the browser reports in the console; only other errors count.
  const unexpectedErrors = pages.errors.filter((error) => !/status of 401/.test(error));
  assert.deepEqual(unexpectedErrors, [], "the pages ran without errors");
}

await runScenarioAndExit({ title: "browser chat", screenshotName: "chat", pages, scenario });
