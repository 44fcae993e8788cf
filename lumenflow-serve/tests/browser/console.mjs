// Drives the LumenFlow console in headless Chromium (Debian's, through playwright-core:
// no browser download). Run by tests/console_browser.rs, which starts a real daemon and
// real agents blocked in wait_for_approval on its socket.
//
// Protocol: configuration in LF_CONSOLE (JSON: url, chromium, id, secret, first); the
// script prints one JSON object per line on stdout ({"step": ...}); after the first
// approval it prints {"step":"ready"} and reads the id of a second request on stdin,
// which must appear live (no reload) and is rejected.
import { createRequire } from "node:module";
import readline from "node:readline";

const cfg = JSON.parse(process.env.LF_CONSOLE);
// playwright-core lives in the cache scripts/test-console.sh fills (ES modules ignore
// NODE_PATH, so it is required from there).
const { chromium } = createRequire(cfg.node_modules + "/")("playwright-core");
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));
const fail = (msg) => { out({ step: "error", error: msg }); process.exit(1); };

async function paintTimes(page) {
  // First contentful paint, from the browser's own performance timeline.
  return await page.evaluate(() => new Promise((resolve) => {
    const done = () => {
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      const fp = performance.getEntriesByName("first-paint")[0];
      const nav = performance.getEntriesByType("navigation")[0];
      if (!fcp) return false;
      resolve({
        first_paint_ms: fp ? fp.startTime : null,
        first_contentful_paint_ms: fcp.startTime,
        dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
        load_ms: nav ? nav.loadEventEnd : null,
        transfer_bytes: nav ? nav.transferSize : null,
      });
      return true;
    };
    if (done()) return;
    new PerformanceObserver(() => { done(); }).observe({ type: "paint", buffered: true });
    setTimeout(() => resolve({ first_contentful_paint_ms: null }), 5000);
  }));
}

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  // Cold first paint, measured in fresh contexts (no cache), before anything else.
  const paints = [];
  for (let i = 0; i < (cfg.paint_runs || 5); i++) {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(cfg.url, { waitUntil: "load" });
    paints.push(await paintTimes(p));
    await ctx.close();
  }
  out({ step: "paint", runs: paints });

  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e));
  // Chromium logs every refused fetch; the 401s of the session probe before login and of
  // the wrong secret are expected answers, anything else is a problem.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("status of 401")) problems.push("console: " + m.text());
  });
  await page.goto(cfg.url);
  await page.waitForSelector("#login-view:not([hidden])");

  // A wrong secret is refused in the page.
  await page.fill("#login-id", cfg.id);
  await page.fill("#login-secret", "not-the-secret");
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#login-error").textContent.includes("wrong secret"));
  out({ step: "wrong_secret_refused" });

  await page.fill("#login-secret", cfg.secret);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#app-view:not([hidden])");
  const who = await page.textContent("#who");
  if (!who.includes(cfg.id)) fail("not signed in as " + cfg.id + ": " + who);
  out({ step: "logged_in" });

  // The pending request, with the exact action, the rules and quorum progress.
  const first = `#pending-list [data-request="${cfg.first}"]`;
  await page.waitForSelector(first, { timeout: 10000 });
  const card = page.locator(first);
  const summary = await card.locator(".summary").textContent();
  const rules = await card.locator(".rules").textContent();
  const quorum = await card.locator(".quorum").textContent();
  const asker = await card.locator(".asker").textContent();
  const commands = await card.locator(".commands tbody").textContent();
  out({ step: "seen", summary, rules, quorum, asker, commands });
  await page.waitForSelector("#live.on", { timeout: 10000 });
  await card.locator(".reason").fill("checked the branch, fine to push");
  await card.locator("button.approve").click();
  await page.waitForSelector(first, { state: "detached", timeout: 10000 });
  out({ step: "approved" });

  // A second request arrives while the page is open: it must show up live.
  out({ step: "ready" });
  const second = (await nextLine()).trim();
  const sel = `#pending-list [data-request="${second}"]`;
  await page.waitForSelector(sel, { timeout: 10000 });
  const card2 = page.locator(sel);
  const summary2 = await card2.locator(".summary").textContent();
  // Markup the agent put in its command is shown as text, never run.
  const injected = await page.evaluate((s) => ({
    pwned: window.__pwned === 1,
    images: document.querySelectorAll(s + " img").length,
  }), sel);
  out({ step: "seen_live", summary: summary2, injected });
  await card2.locator(".reason").fill("no force pushes to main");
  await card2.locator("button.reject").click();
  await page.waitForSelector(sel, { state: "detached", timeout: 10000 });
  out({ step: "rejected" });

  // The evidence timeline shows both votes.
  await page.click('button[data-tab="timeline"]');
  await page.selectOption("#f-kind", "approval");
  await page.click("#filters button[type=submit]");
  await page.waitForFunction(() => document.querySelectorAll("#timeline tbody tr").length >= 2);
  const votes = await page.locator("#timeline tbody tr").allTextContents();
  // And verify passes.
  await page.click('button[data-tab="verify"]');
  await page.click("#verify-run");
  await page.waitForFunction(() => document.querySelector("#verify-verdict").textContent.startsWith("valid"));
  const verdict = await page.textContent("#verify-verdict");
  out({ step: "timeline", votes, verdict, problems });
} finally {
  await browser.close();
  lines.close();
}
