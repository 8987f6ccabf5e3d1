// The end of a session in Debian's chromium (the session_expiry fixture): a signed-in user's page
// holds a socket on an `auth: true` namespace. When the token expires while that socket is
// connected, the server sends `error` `token_expired` and disconnects it; the web client then
// forgets the token, the auth-required page sends the user to the login page, and that page says
// the session expired. A handshake that carries an expired token ends the same way. Every page
// also holds a socket on the lobby (no auth): the user's, watched by the server too, comes back
// as a guest's, while an anonymous visitor's stays connected, never reconnected.
//
// The server issues 7-day tokens, so the scenario signs its own short-lived ones for the same
// user with the server's secret (HS256, as the runtime does).
// Usage: node browser_session_expiry.mjs <server url> <JWT secret>

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { Pages, runScenarioAndExit, STEP_TIMEOUT_MS } from "./browser.mjs";

const PASSWORD = "correct horse battery";
const TOKEN_KEY = "appc:token";
/** How long the short token lives: long enough for the page to load and its socket to connect. */
const SHORT_TOKEN_SECONDS = 10;

const [url, jwtSecret] = process.argv.slice(2);
if (!url || !jwtSecret) {
  console.error("usage: node browser_session_expiry.mjs <server url> <JWT secret>");
  process.exit(2);
}
const pages = new Pages();

function base64url(value) {
  return Buffer.from(value).toString("base64url");
}

/** A token of the server's form for `userId`, expiring `secondsLeft` from now (negative: past). */
function signedToken(userId, secondsLeft) {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ typ: "JWT", alg: "HS256" }));
  const claims = base64url(JSON.stringify({ sub: String(userId), iat: now, exp: now + secondsLeft }));
  const signature = createHmac("sha256", jwtSecret).update(`${header}.${claims}`).digest("base64url");
  return `${header}.${claims}.${signature}`;
}

async function signUp(username) {
  const response = await fetch(new URL("/auth/signup", url), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()).user;
}

async function expectText(locator, expected) {
  const reads = async () => (await locator.count()) === 1 && (await locator.innerText()).trim() === expected;
  await waitFor(reads, `${locator} to read \`${expected}\``);
}

/** Polls `condition` until it holds, failing after `timeoutMs` with what was awaited. */
async function waitFor(condition, what, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function storedToken(page) {
  return page.evaluate((key) => window.localStorage.getItem(key), TOKEN_KEY);
}

function storeToken(page, token) {
  return page.evaluate(([key, value]) => window.localStorage.setItem(key, value), [TOKEN_KEY, token]);
}

async function expectLoginPageAfterSessionEnd(page) {
  await page.waitForURL(new URL("/login", url).toString());
  await expectText(page.getByTestId("session-end"), "Your session expired; log in again.");
  assert.equal(await storedToken(page), null, "the expired token is forgotten");
}

async function scenario(browser) {
  const ada = await signUp("ada");

  // An anonymous visitor in the lobby: one connection, one greeting, for the whole scenario.
  const guestPage = await pages.open(browser, "guest");
  await guestPage.goto(new URL("/", url).toString());
  await expectText(guestPage.getByTestId("lobby-status"), "connected");
  await expectText(guestPage.getByTestId("last-greeting"), "Hello, guest!");
  await expectText(guestPage.getByTestId("greeting-count"), "1");

  // Without a login, the account page goes to the login page, which has no session to speak of.
  const adaPage = await pages.open(browser, "ada");
  await adaPage.goto(new URL("/account", url).toString());
  await adaPage.waitForURL(new URL("/login", url).toString());
  assert.equal(await adaPage.getByTestId("session-end").count(), 0);

  // Logging in opens the account page, whose socket the `auth: true` namespace welcomes.
  await adaPage.getByLabel("Username").fill("ada");
  await adaPage.getByLabel("Password").fill(PASSWORD);
  await adaPage.getByRole("button", { name: "Log in", exact: true }).click();
  await adaPage.waitForURL(new URL("/account", url).toString());
  await expectText(adaPage.getByTestId("welcome"), "Welcome, ada!");
  await expectText(adaPage.getByTestId("account-status"), "connected");
  await expectText(adaPage.getByTestId("last-greeting"), "Hello, ada!");

  // The token expires while the socket is connected: the server ends the session, and the page
  // ends on the login page with the token forgotten, not on a dead "disconnected" page.
  const expiresAt = Date.now() + SHORT_TOKEN_SECONDS * 1000;
  await storeToken(adaPage, signedToken(ada.id, SHORT_TOKEN_SECONDS));
  await adaPage.reload();
  await expectText(adaPage.getByTestId("welcome"), "Welcome, ada!");
  await expectText(adaPage.getByTestId("account-status"), "connected");
  await expectText(adaPage.getByTestId("last-greeting"), "Hello, ada!");
  await waitFor(
    async () => adaPage.url() === new URL("/login", url).toString(),
    "the login page after the token expired",
    SHORT_TOKEN_SECONDS * 1000 + STEP_TIMEOUT_MS,
  );
  // Whole seconds: the token's `exp` is rounded down to one.
  assert.ok(Date.now() >= expiresAt - 1000, "the session ended at the token's expiry, not before");
  await expectLoginPageAfterSessionEnd(adaPage);
  // Both of the page's sockets were ended by the server; the lobby's came back as a guest's.
  await expectText(adaPage.getByTestId("last-greeting"), "Hello, guest!");
  await expectText(adaPage.getByTestId("lobby-status"), "connected");

  // Logging in again works, and the new session no longer counts as ended.
  await adaPage.getByLabel("Username").fill("ada");
  await adaPage.getByLabel("Password").fill(PASSWORD);
  await adaPage.getByRole("button", { name: "Log in", exact: true }).click();
  await adaPage.waitForURL(new URL("/account", url).toString());
  await expectText(adaPage.getByTestId("welcome"), "Welcome, ada!");

  // A handshake with a token that expired a minute ago is refused by the `auth: true` namespace:
  // the same end. `GET /auth/me` is answered as if the token were still good, so that the page
  // mounts and its socket's refused handshake is what ends the session.
  await adaPage.route("**/auth/me", (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(ada) }),
  );
  await storeToken(adaPage, signedToken(ada.id, -60));
  await adaPage.goto(new URL("/account", url).toString());
  await expectLoginPageAfterSessionEnd(adaPage);
  await adaPage.unroute("**/auth/me");

  // The lobby takes the logged-out page as a guest.
  await adaPage.goto(new URL("/", url).toString());
  await expectText(adaPage.getByTestId("last-greeting"), "Hello, guest!");

  // The visitor's anonymous socket never noticed: still its first connection.
  await expectText(guestPage.getByTestId("lobby-status"), "connected");
  await expectText(guestPage.getByTestId("greeting-count"), "1");
  assert.deepEqual(pages.errors, [], "the pages ran without errors");
}

await runScenarioAndExit({ title: "browser session expiry", screenshotName: "session-expiry", pages, scenario });
