/* Quarry labeling client: the JSON queue API, image prefetch and a durable outbox.
 * Labels go into an outbox kept in localStorage and are sent one request at a time;
 * each submission carries its own idempotency key, so a retry (after a network error,
 * a reload, a crash) is applied once by the server. Vanilla JS, no dependencies. */
(function () {
  "use strict";

  function readConfig() {
    return JSON.parse(document.getElementById("quarry-config").textContent);
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  class NetworkError extends Error {}
  class RequestError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function api(method, url, body, options) {
    let response;
    try {
      response = await fetch(url, Object.assign({
        method: method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(),
                   "Accept": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }, options || {}));
    } catch (err) {
      throw new NetworkError("the server could not be reached");
    }
    if (response.status >= 500 || response.status === 429) {
      throw new NetworkError("the server answered " + response.status);
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (response.status === 401 || response.status === 403) {
      throw new RequestError((data && data.detail) || "you are logged out; log in again", response.status);
    }
    if (!response.ok) {
      throw new RequestError((data && data.detail) || ("request failed: " + response.status), response.status);
    }
    return data;
  }

  const imageCache = new Map();
  function preload(url) {
    if (!imageCache.has(url)) {
      const img = new Image();
      img.decoding = "async";
      img.src = url;
      imageCache.set(url, img);
      if (imageCache.size > 200) imageCache.delete(imageCache.keys().next().value);
    }
    return imageCache.get(url);
  }

  class Outbox {
    constructor(config, statusEl, handlers) {
      this.config = config;
      this.statusEl = statusEl;
      this.handlers = handlers || {};
      // One outbox per user and project: labels are never sent under someone else's login.
      this.storageKey = "quarry-outbox-" + config.user + "-" + config.project;
      this.actions = this.load();
      this.busy = false;
      this.delay = 1000;
      this.timer = null;
      this.errors = [];
      this.render();
      if (this.actions.length) this.pump();
    }
    load() {
      try { return JSON.parse(localStorage.getItem(this.storageKey) || "[]"); } catch (err) { return []; }
    }
    persist() {
      try { localStorage.setItem(this.storageKey, JSON.stringify(this.actions)); } catch (err) { /* private mode */ }
    }
    pendingSampleIds() {
      const ids = new Set();
      for (const a of this.actions) {
        if (a.type === "skip") ids.add(a.sample_id);
        else for (const item of a.items) ids.add(item.sample_id);
      }
      return ids;
    }
    // topUp > 0: the server reserves that many samples after storing the labels and
    // answers them with the results (handlers.submitted gets them): one round trip per label.
    submit(items, topUp) {
      const action = { type: "submit", items: items.map((it) => Object.assign({ idempotency_key: newKey() }, it)) };
      if (topUp) action.next = topUp;
      this.actions.push(action);
      this.persist();
      this.render();
      this.pump();
      return action;
    }
    skip(sampleId) {
      this.actions.push({ type: "skip", sample_id: sampleId, key: newKey() });
      this.persist();
      this.render();
      this.pump();
    }
    retryNow() {
      clearTimeout(this.timer);
      this.timer = null;
      this.delay = 1000;
      this.pump();
    }
    async pump() {
      if (this.busy || this.timer) return;
      this.busy = true;
      this.render();
      while (this.actions.length) {
        const action = this.actions[0];
        try {
          if (action.type === "skip") {
            await api("POST", this.config.api.skip, { sample_id: action.sample_id });
          } else {
            const body = { items: action.items };
            if (action.next) body.next = action.next;
            const data = await api("POST", this.config.api.submit, body);
            for (const result of data.results) {
              if (!result.ok) this.errors.push("Sample " + result.sample_id + ": " + result.error);
            }
            if (this.handlers.submitted) this.handlers.submitted(action, data.results, data.next);
          }
        } catch (err) {
          if (err instanceof NetworkError) {
            this.busy = false;
            this.retryIn(this.delay, err.message);
            this.delay = Math.min(this.delay * 2, 15000);
            return;
          }
          if (err.status === 401 || err.status === 403) {
            // Logged out (or a stale CSRF token): keep the labels, send them after login.
            this.busy = false;
            this.render("Not saved yet: " + err.message + ". Log in again (in another tab); " +
                        "your labels are kept here.", true);
            return;
          }
          this.errors.push(err.message);
        }
        this.actions.shift();
        this.persist();
        this.delay = 1000;
        this.render();
        if (this.handlers.drained && !this.actions.length) this.handlers.drained();
      }
      this.busy = false;
      this.render();
    }
    retryIn(ms, reason) {
      const until = Date.now() + ms;
      const tick = () => {
        const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        this.render("Not saved yet (" + reason + "). Retrying in " + left + " s.", true);
        if (left <= 0) { this.timer = null; this.pump(); } else { this.timer = setTimeout(tick, 250); }
      };
      this.timer = setTimeout(tick, 0);
    }
    render(problem, failing) {
      const el = this.statusEl;
      if (!el) return;
      const waiting = this.actions.reduce((n, a) => n + (a.type === "skip" ? 1 : a.items.length), 0);
      el.replaceChildren();
      el.className = "sync" + (failing ? " failing" : "") + (this.errors.length ? " has-errors" : "");
      const line = document.createElement("div");
      if (failing) {
        line.textContent = waiting + " waiting. " + problem + " ";
        const button = document.createElement("button");
        button.type = "button";
        button.id = "retry-now";
        button.textContent = "Retry now";
        button.addEventListener("click", () => this.retryNow());
        line.appendChild(button);
      } else {
        line.textContent = waiting ? "Saving " + waiting + "…" : "All changes saved.";
      }
      line.dataset.waiting = String(waiting);
      line.id = "sync-state";
      el.appendChild(line);
      for (const message of this.errors.slice(-3)) {
        const err = document.createElement("div");
        err.className = "error";
        err.textContent = message;
        el.appendChild(err);
      }
    }
  }

  function releaseOnLeave(config, heldIds) {
    window.addEventListener("pagehide", () => {
      const ids = heldIds();
      if (!ids.length) return;
      fetch(config.api.release, {
        method: "POST", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ sample_ids: ids }),
      }).catch(() => {});
    });
  }

  function isTyping(event) {
    const t = event.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function toggleShortcuts(force) {
    const sheet = document.getElementById("shortcuts");
    sheet.hidden = force === undefined ? !sheet.hidden : !force;
  }

  // A short-lived error line under the sync status.
  function flash(message) {
    const el = document.createElement("div");
    el.className = "error";
    el.textContent = message;
    document.getElementById("sync").appendChild(el);
    setTimeout(() => el.remove(), 6000);
  }

  window.Quarry = { readConfig, api, preload, Outbox, NetworkError, RequestError, releaseOnLeave,
                    isTyping, toggleShortcuts, newKey, flash };
})();
