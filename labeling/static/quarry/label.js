/* The label view: one sample at a time, keyboard first. */
(function () {
  "use strict";
  const Q = window.Quarry;
  const flash = Q.flash;
  const config = Q.readConfig();
  const $ = (id) => document.getElementById(id);
  const root = $("labeler");
  const viewport = $("viewport");
  const image = $("sample-image");
  const heat = $("heatmap");
  const keyToLabel = new Map();
  config.hotkeys.forEach((key, i) => { if (key) keyToLabel.set(key, i); });

  const state = {
    queue: [],          // prefetched payloads, in queue order
    current: null,      // the sample on screen when not editing
    shownAt: 0,
    history: [],        // {item, label, annotationId}
    editing: null,      // {index, item, label, annotationId}
    done: new Set(),    // sample ids labeled or skipped here: never shown again
    fetching: false,
    blocked: null,
    view: { scale: 1, x: 0, y: 0, fit: 1 },
    heatmapOn: false,
    count: 0,
  };

  const outbox = new Q.Outbox(config, $("sync"), {
    submitted(action, results, handed) {
      for (const r of results) {
        const entry = state.history.find((h) => h.item.sample_id === r.sample_id);
        if (entry && r.ok) entry.annotationId = r.annotation_id;
      }
      if (handed) {
        take(handed);
        if (!state.current) advance();
      }
    },
    drained() { fill(); },
  });
  for (const id of outbox.pendingSampleIds()) state.done.add(id);

  function shown() { return state.editing ? state.editing.item : state.current; }

  // What a get-next (or a submit's top-up) handed out: new samples join the queue.
  function take(data) {
    state.blocked = data.blocked;
    const known = new Set(state.queue.map((i) => i.sample_id));
    if (state.current) known.add(state.current.sample_id);
    for (const item of data.items) {
      if (state.done.has(item.sample_id) || known.has(item.sample_id)) continue;
      state.queue.push(item);
      Q.preload(item.image);
      if (item.suggestion && item.suggestion.heatmap) Q.preload(item.suggestion.heatmap);
    }
  }

  async function fill() {
    if (state.fetching || state.queue.length >= config.prefetch - 1 && state.current) return;
    state.fetching = true;
    try {
      take(await Q.api("POST", config.api.next, { count: config.prefetch }));
    } catch (err) {
      flash(err.message);
      setTimeout(fill, 3000);
    } finally {
      state.fetching = false;
    }
    if (!state.current) advance();
  }

  function advance() {
    state.current = state.queue.shift() || null;
    state.shownAt = performance.now();
    render();
    if (!state.current) setTimeout(() => { if (!state.current) fill(); }, 15000);
  }

  function render() {
    const item = shown();
    const empty = $("empty-state");
    $("editing").hidden = !state.editing;
    root.classList.toggle("is-editing", !!state.editing);
    if (state.editing) $("editing-was").textContent = "(was “" + config.classes[state.editing.label] + "”)";
    document.querySelectorAll(".class-button").forEach((b) => {
      b.classList.toggle("chosen", !!state.editing && Number(b.dataset.label) === state.editing.label);
      b.classList.toggle("suggested", !!(item && item.suggestion) && Number(b.dataset.label) === item.suggestion.label);
    });
    $("done-count").textContent = String(state.count);
    if (!item) {
      image.hidden = true; heat.hidden = true;
      root.dataset.sampleId = "";
      empty.hidden = false;
      empty.textContent = state.blocked || "Loading…";
      $("suggestion").hidden = true;
      $("sample-info").textContent = "";
      return;
    }
    empty.hidden = true;
    root.dataset.sampleId = String(item.sample_id);
    image.dataset.sampleId = String(item.sample_id);
    image.src = item.image;
    image.hidden = false;
    image.style.width = item.width + "px";
    image.style.height = item.height + "px";
    const s = item.suggestion;
    $("suggestion").hidden = !s;
    if (s) {
      $("suggestion-class").textContent = "“" + s.class_name + "”";
      $("suggestion-confidence").textContent = Math.round(s.confidence * 100) + "%";
      $("heatmap-hint").hidden = !s.heatmap;
    }
    state.heatmapOn = false;
    heat.hidden = true;
    if (s && s.heatmap) {
      heat.src = s.heatmap;
      heat.style.width = item.width + "px";
      heat.style.height = item.height + "px";
    }
    $("sample-info").textContent = "Sample " + item.sample_id + " · " + item.width + "×" + item.height;
    fitView(item);
  }

  /* Zoom and pan: small images scale up by whole numbers with nearest-neighbour pixels. */
  function fitView(item) {
    const w = viewport.clientWidth, h = viewport.clientHeight;
    let fit = Math.min(w / item.width, h / item.height);
    if (fit >= 2) fit = Math.floor(fit);
    state.view = { fit: fit, scale: fit, x: (w - item.width * fit) / 2, y: (h - item.height * fit) / 2 };
    applyView();
  }
  function applyView() {
    const v = state.view;
    const t = "translate(" + v.x + "px," + v.y + "px) scale(" + v.scale + ")";
    image.style.transform = t; heat.style.transform = t;
    const pixelated = v.scale >= 1.5;
    image.classList.toggle("pixelated", pixelated);
    $("zoom-info").textContent = Math.round(v.scale * 100) + "%";
  }
  function zoomAt(factor, cx, cy) {
    const item = shown(); if (!item) return;
    const v = state.view;
    const next = Math.max(v.fit * 0.5, Math.min(Math.max(v.fit, 1) * 16, v.scale * factor));
    v.x = cx - (cx - v.x) * (next / v.scale);
    v.y = cy - (cy - v.y) * (next / v.scale);
    v.scale = next;
    applyView();
  }
  viewport.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = viewport.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  viewport.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY }; viewport.classList.add("dragging"); });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    state.view.x += e.clientX - drag.x; state.view.y += e.clientY - drag.y;
    drag = { x: e.clientX, y: e.clientY };
    applyView();
  });
  window.addEventListener("mouseup", () => { drag = null; viewport.classList.remove("dragging"); });
  viewport.addEventListener("dblclick", () => { const item = shown(); if (item) fitView(item); });
  window.addEventListener("resize", () => { const item = shown(); if (item) fitView(item); });


  function label(index) {
    if (index < 0 || index >= config.classes.length) return;
    if (state.editing) {
      const ed = state.editing;
      outbox.submit([{ sample_id: ed.item.sample_id, label: index, time_spent_ms: 0 }]);
      if (ed.index >= 0) state.history[ed.index].label = index;
      state.editing = null;
      render();
      return;
    }
    const item = state.current;
    if (!item) return;
    const spent = Math.round(performance.now() - state.shownAt);
    // the submission brings the next samples back with it; ask apart only when running dry
    outbox.submit([{ sample_id: item.sample_id, label: index, time_spent_ms: spent }], config.prefetch);
    state.history.push({ item: item, label: index, annotationId: null });
    if (state.history.length > 100) state.history.shift();
    state.done.add(item.sample_id);
    state.count += 1;
    advance();
    if (!state.queue.length) fill();
  }

  function skip() {
    if (state.editing || !state.current) return;
    outbox.skip(state.current.sample_id);
    state.done.add(state.current.sample_id);
    advance();
    fill();
  }

  async function back() {
    const from = state.editing ? state.editing.index : state.history.length;
    if (from > 0) {
      const entry = state.history[from - 1];
      state.editing = { index: from - 1, item: entry.item, label: entry.label, annotationId: entry.annotationId };
      render();
      return;
    }
    const oldest = state.editing ? state.editing.annotationId : (state.history[0] && state.history[0].annotationId);
    const url = config.api.undo + (oldest ? "?before=" + oldest : "");
    try {
      const data = await Q.api("GET", url);
      if (!data.item) { flash("Nothing earlier to change."); return; }
      state.editing = { index: -1, item: data.item, label: data.label, annotationId: data.annotation_id };
      Q.preload(data.item.image);
      render();
    } catch (err) { flash(err.message); }
  }

  function toggleHeatmap() {
    const item = shown();
    if (!item || !item.suggestion || !item.suggestion.heatmap) return;
    state.heatmapOn = !state.heatmapOn;
    heat.hidden = !state.heatmapOn;
  }

  document.addEventListener("keydown", (e) => {
    if (Q.isTyping(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === "?") { Q.toggleShortcuts(); e.preventDefault(); return; }
    if (key === "Escape") {
      Q.toggleShortcuts(false);
      if (state.editing) { state.editing = null; render(); }
      return;
    }
    if (!$("shortcuts").hidden) return;
    if (keyToLabel.has(key)) { label(keyToLabel.get(key)); e.preventDefault(); return; }
    if (key === "Enter") {
      const item = shown();
      if (item && item.suggestion) label(item.suggestion.label);
      e.preventDefault();
    } else if (key === "s") { skip(); e.preventDefault(); }
    else if (key === "u" || key === "Backspace") { back(); e.preventDefault(); }
    else if (key === "h") { toggleHeatmap(); }
    else if (key === "+") { zoomAt(1.25, viewport.clientWidth / 2, viewport.clientHeight / 2); }
    else if (key === "-") { zoomAt(0.8, viewport.clientWidth / 2, viewport.clientHeight / 2); }
    else if (key === "=") { const item = shown(); if (item) fitView(item); }
  });

  document.querySelectorAll(".class-button").forEach((b) =>
    b.addEventListener("click", () => { b.blur(); label(Number(b.dataset.label)); }));
  $("skip-button").addEventListener("click", (e) => { e.currentTarget.blur(); skip(); });
  $("back-button").addEventListener("click", (e) => { e.currentTarget.blur(); back(); });
  $("help-button").addEventListener("click", () => Q.toggleShortcuts());
  $("shortcuts").addEventListener("click", () => Q.toggleShortcuts(false));

  Q.releaseOnLeave(config, () => {
    const ids = state.queue.map((i) => i.sample_id);
    if (state.current) ids.push(state.current.sample_id);
    return ids;
  });
  render();
  fill();
})();
