// A large image opens fitted to the viewport and smooth; the wheel zooms, a drag pans,
// a double-click fits it again. A small image is scaled up with crisp pixels.
"use strict";
const { newPage, login, waitForSampleOtherThan, main } = require("./lib");

async function view(page) {
  return page.$eval("#sample-image", (img) => ({
    transform: img.style.transform,
    pixelated: img.classList.contains("pixelated"),
    zoom: document.getElementById("zoom-info").textContent,
    natural: img.naturalWidth,
  }));
}

main(async (browser, p) => {
  const page = await newPage(browser);
  await login(page, p.base, p.username, p.password);
  await page.goto(p.base + "/projects/" + p.project + "/label/");
  const first = await waitForSampleOtherThan(page, "");
  await page.waitForFunction(() => document.getElementById("sample-image").complete);
  const fitted = await view(page);
  const box = await page.locator("#viewport").boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -120);
  const zoomed = await view(page);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 150, box.y + box.height / 2 - 80, { steps: 5 });
  await page.mouse.up();
  const panned = await view(page);
  await page.screenshot({ path: p.screenshots + "/label-view-zoomed.png" });
  await page.dblclick("#viewport");
  const reset = await view(page);
  await page.keyboard.press("s");
  await waitForSampleOtherThan(page, first);
  const small = await view(page);
  return { fitted, zoomed, panned, reset, small, problems: page.problems };
});
