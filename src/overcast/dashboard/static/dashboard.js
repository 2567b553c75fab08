// overcast dashboard: fills the page shells from /dashboard/api/ and keeps them fresh.
// No framework and no build step; DOM built with textContent only (never as HTML text),
// so nothing a function logs or a deploy message says can become markup.
(function () {
  "use strict";

  const API = "/dashboard/api";
  const body = document.body;
  const page = body.dataset.page;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // -- helpers -----------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function signInAgain() {
    window.location.assign("/dashboard/login?next=" + encodeURIComponent(window.location.pathname));
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) { signInAgain(); throw new Error("signed out"); }
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || response.statusText);
    return data;
  }

  async function postJSON(url) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    });
    if (response.status === 401) { signInAgain(); throw new Error("signed out"); }
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || response.statusText);
    return data;
  }

  function setLive(ok, error) {
    const dot = document.getElementById("live");
    if (!dot) return;
    dot.classList.toggle("stale", !ok);
    dot.title = ok ? "updated " + new Date().toLocaleTimeString() : "update failed: " + error;
  }

  function flash(message, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.className = "flash " + (kind || "info");
    box.hidden = false;
  }

  // Run fn now and every ms milliseconds (skipped while the tab is hidden).
  function every(ms, fn) {
    let timer = null;
    async function tick() {
      clearTimeout(timer);
      if (!document.hidden) {
        try { await fn(); setLive(true); } catch (error) { setLive(false, error.message); }
      }
      timer = setTimeout(tick, ms);
    }
    document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });
    tick();
    return tick;
  }

  const fmt = {
    count: (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString()),
    ms: (v) => (v === null || v === undefined ? "–" : (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString()) + " ms"),
    money: (s, currency) => (currency === "USD" ? "$" : "") + s + (currency === "USD" ? "" : " " + currency),
    time: (epoch) => (epoch ? new Date(epoch * 1000).toLocaleString() : "–"),
    clock: (ms) => { const d = new Date(ms); return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0"); },
    ago: (epoch) => {
      if (!epoch) return "–";
      const s = Math.max(0, Date.now() / 1000 - epoch);
      if (s < 60) return Math.round(s) + " s ago";
      if (s < 3600) return Math.round(s / 60) + " min ago";
      if (s < 86400) return Math.round(s / 3600) + " h ago";
      return Math.round(s / 86400) + " d ago";
    },
    versions: (v) => Object.entries(v || {}).map(([f, n]) => f + ":" + n).join(", ") || "–",
  };

  function windowSeconds() {
    const select = document.getElementById("window");
    return select ? select.value : "900";
  }

  function stateBadge(state) {
    return el("span", { class: "state state-" + state, text: state.replace("_", " ") });
  }

  function functionLink(stage, name) {
    return el("a", { href: "/dashboard/functions/" + encodeURIComponent(stage) + "/" + encodeURIComponent(name), text: name });
  }

  // -- alarms (overview and alarms page) ---------------------------------------

  function renderAlarms(container, alarms) {
    if (!alarms.length) { container.replaceChildren(el("p", { class: "muted", text: "No alarms defined." })); return; }
    const order = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
    alarms = alarms.slice().sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
    const rows = alarms.map((a) => el("tr", { class: "alarm", dataset: { alarm: a.name, state: a.state } },
      el("td", {}, stateBadge(a.state)),
      el("td", { class: "name", text: a.name }),
      el("td", { text: a.stage || "all" }),
      el("td", { class: "muted", text: a.description }),
      el("td", { class: "reason", text: a.reason }),
      el("td", { title: fmt.time(a.updated), text: fmt.ago(a.updated) })));
    container.replaceChildren(el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, ["State", "Alarm", "Stage", "Watches", "Reason", "Changed"].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)));
  }

  async function refreshAlarms() {
    const data = await getJSON(API + "/alarms");
    renderAlarms(document.getElementById("alarms"), data.alarms);
  }

  // -- overview ------------------------------------------------------------------

  function renderStage(stage) {
    const numbers = stage.functions.map((f) => el("tr", { class: "function", dataset: { function: f.name } },
      el("td", {}, functionLink(stage.name, f.name)),
      el("td", { class: "muted", text: f.stack || "" }),
      el("td", { class: "num", text: fmt.count(f.invocations) }),
      el("td", { class: "num" + (f.errors ? " bad" : ""), text: fmt.count(f.errors) }),
      el("td", { class: "num", text: fmt.ms(f.p50_ms) }),
      el("td", { class: "num", text: fmt.ms(f.p99_ms) }),
      el("td", { class: "num", text: fmt.count(f.cold_starts) }),
      el("td", { class: "num", text: fmt.count(f.peak_concurrency) })));
    const table = stage.functions.length
      ? el("table", { class: "grid" },
          el("thead", {}, el("tr", {}, ["Function", "Stack", "Invocations", "Errors", "p50", "p99", "Cold starts", "Peak concurrency"].map((h, i) => el("th", { class: i > 1 ? "num" : null, text: h })))),
          el("tbody", {}, numbers))
      : el("p", { class: "muted", text: "Nothing deployed." });
    const cost = stage.cost;
    return el("section", { class: "stage", dataset: { stage: stage.name } },
      el("div", { class: "stage-head" },
        el("h2", { text: stage.name }),
        el("span", { class: "muted", text: (stage.hosts || []).join(" · ") }),
        el("span", { class: "muted", text: stage.current_deployment ? "deployment " + stage.current_deployment : "no deployment" }),
        el("span", { class: "cost" },
          el("span", { class: "label", text: "this month " }),
          el("strong", { class: "to-date", text: fmt.money(cost.to_date, cost.currency) }),
          el("span", { class: "label", text: " · forecast " }),
          el("strong", { class: "forecast", text: fmt.money(cost.forecast, cost.currency) }))),
      table);
  }

  function startOverview() {
    const tick = every(5000, async () => {
      const [overview] = await Promise.all([getJSON(API + "/overview?window=" + windowSeconds()), refreshAlarms()]);
      document.getElementById("stages").replaceChildren(...overview.stages.map(renderStage));
    });
    document.getElementById("window").addEventListener("change", tick);
  }

  // -- function page: charts and log tail ---------------------------------------------

  const CHART_LAYOUT = {
    margin: { l: 48, r: 48, t: 56, b: 40 },
    height: 240,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, sans-serif", size: 12, color: "#c9d1d9" },
    xaxis: { type: "date", gridcolor: "#30363d" },
    yaxis: { gridcolor: "#30363d", rangemode: "tozero" },
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
    hovermode: "x unified",
  };
  const CHART_CONFIG = { displayModeBar: false, responsive: true };

  function layout(title, extra) {
    return Object.assign({}, CHART_LAYOUT, { title: { text: title, font: { size: 14 }, x: 0.01, xanchor: "left", y: 0.97, yanchor: "top" } }, extra || {});
  }

  function charts(series) {
    const x = series.timestamps.map((t) => new Date(t * 1000));
    return {
      "chart-invocations": [
        [
          { x, y: series.invocations, name: "Invocations", type: "bar", marker: { color: "#58a6ff" } },
          { x, y: series.errors, name: "Errors", type: "bar", marker: { color: "#f85149" } },
        ],
        layout("Invocations and errors", { barmode: "overlay" }),
      ],
      "chart-duration": [
        [
          { x, y: series.p50_ms, name: "p50", type: "scatter", mode: "lines", connectgaps: false, line: { color: "#3fb950" } },
          { x, y: series.p99_ms, name: "p99", type: "scatter", mode: "lines", connectgaps: false, line: { color: "#d29922" } },
        ],
        layout("Duration (ms)"),
      ],
      "chart-concurrency": [
        [
          { x, y: series.concurrency, name: "Concurrency", type: "scatter", mode: "lines", line: { shape: "hv", color: "#bc8cff" } },
          { x, y: series.cold_starts, name: "Cold starts", type: "bar", yaxis: "y2", marker: { color: "#8b949e" } },
        ],
        layout("Concurrency and cold starts", { yaxis2: { overlaying: "y", side: "right", rangemode: "tozero", showgrid: false } }),
      ],
    };
  }

  function renderTotals(totals) {
    const parts = [
      [fmt.count(totals.invocations), "invocations"],
      [fmt.count(totals.errors), "errors"],
      [fmt.ms(totals.p50_ms), "p50"],
      [fmt.ms(totals.p99_ms), "p99"],
      [fmt.count(totals.cold_starts), "cold starts"],
      [fmt.count(totals.peak_concurrency), "peak concurrency"],
    ];
    document.getElementById("totals").replaceChildren(...parts.map(([v, label]) =>
      el("span", { class: "total" }, el("strong", { text: v }), " " + label)));
  }

  function startFunction() {
    const stage = body.dataset.stage;
    const fn = body.dataset.function;
    const base = API + "/stages/" + encodeURIComponent(stage) + "/functions/" + encodeURIComponent(fn);
    let drawn = 0;
    const tick = every(3000, async () => {
      const series = await getJSON(base + "/metrics?window=" + windowSeconds());
      renderTotals(series.totals);
      for (const [id, [traces, chartLayout]] of Object.entries(charts(series))) {
        const node = document.getElementById(id);
        // react() diffs against what is drawn: an update, not a redraw from scratch.
        window.Plotly.react(node, traces, chartLayout, CHART_CONFIG);
        node.dataset.invocations = String(series.totals.invocations);
        node.dataset.updates = String(drawn + 1);
      }
      drawn += 1;
    });
    document.getElementById("window").addEventListener("change", tick);
    tailLogs(base + "/logs");
  }

  function tailLogs(url) {
    const pre = document.getElementById("log-tail");
    const state = document.getElementById("log-state");
    const source = new EventSource(url);
    const MAX_LINES = 2000;
    source.addEventListener("open", () => { state.textContent = "live"; state.className = "ok"; });
    source.addEventListener("error", () => { state.textContent = "reconnecting…"; state.className = "muted"; });
    source.addEventListener("log", (event) => {
      const line = JSON.parse(event.data);
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(el("div", { class: "log-line", title: line.stream },
        el("span", { class: "log-time", text: fmt.clock(line.t) }), " ", line.message));
      while (pre.childElementCount > MAX_LINES) pre.firstElementChild.remove();
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    });
    // The key was revoked or narrowed, or the session expired: the server ends the stream.
    source.addEventListener("session-ended", () => { source.close(); signInAgain(); });
    window.addEventListener("pagehide", () => source.close());
  }

  // -- deployments -------------------------------------------------------------------

  function renderDeployments(container, data, refresh) {
    container.replaceChildren(...data.stages.map((stage) => {
      const button = stage.can_rollback && stage.deployments.length > 1
        ? el("button", {
            class: "rollback",
            type: "button",
            dataset: { stage: stage.stage },
            text: "Roll back " + stage.stage,
            onclick: async (event) => {
              if (!window.confirm("Roll " + stage.stage + " back to its previous deployment?")) return;
              event.target.disabled = true;
              try {
                const answer = await postJSON(API + "/stages/" + encodeURIComponent(stage.stage) + "/rollback");
                flash("Rolling " + stage.stage + " back: deployment " + answer.deployment.id + " (" + answer.deployment.status + ")", "ok");
              } catch (error) {
                flash("Rollback of " + stage.stage + " refused: " + error.message, "bad");
              }
              refresh();
            },
          })
        : null;
      const rows = stage.deployments.map((d) => el("tr", { class: "deployment" + (d.current ? " current" : ""), dataset: { deployment: d.id, status: d.status } },
        el("td", {}, el("code", { text: d.id }), d.current ? el("span", { class: "badge", text: "current" }) : null),
        el("td", { text: d.kind }),
        el("td", {}, el("span", { class: "status status-" + d.status, text: d.status })),
        el("td", { title: fmt.time(d.created), text: fmt.ago(d.created) }),
        el("td", { text: fmt.versions(d.versions) }),
        el("td", { class: "reason", text: [d.message, d.reason].filter(Boolean).join(" — ") })));
      return el("section", { class: "stage", dataset: { stage: stage.stage } },
        el("div", { class: "stage-head" }, el("h2", { text: stage.stage }), button),
        rows.length
          ? el("table", { class: "grid" },
              el("thead", {}, el("tr", {}, ["Deployment", "Kind", "Status", "Created", "Versions", "Message"].map((h) => el("th", { text: h })))),
              el("tbody", {}, rows))
          : el("p", { class: "muted", text: "No deployments yet." }));
    }));
  }

  function startDeployments() {
    const container = document.getElementById("deployments");
    const tick = every(5000, async () => renderDeployments(container, await getJSON(API + "/deployments"), () => tick()));
  }

  // -- start ---------------------------------------------------------------------

  if (page === "overview") startOverview();
  else if (page === "function") startFunction();
  else if (page === "alarms") every(5000, refreshAlarms);
  else if (page === "deployments") startDeployments();
})();
