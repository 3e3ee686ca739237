// Shared helpers for the browser scenarios: launch Debian's chromium headless through
// playwright-core (whose own browser download cannot reach the network), log in, wait.
"use strict";
const { chromium } = require("playwright-core");

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"];

async function launch() {
  return chromium.launch({
    executablePath: process.env.QUARRY_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ARGS,
  });
}

async function newPage(browser, options) {
  const context = await browser.newContext(Object.assign({ viewport: { width: 1280, height: 800 } }, options || {}));
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const problems = [];
  page.on("pageerror", (err) => problems.push("page error: " + err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) problems.push("console: " + msg.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) {
      problems.push("HTTP " + response.status() + " " + response.url());
    }
  });
  page.problems = problems;
  return page;
}

async function login(page, base, username, password) {
  await page.goto(base + "/login/");
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/login")), page.click("button[type=submit]")]);
}

async function currentSample(page) {
  return page.getAttribute("#labeler", "data-sample-id");
}

async function waitForSampleOtherThan(page, previous) {
  await page.waitForFunction(
    (prev) => { const v = document.getElementById("labeler").dataset.sampleId; return v && v !== prev; },
    previous,
  );
  return currentSample(page);
}

async function waitSaved(page) {
  await page.waitForFunction(() => {
    const el = document.getElementById("sync-state");
    return el && el.dataset.waiting === "0";
  });
}

function params() {
  return JSON.parse(process.argv[2] || "{}");
}

async function main(run) {
  let browser;
  try {
    browser = await launch();
    const result = await run(browser, params());
    process.stdout.write("\nRESULT " + JSON.stringify(result) + "\n");
  } catch (err) {
    process.stderr.write((err && err.stack) || String(err));
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
  }
}

module.exports = { launch, newPage, login, currentSample, waitForSampleOtherThan, waitSaved, main };
