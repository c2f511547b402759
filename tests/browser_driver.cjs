// Opens each page in the system Chromium and reports what a person would
// meet: console errors, dialogs, requests for anything but the page itself,
// links that go nowhere, axe-core violations, hostile markup that became
// markup, pages wider than a phone; takes the screenshots asked for.
// Usage: node tests/browser_driver.cjs CONFIG.json (written by tests/helpers.py browse)
"use strict";
const fs = require("fs");
const path = require("path");
const { fileURLToPath } = require("url");
const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { chromium } = require(config.playwright);
const axeSource = fs.readFileSync(config.axe, "utf8");

async function check(page, entry) {
  const seen = { console: [], pageErrors: [], dialogs: [], requests: [] };
  const url = require("url").pathToFileURL(entry.path).href;
  page.removeAllListeners();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.console.push(m.text());
  });
  page.on("pageerror", (e) => seen.pageErrors.push(String(e)));
  page.on("dialog", (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on("request", (r) => {
    if (r.url() !== url && !r.url().startsWith("data:")) seen.requests.push(r.url());
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(url, { waitUntil: "load" });
  const dom = await page.evaluate((texts) => {
    const all = Array.from(document.querySelectorAll("*"));
    const body = document.body.textContent;
    return {
      links: Array.from(document.querySelectorAll("a[href]")).map((a) => ({
        href: a.href,
        same: a.href.split("#")[0] === location.href.split("#")[0],
        target: !a.hash || document.getElementById(decodeURIComponent(a.hash.slice(1))) !== null,
      })),
      onAttributes: all.filter(
        (e) => Array.from(e.attributes).some((a) => a.name.startsWith("on"))).length,
      images: document.images.length,
      scripts: document.scripts.length,
      missingText: texts.filter((t) => !body.includes(t)),
      styled: getComputedStyle(document.body).maxWidth !== "none",
      title: document.title,
      h1: document.querySelectorAll("h1").length,
    };
  }, entry.texts || []);
  const broken = [];
  for (const link of dom.links) {
    if (link.same) {
      if (!link.target) broken.push(link.href);
    } else if (!link.href.startsWith("file:")
               || !fs.existsSync(fileURLToPath(link.href.split("#")[0]))) {
      broken.push(link.href);
    }
  }
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await axe.run(document, {
      resultTypes: ["violations"],
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
      },
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  let sorted = null;
  if (entry.sort) {
    const numbers = async () => page.$$eval("table[data-sortable] tbody tr", (rows) =>
      rows.map((r) => parseFloat(r.cells[1].getAttribute("data-v"))));
    const button = page.locator("table[data-sortable] thead th").nth(1).locator("button");
    await button.click();
    const up = await numbers();
    await button.click();
    const down = await numbers();
    const ascending = (xs) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
    sorted = up.length > 1 && ascending(up) && ascending(down.slice().reverse());
  }
  for (const shot of entry.shots || []) {
    await page.setViewportSize({ width: shot.width, height: 900 });
    await page.emulateMedia({ media: shot.print ? "print" : "screen" });
    await page.screenshot({ path: path.join(config.shots, shot.name), fullPage: true });
    await page.emulateMedia({ media: "screen" });
  }
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - window.innerWidth);
  return {
    path: entry.path, ...seen, broken, violations, sorted, overflow, ...dom,
    links: dom.links.length,
  };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const out = { pages: [], noscript: null };
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const entry of config.pages) out.pages.push(await check(page, entry));
    const quiet = await browser.newContext({ javaScriptEnabled: false });
    const still = await quiet.newPage();
    await still.setViewportSize({ width: 1280, height: 900 });
    await still.goto(require("url").pathToFileURL(config.noscript).href);
    out.noscript = await still.evaluate(() => ({
      rows: document.querySelectorAll("table[data-sortable] tbody tr").length,
      buttons: document.querySelectorAll("th button").length,
      links: document.querySelectorAll("table[data-sortable] a[href$='report.html']").length,
    }));
    await still.screenshot({
      path: path.join(config.shots, "summary-without-javascript.png"), fullPage: true,
    });
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
