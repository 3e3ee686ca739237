// An owner opens the dashboard and the jobs page; screenshots of both.
"use strict";
const { newPage, login, main } = require("./lib");

main(async (browser, p) => {
  const page = await newPage(browser, { viewport: { width: 1280, height: 1100 } });
  await login(page, p.base, p.username, p.password);
  await page.goto(p.base + "/projects/" + p.project + "/dashboard/");
  await page.waitForFunction(() => Array.from(document.querySelectorAll(".plots img")).every((i) => i.complete && i.naturalWidth > 0));
  await page.screenshot({ path: p.screenshots + "/dashboard.png", fullPage: true });
  const plots = await page.$$eval(".plots img", (imgs) => imgs.map((i) => i.naturalWidth));
  await page.goto(p.base + "/projects/" + p.project + "/jobs/");
  await page.waitForTimeout(2000);
  await page.screenshot({ path: p.screenshots + "/jobs.png" });
  const jobRows = await page.$$eval("#jobs-table tbody tr[data-job]", (rows) => rows.length);
  for (const [name, path] of [["project", ""], ["configure", "configure/"], ["review", "review/"]]) {
    await page.goto(p.base + "/projects/" + p.project + "/" + path);
    await page.screenshot({ path: p.screenshots + "/" + name + ".png", fullPage: true });
  }
  await page.goto(p.base + "/");
  await page.screenshot({ path: p.screenshots + "/home.png" });
  return { plots, jobRows, problems: page.problems };
});
