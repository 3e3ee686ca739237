/* Grid mode: a page of thumbnails; select many, press a class key to label them all. */
(function () {
  "use strict";
  const Q = window.Quarry;
  const flash = Q.flash;
  const config = Q.readConfig();
  const $ = (id) => document.getElementById(id);
  const gridEl = $("thumb-grid");
  const keyToLabel = new Map();
  config.hotkeys.forEach((key, i) => { if (key) keyToLabel.set(key, i); });

  const state = { items: [], selected: new Set(), anchor: null, done: new Set(), fetching: false,
                  dragging: false, count: 0, blocked: null };

  const outbox = new Q.Outbox(config, $("sync"), {
    // a submit brings the top-up back with it (see labelSelected)
    submitted(action, results, handed) { if (handed) { merge(handed); render(); } },
    drained() { fill(); },
  });
  for (const id of outbox.pendingSampleIds()) state.done.add(id);

  // What a get-next (or a submit's top-up) handed out: new samples join the grid.
  function merge(data) {
    state.blocked = data.blocked;
    const known = new Set(state.items.map((i) => i.sample_id));
    for (const item of data.items) {
      if (state.done.has(item.sample_id) || known.has(item.sample_id)) continue;
      if (state.items.length >= config.prefetch) break;
      state.items.push(item);
    }
  }

  async function fill() {
    if (state.fetching || state.items.length >= config.prefetch) return;
    state.fetching = true;
    try {
      merge(await Q.api("POST", config.api.next, { count: config.prefetch }));
    } catch (err) {
      flash(err.message);
    } finally {
      state.fetching = false;
    }
    render();
  }

  function render() {
    const shown = Array.from(gridEl.children).map((c) => Number(c.dataset.sampleId));
    const wanted = state.items.map((it) => it.sample_id);
    if (shown.length !== wanted.length || shown.some((id, i) => id !== wanted[i])) {
      const cells = new Map(Array.from(gridEl.children, (c) => [Number(c.dataset.sampleId), c]));
      gridEl.replaceChildren(...state.items.map((item) => cells.get(item.sample_id) || thumb(item)));
    }
    Array.from(gridEl.children).forEach((cell, index) => {
      cell.dataset.index = String(index);
      cell.classList.toggle("selected", state.selected.has(Number(cell.dataset.sampleId)));
    });
    const empty = $("empty-state");
    empty.hidden = state.items.length > 0;
    empty.textContent = state.blocked || "Loading…";
    const n = state.selected.size;
    $("selection-info").textContent = n ? n + " selected" : "Nothing selected";
    $("done-count").textContent = String(state.count);
  }

  function thumb(item) {
    const cell = document.createElement("div");
    cell.className = "thumb";
    cell.dataset.sampleId = String(item.sample_id);
    const img = document.createElement("img");
    img.src = item.thumb || item.image;
    img.alt = "sample " + item.sample_id;
    img.draggable = false;
    if (item.width < 96 && item.height < 96) img.classList.add("pixelated");
    cell.appendChild(img);
    if (item.suggestion) {
      const tag = document.createElement("span");
      tag.className = "thumb-tag";
      tag.textContent = item.suggestion.class_name + " " + Math.round(item.suggestion.confidence * 100) + "%";
      cell.appendChild(tag);
    }
    return cell;
  }

  function indexOf(target) {
    const cell = target.closest && target.closest(".thumb");
    return cell ? Number(cell.dataset.index) : null;
  }

  gridEl.addEventListener("mousedown", (e) => {
    const i = indexOf(e.target);
    if (i === null) return;
    e.preventDefault();
    const id = state.items[i].sample_id;
    if (e.shiftKey && state.anchor !== null) {
      const [a, b] = [Math.min(state.anchor, i), Math.max(state.anchor, i)];
      for (let k = a; k <= b; k++) state.selected.add(state.items[k].sample_id);
    } else if (e.ctrlKey || e.metaKey) {
      if (state.selected.has(id)) state.selected.delete(id); else state.selected.add(id);
      state.anchor = i;
    } else {
      state.selected = new Set([id]);
      state.anchor = i;
      state.dragging = true;
    }
    render();
  });
  gridEl.addEventListener("mouseover", (e) => {
    if (!state.dragging) return;
    const i = indexOf(e.target);
    if (i === null) return;
    const [a, b] = [Math.min(state.anchor, i), Math.max(state.anchor, i)];
    state.selected = new Set(state.items.slice(a, b + 1).map((it) => it.sample_id));
    render();
  });
  window.addEventListener("mouseup", () => { state.dragging = false; });


  function take(ids) {
    state.items = state.items.filter((it) => !ids.has(it.sample_id));
    for (const id of ids) state.done.add(id);
    state.selected = new Set();
    state.anchor = null;
  }

  function labelSelected(index) {
    const ids = new Set(state.items.filter((it) => state.selected.has(it.sample_id)).map((it) => it.sample_id));
    if (!ids.size) { flash("Select thumbnails first (click, Shift-click or drag)."); return; }
    // the submission tops the grid up in the same request; ask apart only when it is empty
    outbox.submit(Array.from(ids, (id) => ({ sample_id: id, label: index, time_spent_ms: 0 })),
                  config.prefetch);
    state.count += ids.size;
    take(ids);
    render();
    if (!state.items.length) fill();
  }

  function skipSelected() {
    const ids = new Set(state.items.filter((it) => state.selected.has(it.sample_id)).map((it) => it.sample_id));
    for (const id of ids) outbox.skip(id);
    take(ids);
    render();
    fill();
  }

  document.addEventListener("keydown", (e) => {
    if (Q.isTyping(e)) return;
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "a") {
      state.selected = new Set(state.items.map((it) => it.sample_id));
      render();
      e.preventDefault();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === "?") { Q.toggleShortcuts(); return; }
    if (key === "Escape") { Q.toggleShortcuts(false); state.selected = new Set(); render(); return; }
    if (!$("shortcuts").hidden) return;
    if (keyToLabel.has(key)) { labelSelected(keyToLabel.get(key)); e.preventDefault(); }
    else if (key === "s") { skipSelected(); e.preventDefault(); }
  });

  document.querySelectorAll(".class-button").forEach((b) =>
    b.addEventListener("click", () => { b.blur(); labelSelected(Number(b.dataset.label)); }));
  $("skip-button").addEventListener("click", (e) => { e.currentTarget.blur(); skipSelected(); });
  $("help-button").addEventListener("click", () => Q.toggleShortcuts());
  $("shortcuts").addEventListener("click", () => Q.toggleShortcuts(false));
  Q.releaseOnLeave(config, () => state.items.map((it) => it.sample_id));
  fill();
})();
