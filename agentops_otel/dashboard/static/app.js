// agentops-otel dashboard: the shared script (the CSP allows no inline ones). Every text from
// the store reaches the page through server templates that escape it; this file only fetches
// those fragments (live refreshes) and moves the replay stepper. The session page's span list
// and detail drawer are session.js.
"use strict";

// While the page is visible (and, on a session page, while the session runs), ask the server
// every 2 s whether the store changed; when it did, fetch this page again and swap in the
// parts marked data-live (server-rendered, escaped). Only GETs: polling changes nothing.
const LIVE_INTERVAL_MS = 2000;

function setupLive() {
  const live = document.getElementById("live");
  if (!live) return;
  let timer = null;
  let busy = false;

  async function reload() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const tree = document.getElementById("tree");
    if (tree) tree.dispatchEvent(new Event("live:before"));
    for (const part of document.querySelectorAll("[data-live]")) {
      const replacement = fresh.getElementById(part.id);
      if (replacement) part.replaceChildren(...Array.from(replacement.childNodes).map((n) => document.adoptNode(n)));
    }
    if (tree) tree.dispatchEvent(new Event("live:after"));
    const freshLive = fresh.getElementById("live");
    if (freshLive) Object.assign(live.dataset, { marker: freshLive.dataset.marker,
                                                 running: freshLive.dataset.running });
  }
  async function poll() {
    timer = null;
    if (busy || document.hidden || live.dataset.running !== "true") return;
    busy = true;
    try {
      const response = await fetch(live.dataset.liveUrl, { credentials: "same-origin" });
      if (response.ok) {
        const state = await response.json();
        if (String(state.marker) !== live.dataset.marker) await reload();
        if (state.running === false) live.dataset.running = "false";
      }
    } catch (error) {
      // the server is restarting or gone: try again on the next tick
    } finally {
      busy = false;
      schedule();
    }
  }
  function schedule() {
    if (timer === null && !document.hidden && live.dataset.running === "true") {
      timer = setTimeout(poll, LIVE_INTERVAL_MS);
    }
  }
  document.addEventListener("visibilitychange", schedule);
  schedule();
}

function setupReplay() {
  const list = document.getElementById("steps");
  if (!list) return;
  const steps = Array.from(list.querySelectorAll(".step"));
  const position = document.getElementById("position");
  let current = 0;
  const fromHash = /^#step-(\d+)$/.exec(window.location.hash);
  if (fromHash) current = Math.min(Math.max(Number(fromHash[1]) - 1, 0), steps.length - 1);
  list.classList.add("js");

  const links = Array.from(document.querySelectorAll("#step-list .step-link"));
  function go(index) {
    current = Math.min(Math.max(index, 0), steps.length - 1);
    steps.forEach((step, i) => step.classList.toggle("current", i === current));
    links.forEach((link, i) => {
      if (i === current) link.setAttribute("aria-current", "step");
      else link.removeAttribute("aria-current");
    });
    if (links[current]) links[current].scrollIntoView({ block: "nearest" });
    position.textContent = `Step ${current + 1} of ${steps.length}`;
    history.replaceState(null, "", `#step-${current + 1}`);
  }
  document.getElementById("step-list").addEventListener("click", (event) => {
    const link = event.target.closest(".step-link");
    if (!link) return;
    event.preventDefault();
    go(Number(link.dataset.index));
  });
  document.getElementById("prev").addEventListener("click", () => go(current - 1));
  document.getElementById("next").addEventListener("click", () => go(current + 1));
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.altKey || event.ctrlKey || event.metaKey) return;
    const moves = { ArrowRight: 1, j: 1, ArrowLeft: -1, k: -1 };
    if (event.key in moves) go(current + moves[event.key]);
    else if (event.key === "Home") go(0);
    else if (event.key === "End") go(steps.length - 1);
    else return;
    event.preventDefault();
  });
  go(current);
}

