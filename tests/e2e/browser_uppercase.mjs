// Drives the uppercase example's web client in Debian's chromium with playwright-core: the
// generated SDK's `useSocket` connects with the typed `Visitor` handshake over the msgpack parser,
// the server greets each visitor by name, and each visitor's texts come back upper-cased to them
// alone. An unknown path shows the generated not-found page.
// Usage: node browser_uppercase.mjs <server url>
// On failure every page is saved as a PNG (the paths are printed).

import assert from "node:assert/strict";
import { launchChromium, Pages } from "./browser.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser_uppercase.mjs <server url>");
  process.exit(2);
}
/** Every page opened, so all of them can be photographed when something fails. */
const pages = new Pages();

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

const browser = await launchChromium();
try {
  const ada = await pages.open(browser, "ada");
  const bob = await pages.open(browser, "bob");
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

  assert.deepEqual(pages.errors, [], "the pages raised no errors");
  console.log("ok: uppercase in chromium");
} catch (error) {
  await pages.screenshotAll("uppercase", "failure");
  console.error(`FAILED: uppercase in chromium: ${error?.stack ?? error}\npage errors: ${pages.errors.join("\n") || "none"}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
