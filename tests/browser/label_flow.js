// An annotator labels 10 samples by keyboard (one with Enter, accepting the suggestion),
// goes back and changes one, skips one, then labels 6 in grid mode. Prints what it did,
// with the queue calls the 10 keyboard labels made.
"use strict";
const { newPage, login, currentSample, waitForSampleOtherThan, waitSaved, main } = require("./lib");

main(async (browser, p) => {
  const page = await newPage(browser);
  await login(page, p.base, p.username, p.password);
  // Queue calls while labeling by keyboard: the submits bring the next samples back.
  let calls = { next: 0, submit: 0, submitWithNext: 0 };
  let counting = true;
  page.on("request", (req) => {
    if (!counting) return;
    if (req.url().endsWith("/queue/next/")) calls.next += 1;
    if (req.url().endsWith("/queue/submit/")) {
      calls.submit += 1;
      if (JSON.parse(req.postData()).next > 0) calls.submitWithNext += 1;
    }
  });
  const labelCalls = calls;
  await page.goto(p.base + "/projects/" + p.project + "/label/");
  let sid = await waitForSampleOtherThan(page, "");
  const labels = {};
  const hotkeys = p.hotkeys;
  for (let i = 0; i < 10; i++) {
    let label = (i * 3) % p.n_classes;
    if (i === 4) {
      const suggested = await page.$eval("#suggestion", (el) => !el.hidden);
      if (!suggested) throw new Error("sample " + sid + " shows no suggestion");
      await page.keyboard.press("Enter");
      label = null;
    } else {
      await page.keyboard.press(hotkeys[label]);
    }
    labels[sid] = label;
    sid = await waitForSampleOtherThan(page, sid);
    await waitSaved(page);  // at an expert's pace: the label is stored before the next key
    if (i === 5) {
      await page.keyboard.press("h");
      const heatmapShown = await page.$eval("#heatmap", (el) => !el.hidden);
      if (heatmapShown) await page.screenshot({ path: p.screenshots + "/label-view-heatmap.png" });
      await page.keyboard.press("h");
    }
  }
  await waitSaved(page);
  counting = false;
  // Back (U) to the last labeled sample, change it, and return to the current one.
  const current = sid;
  await page.keyboard.press("u");
  const previous = await waitForSampleOtherThan(page, current);
  const editing = await page.$eval("#editing", (el) => !el.hidden);
  const changedTo = (labels[previous] === null ? 0 : labels[previous] + 1) % p.n_classes;
  await page.keyboard.press(hotkeys[changedTo]);
  labels[previous] = changedTo;
  sid = await waitForSampleOtherThan(page, previous);
  // Skip one.
  const skipped = sid;
  await page.keyboard.press("s");
  sid = await waitForSampleOtherThan(page, skipped);
  await waitSaved(page);
  await page.screenshot({ path: p.screenshots + "/label-view.png" });
  const shortcutsBefore = await page.$eval("#shortcuts", (el) => el.hidden);
  await page.keyboard.press("?");
  const shortcutsShown = await page.$eval("#shortcuts", (el) => !el.hidden);
  await page.keyboard.press("Escape");

  // Grid mode: click the first thumbnail, shift-click the sixth, press a class key.
  await page.goto(p.base + "/projects/" + p.project + "/grid/");
  await page.waitForFunction(() => document.querySelectorAll(".thumb").length >= 6);
  calls = { next: 0, submit: 0, submitWithNext: 0 };
  counting = true;
  await page.locator(".thumb").nth(0).click();
  await page.locator(".thumb").nth(5).click({ modifiers: ["Shift"] });
  const selected = await page.$$eval(".thumb.selected", (els) => els.map((e) => e.dataset.sampleId));
  await page.screenshot({ path: p.screenshots + "/grid-mode.png" });
  const gridLabel = 1;
  await page.keyboard.press(hotkeys[gridLabel]);
  for (const id of selected) labels[id] = gridLabel;
  await waitSaved(page);
  counting = false;
  const gridCalls = calls;
  await page.waitForFunction((ids) => ids.every((id) => !document.querySelector('.thumb[data-sample-id="' + id + '"]')), selected);
  // Drag across three thumbnails selects them; Escape clears the selection (nothing labeled).
  await page.waitForFunction(() => document.querySelectorAll(".thumb").length >= 3);
  const first = await page.locator(".thumb").nth(0).boundingBox();
  const third = await page.locator(".thumb").nth(2).boundingBox();
  await page.mouse.move(first.x + 20, first.y + 20);
  await page.mouse.down();
  await page.mouse.move(third.x + 20, third.y + 20, { steps: 8 });
  await page.mouse.up();
  const dragged = await page.$$eval(".thumb.selected", (els) => els.length);
  await page.keyboard.press("Escape");
  const afterEscape = await page.$$eval(".thumb.selected", (els) => els.length);
  return { labels, skipped, changed: previous, editing, selected, shortcutsBefore, shortcutsShown,
           dragged, afterEscape, calls: labelCalls, gridCalls,
           problems: page.problems, current: await currentSample(page) };
});