// Sessions list: a click anywhere on a row opens the session (the id link stays the keyboard
// way in; checkboxes and links keep their own clicks); the column buttons sort the rows shown.
function setupSessions() {
  const list = document.getElementById("session-list");
  if (!list) return;
  list.addEventListener("click", (event) => {
    const row = event.target.closest("tr.session-row");
    if (!row || event.target.closest("a, input, button, label")) return;
    if (window.getSelection().toString()) return;  // selecting text is not a click
    window.location.href = row.dataset.url;
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.sort");
    if (!button) return;
    const th = button.closest("th");
    const table = th.closest("table");
    const column = Array.from(th.parentNode.children).indexOf(th);
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach((h) => h.setAttribute("aria-sort", "none"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const numeric = button.dataset.type === "number";
    const key = (row) => {
      const cell = row.children[column];
      const value = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
      return numeric ? Number(value) : value.toLowerCase();
    };
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    body.append(...rows);
  });
  const form = document.getElementById("compare-form");
  if (form) {
    const picked = () => document.querySelectorAll('input[name="s"][form="compare-form"]:checked');
    const button = document.getElementById("compare-button");
    const update = () => { button.disabled = picked().length !== 2; };
    document.addEventListener("change", (event) => {
      if (event.target.matches('input[name="s"]')) update();
    });
    update();
  }
}

// Overview charts: uPlot (vendored, static/vendor/) draws the series the server embedded as
// JSON in data-chart; stacked bars are drawn as cumulative sums, tallest first. A small tip
// shows the hovered slot's values (the legend under each chart carries the totals).
const CHART_HEIGHT = 220;

function chartFormat(unit) {
  if (unit === "usd") {
    return (v) => {
      if (v == null) return "";
      if (v === 0) return "$0";
      if (Math.abs(v) >= 1) return "$" + v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      return "$" + Number(v.toPrecision(3)).toString();
    };
  }
  if (unit === "percent") return (v) => (v == null ? "" : `${v.toFixed(1)}%`);
  return (v) => (v == null ? "" : Math.round(v).toLocaleString("en-US"));
}

function drawChart(figure) {
  const spec = JSON.parse(figure.dataset.chart);
  const target = figure.querySelector(".plot");
  if (!spec.series.length || typeof uPlot === "undefined") return;
  const fmt = chartFormat(spec.unit);
  const step = spec.x.length > 1 ? spec.x[1] - spec.x[0] : 3600;  // one slot, in seconds
  const raw = spec.series.map((s) => s.values);
  let shown = raw;
  if (spec.stacked) {  // cumulative sums, drawn from the tallest down so each bar stays visible
    const sums = [];
    raw.forEach((values, i) => sums.push(values.map((v, j) => v + (i ? sums[i - 1][j] : 0))));
    shown = sums.slice().reverse();
  }
  const order = spec.stacked ? spec.series.slice().reverse() : spec.series;
  const bars = uPlot.paths.bars({ size: [0.8, 48] });
  const series = [{}].concat(order.map((s) => ({
    label: s.label,
    stroke: s.color,
    fill: spec.stacked ? s.color : undefined,
    width: spec.stacked ? 0 : 2,
    paths: spec.stacked ? bars : undefined,
    points: { show: !spec.stacked },
    spanGaps: false,
  })));
  const tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.hidden = true;
  const options = {
    width: Math.max(target.clientWidth, 200),
    height: CHART_HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { range: () => [spec.x[0] - step / 2, spec.x[spec.x.length - 1] + step / 2] },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] },
    },
    axes: [
      { font: "12px system-ui, sans-serif", stroke: "#4b5563", grid: { show: false } },
      { font: "12px system-ui, sans-serif", stroke: "#4b5563", size: 70,
        values: (u, ticks) => ticks.map(fmt), grid: { stroke: "#eef0f3" } },
    ],
    series,
    hooks: {
      setCursor: [(u) => {
        const i = u.cursor.idx;
        if (i == null) { tip.hidden = true; return; }
        const when = new Date(spec.x[i] * 1e3).toISOString().slice(0, 16).replace("T", " ");
        const lines = [when + " UTC"];
        spec.series.forEach((s, k) => { if (raw[k][i]) lines.push(`${s.label}: ${fmt(raw[k][i])}`); });
        tip.textContent = lines.join("\n");
        tip.hidden = lines.length === 1;
        tip.style.left = `${Math.min(u.cursor.left + 12, u.over.clientWidth - 160)}px`;
        tip.style.top = `${Math.max(u.cursor.top - 10, 0)}px`;
      }],
    },
  };
  const plot = new uPlot(options, [spec.x].concat(shown), target);
  plot.over.appendChild(tip);
  new ResizeObserver(() => {
    const width = Math.max(target.clientWidth, 200);
    if (width !== plot.width) plot.setSize({ width, height: CHART_HEIGHT });
  }).observe(target);
}

function setupCharts() {
  document.querySelectorAll("figure.chart[data-chart]").forEach(drawChart);
}

document.addEventListener("DOMContentLoaded", () => {
  setupCharts();
  setupSessions();
  setupReplay();
  setupLive();
});
