// Drives the web client of compiler/tests/fixtures/full_api, served under `client.baseDir`
// (`/app`), in Debian's chromium with playwright-core: the page and its assets load under the
// prefix, a typed `Link` from `@appc/router` with a parameter leads to `/app/rooms/3`, whose page
// requires a login and so sends the visitor to `/app/login` (the router's basename applies to
// redirects too), and a reload on a deep client route works.
// Usage: node browser_base_dir.mjs <server url>
// On failure the page is saved as a PNG (the path is printed).

import assert from "node:assert/strict";
import { launchChromium, Pages } from "./browser.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser_base_dir.mjs <server url>");
  process.exit(2);
}
/** The page, with its uncaught exceptions, console errors and failed requests: a working client has none. */
const pages = new Pages();
const browser = await launchChromium();
const page = await pages.open(browser, "page", {
  // Browsers ask for `/favicon.ico` at the root, outside the prefix, where nothing is served.
  ignoreConsoleError: (message) => message.location().url.endsWith("/favicon.ico"),
});
page.on("response", (response) => {
  if (response.status() >= 400) pages.errors.push(`${response.status()} for ${response.url()}`);
});
const pathname = () => new URL(page.url()).pathname;

try {
  // The bare host redirects to the prefix, where the start page renders.
  await page.goto(url);
  await page.getByRole("heading", { name: "Full" }).waitFor();
  assert.equal(pathname(), "/app/");

  // `<Link to="/rooms/:id" params={{ id: 3 }}>` under the basename.
  const roomLink = page.getByTestId("room-link");
  assert.equal(await roomLink.getAttribute("href"), "/app/rooms/3");
  assert.equal(await page.getByRole("link", { name: "All rooms" }).getAttribute("href"), "/rooms?page=2",
    "`routes.X.build()` gives the path inside the app, without the prefix");
  // The rooms page requires a login: the visitor lands on `onAuthFailedRedirectTo` under the prefix.
  await roomLink.click();
  await page.waitForURL((current) => current.pathname === "/app/login");
  await page.getByRole("heading", { name: "Full" }).waitFor();

  // A reload on a deep client route: the server answers index.html, the assets load from /app.
  await page.goto(new URL("/app/some/route", url).toString());
  await page.getByRole("heading", { name: "Page not found" }).waitFor();
  await page.getByRole("link", { name: "Go to the start page" }).click();
  await page.waitForURL((current) => current.pathname === "/app/" || current.pathname === "/app");
  await page.getByRole("heading", { name: "Full" }).waitFor();

  assert.deepEqual(pages.errors, [], "the page raised no errors and no request failed");
  console.log("ok: base dir in chromium");
} catch (error) {
  await pages.screenshotAll("base-dir", "failure");
  console.error(`FAILED: base dir in chromium: ${error?.stack ?? error}\npage errors: ${pages.errors.join("\n") || "none"}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
