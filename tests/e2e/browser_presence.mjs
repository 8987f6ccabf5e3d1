// Drives the presence fixture's page (compiler/tests/fixtures/presence) in Debian's chromium with
// playwright-core: `usePresence` shows who is connected to the namespace and to the lobby (which
// the page joins once connected), marks the page's own entry, and follows a second page arriving
// and leaving.
// Usage: node browser_presence.mjs <server url>
// On failure every page is saved as a PNG (the paths are printed).

import { Pages, runScenarioAndExit } from "./browser.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node browser_presence.mjs <server url>");
  process.exit(2);
}
const pages = new Pages();

/** Waits until the line `testId` of `page` reads one of `texts`. */
async function line(page, testId, texts) {
  const pattern = new RegExp(`^(${texts.map((text) => text.replace(/[()]/g, "\\$&")).join("|")})$`);
  await page.getByTestId(testId).filter({ hasText: pattern }).waitFor();
}

await runScenarioAndExit({
  title: "presence in chromium",
  screenshotName: "presence",
  pages,
  async scenario(browser) {
    const first = await pages.open(browser, "first");
    await first.goto(url);
    await line(first, "everyone", ["you"]);
    await line(first, "lobby", ["you"]);

    const second = await pages.open(browser, "second");
    await second.goto(url);
    // Entries come in key order, and anonymous keys are random: either order is right.
    for (const page of [first, second]) {
      await line(page, "everyone", ["you, guest", "guest, you"]);
      await line(page, "lobby", ["you, guest", "guest, you"]);
    }

    await second.close();
    await line(first, "everyone", ["you"]);
    await line(first, "lobby", ["you"]);
    if (pages.errors.length > 0) throw new Error(`the pages raised errors:\n${pages.errors.join("\n")}`);
  },
});
