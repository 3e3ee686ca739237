/* Live job progress: poll the project's jobs as JSON while any is queued or running. */
(function () {
  "use strict";
  const table = document.getElementById("jobs-table");
  if (!table) return;
  const csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function row(job) {
    const tr = document.createElement("tr");
    tr.dataset.job = String(job.id);
    tr.append(cell(String(job.id)), cell(job.kind_display), cell(job.state, "state-" + job.state));
    const bar = document.createElement("progress");
    bar.className = "job-bar"; bar.max = 1; bar.value = job.progress;
    const td = document.createElement("td"); td.appendChild(bar); tr.appendChild(td);
    const msg = cell(job.message);
    if (job.error) {
      const pre = document.createElement("pre");
      pre.className = "error-text"; pre.textContent = job.error;
      msg.appendChild(pre);
    }
    tr.append(msg, cell(job.duration_s === null ? "" : job.duration_s + " s"), cell(job.requested_by));
    const actions = document.createElement("td");
    if (job.active) {
      const form = document.createElement("form");
      form.method = "post";
      form.action = table.dataset.cancel.replace("/0/cancel/", "/" + job.id + "/cancel/");
      const token = document.createElement("input");
      token.type = "hidden"; token.name = "csrfmiddlewaretoken"; token.value = csrf;
      const button = document.createElement("button");
      button.type = "submit"; button.textContent = job.cancel_requested ? "Cancelling…" : "Cancel";
      form.append(token, button);
      actions.appendChild(form);
    }
    tr.appendChild(actions);
    return tr;
  }

  async function poll() {
    let active = false;
    try {
      const response = await fetch(table.dataset.poll, { credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        const body = table.tBodies[0];
        body.replaceChildren(...data.jobs.map(row));
        if (!data.jobs.length) {
          const tr = document.createElement("tr");
          const td = cell("No jobs yet.", "empty"); td.colSpan = 8; tr.appendChild(td);
          body.appendChild(tr);
        }
        active = data.jobs.some((j) => j.active);
      }
    } catch (err) { active = true; }
    setTimeout(poll, active ? 1500 : 6000);
  }
  setTimeout(poll, 1500);
})();
