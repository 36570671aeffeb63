// agentops-otel session page: one virtualized span list (tree + waterfall with a time axis and
// zoom) fed a page of rows at a time by /api/sessions/ID/rows, keyboard navigation, a filter,
// and the detail drawer. Texts from the store go in with textContent only; the drawer's HTML is
// the server's escaped fragment.
"use strict";

const ROW_H = 26; // px, as .span-row in session.css
const PAGE = 200; // rows per request
const OVERSCAN = 10;
const INDENT_PX = 12;
const MAX_INDENT = 24;

function setupSessionList() {
  const tree = document.getElementById("tree");
  const body = document.getElementById("tree-body");
  if (!tree || !body) return;
  const spacer = document.getElementById("tree-spacer");
  const axis = document.getElementById("axis");
  const select = document.getElementById("zoom-select");
  const drawer = document.getElementById("drawer");
  const detail = document.getElementById("detail");
  const byId = (id) => document.getElementById(id);

  const view = { folded: false, toggled: new Set(), errors: false, llm: false, q: "" };
  let version = 0; // moves when the view or the data changes; older answers are dropped
  let pages = new Map(); // page number -> rows, for the current version
  let stale = new Map(); // the previous version's pages, shown until fresh ones arrive
  const pending = new Set();
  let total = 0;
  let spanMs = 1;
  let zoom = null; // [from, to] in ms from the session start, or null for all of it
  let active = 0;
  let selected = null;
  let scheduled = false;

  function query(page) {
    const params = new URLSearchParams({ offset: String(page * PAGE), limit: String(PAGE) });
    if (view.folded) params.set("fold", "closed");
    if (view.toggled.size) params.set("toggled", Array.from(view.toggled).join(","));
    if (view.errors) params.set("errors", "1");
    if (view.llm) params.set("llm", "1");
    if (view.q) params.set("q", view.q);
    return `${tree.dataset.rowsUrl}?${params}`;
  }

  async function load(page) {
    const key = `${version}:${page}`;
    if (pending.has(key)) return;
    pending.add(key);
    const asked = version;
    try {
      const response = await fetch(query(page), { credentials: "same-origin" });
      if (!response.ok || asked !== version) return;
      const data = await response.json();
      if (asked !== version) return;
      pages.set(page, data.rows);
      total = data.total;
      spanMs = data.span_ms;
      byId("shown-count").textContent = String(total);
      byId("tree-empty").hidden = total > 0;
      drawAxis();
      render();
      tree.dispatchEvent(new Event("rows:loaded"));
    } finally {
      pending.delete(key);
    }
  }

  function rowAt(pos) {
    const page = Math.floor(pos / PAGE);
    const rows = pages.get(page) || stale.get(page);
    return rows ? rows[pos - page * PAGE] : undefined;
  }

  function changed() {
    version += 1;
    if (pages.size) stale = pages;
    pages = new Map();
    render(); // asks for the rows now, not a frame later
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; render(); });
  }

  // --- time axis and bars -------------------------------------------------------------------
  function range() { return zoom || [0, spanMs]; }

  function fmtMs(ms) {
    if (Math.abs(ms) < 0.001) return "0 ms";
    if (Math.abs(ms) < 1000) return `${Number(ms.toPrecision(3))} ms`;
    if (Math.abs(ms) < 60000) return `${Number((ms / 1000).toPrecision(3))} s`;
    const minutes = Math.floor(ms / 60000);
    return `${minutes}m ${Math.round((ms - minutes * 60000) / 1000)}s`;
  }

  function niceStep(width, count) {
    const raw = width / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  function drawAxis() {
    const [from, to] = range();
    const width = Math.max(to - from, 1e-6);
    const count = Math.max(2, Math.floor(axis.clientWidth / 90));
    const step = niceStep(width, count);
    const ticks = [];
    const room = (60 / Math.max(axis.clientWidth, 1)) * width; // keep clear of the end label
    for (let t = Math.ceil(from / step) * step; t < to - room; t += step) ticks.push(t);
    const parts = ticks.map((t) => {
      const tick = document.createElement("span");
      tick.className = "tick";
      tick.style.left = `${((t - from) / width) * 100}%`;
      tick.textContent = fmtMs(t);
      return tick;
    });
    const end = document.createElement("span");
    end.className = "tick last";
    end.style.left = "100%";
    end.textContent = fmtMs(to);
    axis.replaceChildren(...parts, end);
    byId("zoom-range").textContent = zoom ? `${fmtMs(from)} – ${fmtMs(to)}` : "";
  }

  function placeBar(bar, row) {
    const [from, to] = range();
    const width = Math.max(to - from, 1e-6);
    const end = row.end === null ? spanMs : row.end;
    const left = Math.max(row.start, from);
    const right = Math.min(end, to);
    bar.hidden = right < left || end < from || row.start > to;
    bar.style.left = `${((left - from) / width) * 100}%`;
    bar.style.width = `${(Math.max(right - left, 0) / width) * 100}%`;
  }

  // --- rows ---------------------------------------------------------------------------------
  function cell(cls, text) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    return span;
  }

  function rowElement(pos, row) {
    const el = document.createElement("div");
    el.id = `row-${pos}`;
    el.dataset.pos = String(pos);
    el.setAttribute("role", "treeitem");
    el.style.transform = `translateY(${pos * ROW_H}px)`;
    if (!row) {
      el.className = "span-row loading";
      el.append(cell("c-name", "…"));
      return el;
    }
    el.dataset.span = row.id;
    el.className = `span-row kind-${row.kind}`;
    el.classList.toggle("error", row.error !== null);
    el.classList.toggle("running", row.running);
    el.classList.toggle("context", !row.match);
    el.classList.toggle("active", pos === active);
    el.classList.toggle("selected", row.id === selected);
    el.setAttribute("aria-level", String(row.depth + 1));
    el.setAttribute("aria-selected", String(row.id === selected));
    if (row.kids) el.setAttribute("aria-expanded", String(row.open));
    const name = cell("c-name", "");
    name.style.paddingLeft = `${Math.min(row.depth, MAX_INDENT) * INDENT_PX + 4}px`;
    name.append(cell("toggle", row.kids ? (row.open ? "▾" : "▸") : ""));
    name.append(cell("kind-badge", row.kind));
    const label = cell("span-name", row.name);
    label.title = [row.name, row.model, row.error].filter(Boolean).join(" · ");
    name.append(label);
    if (row.error !== null) {
      const mark = cell("mark err-mark", "✗");
      mark.title = row.error;
      name.append(mark);
    }
    if (row.flags.length) {
      const mark = cell("mark flag-mark", "⚑");
      mark.title = row.flags.join(", ");
      name.append(mark);
    }
    const wf = cell("c-wf", "");
    const bar = cell(`bar kind-${row.kind}`, "");
    bar.classList.toggle("error", row.error !== null);
    bar.classList.toggle("running", row.running);
    placeBar(bar, row);
    wf.append(bar);
    el.append(name, cell("c-tok num", row.tokens), cell("c-cost num", row.cost),
              cell("c-dur num", row.duration), wf);
    return el;
  }

  function render() {
    spacer.style.height = `${total * ROW_H}px`;
    const first = Math.max(0, Math.floor(body.scrollTop / ROW_H) - OVERSCAN);
    const last = Math.min(total, Math.ceil((body.scrollTop + body.clientHeight) / ROW_H) + OVERSCAN);
    for (let page = Math.floor(first / PAGE); page * PAGE < Math.max(last, 1); page += 1) {
      if (!pages.has(page)) load(page);
    }
    const rows = [];
    for (let pos = first; pos < last; pos += 1) rows.push(rowElement(pos, rowAt(pos)));
    body.querySelectorAll(".span-row").forEach((el) => el.remove());
    body.append(...rows);
    const current = byId(`row-${active}`);
    if (current && total) body.setAttribute("aria-activedescendant", current.id);
    else body.removeAttribute("aria-activedescendant");
  }

  // --- actions ------------------------------------------------------------------------------
  function setActive(pos) {
    if (!total) return;
    active = Math.min(Math.max(pos, 0), total - 1);
    const top = active * ROW_H;
    if (top < body.scrollTop) body.scrollTop = top;
    else if (top + ROW_H > body.scrollTop + body.clientHeight) {
      body.scrollTop = top + ROW_H - body.clientHeight;
    }
    render();
  }

  function toggle(row) {
    if (!row || !row.kids) return;
    if (view.toggled.has(row.id)) view.toggled.delete(row.id);
    else view.toggled.add(row.id);
    changed();
  }

  function foldAll(folded) {
    view.folded = folded;
    view.toggled.clear();
    active = Math.min(active, 0);
    body.scrollTop = 0;
    changed();
  }

  async function showDetail(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    // The fragment is server-rendered with every value escaped.
    detail.innerHTML = await response.text();
  }

  function openDrawer(row) {
    if (!row) return;
    selected = row.id;
    drawer.hidden = false;
    render();
    drawAxis();
    showDetail(tree.dataset.spanUrl + encodeURIComponent(row.id));
  }

  function closeDrawer() {
    drawer.hidden = true;
    selected = null;
    render();
    drawAxis();
    body.focus();
  }

  // --- events -------------------------------------------------------------------------------
  body.addEventListener("scroll", schedule);
  window.addEventListener("resize", () => { drawAxis(); schedule(); });

  let drag = null; // a zoom drag: the axis's left edge, width, start x
  let dragged = false;

  body.addEventListener("click", (event) => {
    if (dragged) { dragged = false; return; }
    const el = event.target.closest(".span-row");
    if (!el || el.classList.contains("loading")) return;
    const pos = Number(el.dataset.pos);
    const row = rowAt(pos);
    active = pos;
    body.focus({ preventScroll: true });
    if (event.target.closest(".toggle")) toggle(row);
    else openDrawer(row);
  });

  body.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const row = rowAt(active);
    const perPage = Math.max(1, Math.floor(body.clientHeight / ROW_H) - 1);
    switch (event.key) {
      case "ArrowDown": setActive(active + 1); break;
      case "ArrowUp": setActive(active - 1); break;
      case "PageDown": setActive(active + perPage); break;
      case "PageUp": setActive(active - perPage); break;
      case "Home": setActive(0); break;
      case "End": setActive(total - 1); break;
      case "ArrowRight":
        if (row && row.kids && !row.open) toggle(row);
        else if (row && row.kids) setActive(active + 1);
        break;
      case "ArrowLeft":
        if (row && row.kids && row.open) toggle(row);
        else if (row && row.parent >= 0) setActive(row.parent);
        break;
      case "Enter": openDrawer(row); break;
      case "Escape": if (!drawer.hidden) closeDrawer(); break;
      default: return;
    }
    event.preventDefault();
  });

  function msAt(x) {
    const [from, to] = range();
    return from + Math.min(Math.max((x - drag.left) / drag.width, 0), 1) * (to - from);
  }

  function startDrag(event) {
    if (event.button !== 0 || !event.target.closest(".c-wf")) return;
    const box = axis.getBoundingClientRect();
    drag = { left: box.left, width: Math.max(box.width, 1), x: event.clientX };
  }
  axis.addEventListener("pointerdown", startDrag);
  body.addEventListener("pointerdown", startDrag);
  window.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const left = Math.min(drag.x, event.clientX) - body.getBoundingClientRect().left;
    select.hidden = Math.abs(event.clientX - drag.x) < 4;
    select.style.left = `${left}px`;
    select.style.width = `${Math.abs(event.clientX - drag.x)}px`;
    select.style.top = `${body.scrollTop}px`;
    select.style.height = `${body.clientHeight}px`;
  });
  window.addEventListener("pointerup", (event) => {
    if (!drag) return;
    select.hidden = true;
    if (Math.abs(event.clientX - drag.x) >= 4) {
      const a = msAt(drag.x);
      const b = msAt(event.clientX);
      setZoom([Math.min(a, b), Math.max(a, b)]);
      dragged = true;
      setTimeout(() => { dragged = false; }, 0);
    }
    drag = null;
  });

  function setZoom(next) {
    if (next) {
      const width = Math.max(next[1] - next[0], spanMs / 10000);
      const from = Math.min(Math.max(next[0], 0), Math.max(spanMs - width, 0));
      next = width >= spanMs * 0.999 ? null : [from, from + width];
    }
    zoom = next;
    drawAxis();
    render();
  }
  byId("zoom-in").addEventListener("click", () => {
    const [from, to] = range();
    const middle = (from + to) / 2;
    const half = (to - from) / 4;
    setZoom([middle - half, middle + half]);
  });
  byId("zoom-out").addEventListener("click", () => {
    const [from, to] = range();
    const middle = (from + to) / 2;
    setZoom([middle - (to - from), middle + (to - from)]);
  });
  byId("zoom-reset").addEventListener("click", () => setZoom(null));

  byId("expand-all").addEventListener("click", () => foldAll(false));
  byId("collapse-all").addEventListener("click", () => foldAll(true));
  let typing = null;
  byId("tree-filter").addEventListener("input", (event) => {
    clearTimeout(typing);
    typing = setTimeout(() => { view.q = event.target.value.trim().toLowerCase(); refilter(); }, 150);
  });
  byId("only-errors").addEventListener("change", (event) => { view.errors = event.target.checked; refilter(); });
  byId("only-llm").addEventListener("change", (event) => { view.llm = event.target.checked; refilter(); });
  function refilter() {
    active = 0;
    body.scrollTop = 0;
    changed();
  }

  byId("drawer-close").addEventListener("click", closeDrawer);
  drawer.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); closeDrawer(); }
  });
  detail.addEventListener("click", (event) => {
    const button = event.target.closest("button.show-all");
    if (button) showDetail(button.dataset.url);
  });
  const grip = byId("drawer-grip");
  function resize(width) {
    drawer.style.width = `${Math.min(Math.max(width, 260), window.innerWidth * 0.8)}px`;
    drawAxis();
    render();
  }
  grip.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    grip.setPointerCapture(event.pointerId);
    const right = drawer.getBoundingClientRect().right;
    const move = (e) => resize(right - e.clientX);
    grip.addEventListener("pointermove", move);
    grip.addEventListener("pointerup", () => grip.removeEventListener("pointermove", move), { once: true });
  });
  grip.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: 40, ArrowRight: -40 }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    resize(drawer.getBoundingClientRect().width + step);
  });

  // app.js re-fetches the page while the session runs and tells the list to reload its rows.
  tree.addEventListener("live:after", changed);

  drawAxis();
  load(0);
}

document.addEventListener("DOMContentLoaded", setupSessionList);
