// Submissions survive a flaky network: the first label's response is lost after the
// server stored it (the retry must be replayed, not counted twice); the second label's
// requests fail outright until the network comes back. The retry banner must show.
"use strict";
const { newPage, login, waitForSampleOtherThan, waitSaved, main } = require("./lib");

main(async (browser, p) => {
  const page = await newPage(browser);
  await login(page, p.base, p.username, p.password);
  let attempts = 0;
  let mode = "lose-response";
  await page.route("**/queue/submit/", async (route) => {
    attempts += 1;
    if (mode === "lose-response") {
      await route.fetch();          // the server stores the label...
      mode = "down";
      return route.abort("failed");  // ...but the browser never hears back
    }
    if (mode === "down") return route.abort("internetdisconnected");
    return route.continue();
  });
  await page.goto(p.base + "/projects/" + p.project + "/label/");
  let sid = await waitForSampleOtherThan(page, "");
  const labels = {};
  labels[sid] = 2;
  await page.keyboard.press(p.hotkeys[2]);
  sid = await waitForSampleOtherThan(page, sid);
  labels[sid] = 3;
  await page.keyboard.press(p.hotkeys[3]);
  await page.waitForSelector("#retry-now", { state: "visible" });
  const banner = await page.textContent("#sync-state");
  await page.screenshot({ path: p.screenshots + "/label-view-retrying.png" });
  mode = "up";
  await page.click("#retry-now");
  await waitSaved(page);
  page.problems.splice(0);  // the failed requests above were on purpose
  return { labels, attempts, banner, problems: page.problems };
});
