// Checks over HTTP that a generated server binary serves its bundled web client.
// Usage: node web.mjs <server url> <scenario> <expected title>
// Scenarios:
//   serves   `/` and an unknown client-side path (`/login`, `/some/deep/path`) answer the bundle's
//            `index.html`, its script is served as JavaScript, and `/auth/me` still answers JSON
//   under    the same for an app with `client.baseDir: "/app"`: the pages and assets are served
//            under `/app/` (`/` redirects there, other paths are not found), `/auth` stays at the root

import assert from "node:assert/strict";
import { run } from "./lib.mjs";

const [url, scenario, title] = process.argv.slice(2);
if (!url || !scenario || !title) {
  console.error("usage: node web.mjs <server url> <scenario> <expected title>");
  process.exit(2);
}

async function get(path, headers = {}) {
  const response = await fetch(new URL(path, url), { headers });
  return { status: response.status, type: response.headers.get("content-type") ?? "", body: await response.text() };
}

const scenarios = {
  async serves() {
    const index = await get("/");
    assert.equal(index.status, 200, "`/` answers");
    assert.match(index.type, /^text\/html/);
    assert.ok(index.body.includes(`<title>${title}</title>`), `index.html has the app's title:\n${index.body}`);
    assert.ok(index.body.includes('<div id="root"></div>'), "index.html has the React root");

    // Client-side routes are not files: the server answers them with index.html (SPA fallback),
    // so a reload on `/login` shows the login page.
    for (const path of ["/login", "/some/deep/path"]) {
      const page = await get(path, { accept: "text/html" });
      assert.equal(page.status, 200, `${path} answers`);
      assert.equal(page.body, index.body, `${path} answers index.html`);
    }

    const script = index.body.match(/src="(\/assets\/[^"]+\.js)"/);
    assert.ok(script, `index.html loads a bundled script:\n${index.body}`);
    const bundle = await get(script[1]);
    assert.equal(bundle.status, 200, `${script[1]} answers`);
    assert.match(bundle.type, /javascript/);
    assert.ok(bundle.body.length > 1000, "the bundle holds the app");
    // Hashed assets never change, so browsers may keep them; index.html is always revalidated.
    const headers = (await fetch(new URL(script[1], url))).headers;
    assert.match(headers.get("cache-control") ?? "", /immutable/);
    assert.equal((await fetch(new URL("/", url))).headers.get("cache-control"), "no-cache");
    const post = await fetch(new URL("/login", url), { method: "POST" });
    assert.equal(post.status, 405, "only GET and HEAD reach the web client");

    // The server's own routes are not swallowed by the fallback.
    const me = await get("/auth/me");
    assert.equal(me.status, 401);
    assert.match(me.type, /^application\/json/);
    assert.equal(JSON.parse(me.body).error.code, "unauthorized");
  },
};

scenarios.under = async () => {
  const base = "/app";
  const root = await fetch(new URL("/", url), { redirect: "manual" });
  assert.equal(root.status, 307, "`/` redirects to the pages");
  assert.equal(root.headers.get("location"), `${base}/`);

  const index = await get(`${base}/`);
  assert.equal(index.status, 200, `${base}/ answers`);
  assert.match(index.type, /^text\/html/);
  assert.ok(index.body.includes(`<title>${title}</title>`), `index.html has the app's title:\n${index.body}`);
  for (const path of [base, `${base}/some/route`, `${base}/rooms/3`]) {
    const page = await get(path, { accept: "text/html" });
    assert.equal(page.status, 200, `${path} answers`);
    assert.equal(page.body, index.body, `${path} answers index.html`);
  }
  // Vite's `base` puts the prefix into the asset URLs, and the server serves them there.
  const script = index.body.match(/src="(\/app\/assets\/[^"]+\.js)"/);
  assert.ok(script, `index.html loads its script from ${base}/assets:\n${index.body}`);
  const bundle = await get(script[1]);
  assert.equal(bundle.status, 200, `${script[1]} answers`);
  assert.match(bundle.type, /javascript/);
  assert.ok(bundle.body.includes(`"${base}"`), "the bundle carries the router's basename");
  const unprefixed = await get(script[1].slice(base.length));
  assert.equal(unprefixed.status, 404, "assets are not served outside the prefix");
  assert.equal((await get("/elsewhere")).status, 404, "paths outside the prefix are not the client's");
  assert.equal((await get("/application")).status, 404, "a prefix of a segment is not the prefix");

  const me = await get("/auth/me");
  assert.equal(me.status, 401, "the server's routes stay at the root");
  assert.match(me.type, /^application\/json/);
};

const selected = scenarios[scenario];
if (!selected) {
  console.error(`unknown scenario ${scenario}; expected one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
await run(`web ${scenario}`, selected);
