// Two annotators in two browser contexts label side by side; every sample each one's
// browser receives from the queue is recorded, to check nobody got a sample the other held.
"use strict";
const { newPage, login, waitForSampleOtherThan, waitSaved, main } = require("./lib");

async function open(browser, p, user) {
  const page = await newPage(browser);
  const received = [];
  page.on("response", async (response) => {
    if (!response.url().includes("/queue/next/") || !response.ok()) return;
    try {
      const data = await response.json();
      for (const item of data.items) received.push(Number(item.sample_id));
    } catch (err) {
      // The page closed before the body arrived: nothing was shown from it.
    }
  });
  await login(page, p.base, user.username, user.password);
  await page.goto(p.base + "/projects/" + p.project + "/label/");
  const sid = await waitForSampleOtherThan(page, "");
  return { page, received, sid };
}

main(async (browser, p) => {
  const a = await open(browser, p, p.users[0]);
  const b = await open(browser, p, p.users[1]);
  const shown = { a: [a.sid], b: [b.sid] };
  for (let i = 0; i < p.rounds; i++) {
    for (const [name, who] of [["a", a], ["b", b]]) {
      await who.page.keyboard.press(p.hotkeys[i % p.n_classes]);
      who.sid = await waitForSampleOtherThan(who.page, who.sid);
      shown[name].push(who.sid);
    }
  }
  await waitSaved(a.page);
  await waitSaved(b.page);
  return { a: a.received, b: b.received, shown, problems: a.page.problems.concat(b.page.problems) };
});
