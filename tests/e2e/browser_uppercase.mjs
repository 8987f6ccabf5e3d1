// Drives the uppercase example's web client in Debian's chromium with playwright-core: the
// generated SDK's `useSocket` connects with the typed `Visitor` handshake over the msgpack parser,
// the server greets each visitor by name, and each visitor's texts come back upper-cased to them
// alone. An unknown path shows the generated not-found page.
// Usage: node browser_uppercase.mjs <server url>
// On failure every page is saved as a PNG (the paths are printed).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Debian's chromium; the tests never download a browser. */
const CHROMIUM = "/usr/bin/chromium";
/** How long one step (a click, a text to appear) may take before the scenario fails. */
const STEP_TIMEOUT_MS = 10_000;

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser_uppercase.mjs <server url>");
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`FAILED: chromium is missing at ${CHROMIUM}; install it with \`apt-get install chromium\``);
  process.exit(1);
}

const pages = new Map();
/** Uncaught exceptions and console errors of the pages: a working client has none. */
const pageErrors = [];

async function openVisitor(browser, name) {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(`${name}: uncaught ${error.stack ?? error}`));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(`${name}: console error: ${message.text()}`);
  });
  pages.set(name, page);
  return page;
}

/** Opens the page, joins with a name and an age, and waits for the server's greeting. */
async function joinAs(page, name, age) {
  await page.goto(url);
  await page.locator("input[name=name]").fill(name);
  await page.locator("input[name=age]").fill(String(age));
  await page.getByRole("button", { name: "Join" }).click();
  await page.locator(".greeting").filter({ hasText: `Hello, ${name}!` }).waitFor();
  await page.locator(".status").filter({ hasText: /^connected$/ }).waitFor();
}

async function send(page, text) {
  await page.locator("input[name=text]").fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

async function answers(page) {
  return page.locator(".answers li").allTextContents();
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const ada = await openVisitor(browser, "ada");
  const bob = await openVisitor(browser, "bob");
  await joinAs(ada, "Ada", 36);
  await joinAs(bob, "Bob", 41);

  await send(ada, "hello");
  await send(ada, "Grüße, world 42");
  await ada.locator(".answers li").nth(1).waitFor();
  assert.deepEqual(await answers(ada), ["HELLO", "GRÜSSE, WORLD 42"]);

  await send(bob, "bob here");
  await bob.locator(".answers li").first().waitFor();
  assert.deepEqual(await answers(bob), ["BOB HERE"], "Bob sees only his own answers");
  assert.deepEqual(await answers(ada), ["HELLO", "GRÜSSE, WORLD 42"], "Ada does not see Bob's");

  // A client-side route no `route` declares: the server answers index.html, the router the
  // generated not-found page.
  await ada.goto(new URL("/no/such/page", url).toString());
  await ada.getByRole("heading", { name: "Page not found" }).waitFor();

  assert.deepEqual(pageErrors, [], "the pages raised no errors");
  console.log("ok: uppercase in chromium");
} catch (error) {
  const folder = mkdtempSync(join(tmpdir(), "appc-browser-uppercase-"));
  for (const [name, page] of pages) {
    const path = join(folder, `${name}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`screenshot: ${path}`);
  }
  console.error(`FAILED: uppercase in chromium: ${error?.stack ?? error}\npage errors: ${pageErrors.join("\n") || "none"}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
