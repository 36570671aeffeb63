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

  function go(index) {
    current = Math.min(Math.max(index, 0), steps.length - 1);
    steps.forEach((step, i) => step.classList.toggle("current", i === current));
    position.textContent = `Step ${current + 1} of ${steps.length}`;
    history.replaceState(null, "", `#step-${current + 1}`);
  }
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

document.addEventListener("DOMContentLoaded", () => {
  setupReplay();
  setupLive();
});
