// What the browser scripts share: Debian's chromium started by playwright-core (the tests never
// download a browser), pages that record their errors, screenshots of every page, waiting for a
// condition or a text within a step's timeout, and the run of one scenario with its exit status.

import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";
/** How long one step (a click, a text to appear) may take before a scenario fails. */
export const STEP_TIMEOUT_MS = 10_000;

/**
 * Starts headless chromium. The network flags keep it from calling Google's services, which a
 * closed network refuses (many connections at a time) at every start. Exits with a message
 * naming the package when chromium is missing.
 */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    console.error(
      `FAILED: chromium is missing at ${CHROMIUM}; install it with \`apt-get install chromium\` (scripts/test.sh does it)`,
    );
    process.exit(1);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Polls `condition` until it holds, failing after STEP_TIMEOUT_MS with what was awaited. */
export async function waitFor(condition, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${what}`);
}

/** Waits until `locator` matches exactly one element whose trimmed text is `expected`. */
export async function expectText(locator, expected) {
  const reads = async () => (await locator.count()) === 1 && (await locator.innerText()).trim() === expected;
  await waitFor(reads, `${locator} to read \`${expected}\``);
}

/** The pages a scenario opened, by name, and the errors they raised. */
export class Pages {
  constructor() {
    /** @type {Map<string, import("playwright-core").Page>} */
    this.byName = new Map();
    /** Uncaught exceptions and console errors of the pages: a working client has none. */
    this.errors = [];
  }

  /**
   * Opens a page named `name` in a browser context of its own (its own storage, so its own
   * login). `ignoreConsoleError(message)` may excuse console errors a scenario expects.
   */
  async open(browser, name, { contextOptions = {}, ignoreConsoleError = () => false } = {}) {
    const context = await browser.newContext(contextOptions);
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    page.on("pageerror", (error) => this.errors.push(`${name}: uncaught ${error.stack ?? error}`));
    page.on("console", (message) => {
      if (message.type() === "error" && !ignoreConsoleError(message)) {
        this.errors.push(`${name}: console error: ${message.text()} (${message.location().url})`);
      }
    });
    this.byName.set(name, page);
    return page;
  }

  /** Saves every page as a PNG under `<temp dir>/appc-browser-<scenario>-<pid>/` and prints the paths. */
  async screenshotAll(scenario, reason) {
    const directory = join(tmpdir(), `appc-browser-${scenario}-${process.pid}`);
    mkdirSync(directory, { recursive: true });
    for (const [name, page] of this.byName) {
      const path = join(directory, `${name}.png`);
      try {
        await page.screenshot({ path, fullPage: true });
        console.error(`${reason}: screenshot of ${name}'s page: ${path}`);
      } catch (error) {
        console.error(`${reason}: no screenshot of ${name}'s page: ${error}`);
      }
    }
  }
}

/**
 * Runs `scenario(browser)` in a fresh chromium, then closes it and exits: 0 after printing
 * `ok: <title>`, 1 after printing the failure, the pages' errors and a screenshot of every page
 * (saved under `<screenshotName>`). `APPC_SCREENSHOTS=1` asks for screenshots after a success too.
 */
export async function runScenarioAndExit({ title, screenshotName, pages, scenario }) {
  const browser = await launchChromium();
  let failed = false;
  try {
    await scenario(browser);
    if (process.env.APPC_SCREENSHOTS === "1") await pages.screenshotAll(screenshotName, "requested");
    console.log(`ok: ${title}`);
  } catch (error) {
    failed = true;
    console.error(`FAILED: ${title}: ${error?.stack ?? error}`);
    if (pages.errors.length > 0) console.error(`errors in the pages:\n${pages.errors.join("\n")}`);
    await pages.screenshotAll(screenshotName, "failure");
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}
