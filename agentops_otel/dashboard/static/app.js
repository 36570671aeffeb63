// agentops-otel dashboard: the only script (the CSP allows no inline ones). Every text from
// the store reaches the page through server templates that escape it; this file only fetches
// those fragments, shows and hides rows, and moves the replay stepper.
"use strict";

function setupTree() {
  const tree = document.getElementById("tree");
  if (!tree) return;
  const rows = Array.from(tree.querySelectorAll("tr.span-row"));
  const depth = rows.map((r) => Number(r.dataset.depth));
  const detail = document.getElementById("detail");

  // Show or hide the rows under rows[i]: a row is shown when every ancestor is expanded.
  function refresh() {
    const collapsedAt = [];  // depths of collapsed ancestors on the current path
    rows.forEach((row, i) => {
      while (collapsedAt.length && collapsedAt[collapsedAt.length - 1] >= depth[i]) collapsedAt.pop();
      row.classList.toggle("hidden", collapsedAt.length > 0);
      const toggle = row.querySelector(".toggle");
      if (toggle && toggle.getAttribute("aria-expanded") === "false") collapsedAt.push(depth[i]);
    });
  }
  function setExpanded(toggle, expanded) {
    toggle.setAttribute("aria-expanded", String(expanded));
    toggle.setAttribute("aria-label", expanded ? "collapse" : "expand");
    toggle.textContent = expanded ? "▾" : "▸";
  }
  async function show(url, row) {
    const response = await fetch(url, { credentials: "same-origin" });
    // The fragment is server-rendered with every value escaped.
    detail.innerHTML = await response.text();
    if (row) {
      rows.forEach((r) => r.classList.remove("selected"));
      row.classList.add("selected");
    }
  }
  tree.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const row = button.closest("tr.span-row");
    if (button.classList.contains("toggle")) {
      setExpanded(button, button.getAttribute("aria-expanded") !== "true");
      refresh();
    } else if (button.classList.contains("span-name")) {
      const session = encodeURIComponent(tree.dataset.session);
      show(`/sessions/${session}/spans/${encodeURIComponent(row.dataset.span)}`, row);
    }
  });
  detail.addEventListener("click", (event) => {
    const button = event.target.closest("button.show-all");
    if (button) show(button.dataset.url, null);
  });
  for (const [id, expanded] of [["expand-all", true], ["collapse-all", false]]) {
    const button = document.getElementById(id);
    if (!button) continue;
    button.addEventListener("click", () => {
      tree.querySelectorAll(".toggle").forEach((t) => setExpanded(t, expanded));
      refresh();
    });
  }
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
  setupTree();
  setupReplay();
});
