// agentops-otel session page: one virtualized span list (tree + waterfall with a time axis and
// zoom), keyboard navigation, a filter, and the detail drawer. The page asks once for the tree's
// shape (/api/sessions/ID/shape: each row's depth, depth first, and the first rows' cells), then
// folds, unfolds, expands and collapses by itself; it asks /rows only for the cells of rows it
// does not hold yet (placeholders until they arrive) and /match for what a filter keeps. Texts
// from the store go in with textContent only; the drawer's HTML is the server's escaped fragment.
"use strict";

const ROW_H = 26; // px, as .span-row in session.css
const BATCH = 200; // rows asked for at once
const OVERSCAN = 10;
const INDENT_PX = 12;
const MAX_INDENT = 24;

// Ascending indices as runs: [0, 1, 2, 3, 7, 9, 10] -> "0-3,7,9-10".
function runsOf(indices) {
  const parts = [];
  for (let k = 0; k < indices.length; ) {
    let end = k;
    while (end + 1 < indices.length && indices[end + 1] === indices[end] + 1) end += 1;
    parts.push(end > k ? `${indices[k]}-${indices[end]}` : String(indices[k]));
    k = end + 1;
  }
  return parts.join(",");
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  return { status: response.status, data: response.ok ? await response.json() : null };
}

function setupSessionList() {
  const tree = document.getElementById("tree");
  const body = document.getElementById("tree-body");
  if (!tree || !body) return;
  const api = tree.dataset.apiUrl;
  const spacer = document.getElementById("tree-spacer");
  const axis = document.getElementById("axis");
  const select = document.getElementById("zoom-select");
  const drawer = document.getElementById("drawer");
  const detail = document.getElementById("detail");
  const byId = (id) => document.getElementById(id);

  // The tree's shape, depth first: each row's depth, subtree size and parent's index.
  let depth = new Int32Array(0);
  let size = new Int32Array(0);
  let parent = new Int32Array(0);
  let marker = null; // the store's change marker the shape belongs to
  let generation = 0; // moves with each new shape; answers about an older one are dropped
  let shapes = 0; // shape requests made; only the newest one's answer is used
  let cells = new Map(); // row index -> its cells as the server sent them
  const pending = new Set(); // row indices asked for
  // Rows are open unless `folded`, except those in `toggled` (index -> span id, so the folds
  // survive a new shape); `keep`, while filtering: 1 for a match, 2 for an ancestor as context.
  const view = { folded: false, toggled: new Map(), errors: false, llm: false, q: "" };
  let keep = null;
  let filters = 0; // filter requests made; only the newest one's answer is used
  let refolds = 0; // moves with every fold the user makes
  let shown = new Int32Array(0); // the indices of the rows shown, in order
  let spanMs = 1;
  let zoom = null; // [from, to] in ms from the session start, or null for all of it
  let active = 0; // a position in `shown`
  let selected = null;
  let scheduled = false;

  // --- the shape, the filter and what is shown -------------------------------------------
  function filtering() { return view.errors || view.llm || view.q !== ""; }
  function filterKey() { return JSON.stringify([view.errors, view.llm, view.q]); }

  function matchUrl(at) {
    const params = new URLSearchParams({ marker: at });
    if (view.errors) params.set("errors", "1");
    if (view.llm) params.set("llm", "1");
    if (view.q) params.set("q", view.q);
    return `${api}/match?${params}`;
  }

  // Ask for the shape (again when spans arrived), keeping the folds, the active row and the
  // filter: the server finds the folded rows and the active one by span id in the new shape.
  async function reshape() {
    const asked = ++shapes;
    const folds = refolds;
    const ids = [];
    for (const [index, id] of view.toggled) {
      const known = id || (cells.get(index) || {}).id;
      if (known) ids.push(known);
    }
    const current = cells.get(shown[active]);
    const find = current ? [...ids, current.id] : ids;
    const shape = await getJson(`${api}/shape?${new URLSearchParams({ ids: find.join(",") })}`);
    if (!shape.data || asked !== shapes) return;
    const wanted = filterKey();
    let match = null;
    if (filtering()) {
      match = await getJson(matchUrl(shape.data.marker));
      if (asked !== shapes || !match.data) return;
    }
    if (folds !== refolds) { // the user folded meanwhile: ask again with those folds
      reshape();
      return;
    }
    install(shape.data, ids);
    keep = match && keepOf(match.data.match);
    drawAxis();
    update(current ? shape.data.found[ids.length] : undefined);
    tree.dispatchEvent(new Event("rows:loaded"));
    if (filterKey() !== wanted) refilter();
  }

  function install(data, ids) {
    generation += 1;
    marker = data.marker;
    spanMs = data.span_ms;
    const count = data.depth.length;
    depth = Int32Array.from(data.depth);
    size = new Int32Array(count);
    parent = new Int32Array(count);
    const open = []; // the rows whose subtrees the walk is in
    for (let i = 0; i < count; i += 1) {
      while (open.length && depth[open[open.length - 1]] >= depth[i]) {
        const done = open.pop();
        size[done] = i - done - 1;
      }
      parent[i] = open.length ? open[open.length - 1] : -1;
      open.push(i);
    }
    for (const done of open) size[done] = count - done - 1;
    cells = new Map(data.rows.map((row, i) => [i, row]));
    pending.clear();
    view.toggled = new Map();
    ids.forEach((id, k) => { if (data.found[k] >= 0) view.toggled.set(data.found[k], id); });
  }

  function keepOf(matched) {
    const kept = new Uint8Array(depth.length);
    for (const [first, last] of matched) {
      for (let i = first; i <= last; i += 1) {
        kept[i] = 1;
        for (let j = parent[i]; j >= 0 && kept[j] === 0; j = parent[j]) kept[j] = 2;
      }
    }
    return kept;
  }

  async function refilter() {
    active = 0;
    body.scrollTop = 0;
    const asked = ++filters;
    if (!filtering()) {
      keep = null;
      update();
      return;
    }
    const at = marker;
    if (at === null) return; // the shape's answer applies the filter
    const match = await getJson(matchUrl(at));
    if (asked !== filters || at !== marker) return;
    if (!match.data) {
      if (match.status === 409) reshape();
      return;
    }
    keep = keepOf(match.data.match);
    update();
    tree.dispatchEvent(new Event("rows:loaded"));
  }

  function isOpen(index) { return view.toggled.has(index) === view.folded; }

  // The position of row `index` among those shown, or -1.
  function positionOf(index) {
    let low = 0;
    let high = shown.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (shown[middle] === index) return middle;
      if (shown[middle] < index) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  // Work out what is shown; the row at index `current` stays active (or its nearest ancestor
  // still shown).
  function update(current) {
    const out = new Int32Array(depth.length);
    let count = 0;
    for (let i = 0; i < depth.length; ) {
      if (keep && !keep[i]) {
        i += 1 + size[i];
        continue;
      }
      out[count] = i;
      count += 1;
      i += size[i] === 0 || isOpen(i) ? 1 : 1 + size[i];
    }
    shown = out.subarray(0, count);
    let pos = -1;
    for (let i = current === undefined ? -1 : current; pos < 0 && i >= 0; i = parent[i]) {
      pos = positionOf(i);
    }
    active = Math.max(pos, 0);
    byId("shown-count").textContent = String(count);
    byId("tree-empty").hidden = count > 0;
    render();
  }

  // Ask for the cells of rows about to be shown that the page does not hold.
  function fetchMissing(first, last) {
    let missing = false;
    for (let pos = first; pos < last && !missing; pos += 1) {
      missing = !cells.has(shown[pos]) && !pending.has(shown[pos]);
    }
    if (!missing) return;
    const wanted = [];
    const end = Math.min(shown.length, first + BATCH);
    for (let pos = Math.max(0, first - BATCH / 4); pos < end && wanted.length < BATCH; pos += 1) {
      if (!cells.has(shown[pos]) && !pending.has(shown[pos])) wanted.push(shown[pos]);
    }
    load(wanted);
  }

  async function load(wanted) {
    const asked = generation;
    for (const index of wanted) pending.add(index);
    try {
      const answer = await getJson(`${api}/rows?${new URLSearchParams({ marker, at: runsOf(wanted) })}`);
      if (asked !== generation) return;
      if (answer.status === 409) reshape();
      if (!answer.data) return;
      answer.data.rows.forEach((row, k) => cells.set(wanted[k], row));
    } finally {
      if (asked === generation) for (const index of wanted) pending.delete(index);
    }
    render();
    tree.dispatchEvent(new Event("rows:loaded"));
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

  function rowElement(pos, index) {
    const row = cells.get(index);
    const kids = size[index] > 0;
    const open = kids && isOpen(index);
    const el = document.createElement("div");
    el.id = `row-${pos}`;
    el.dataset.pos = String(pos);
    el.setAttribute("role", "treeitem");
    el.setAttribute("aria-level", String(depth[index] + 1));
    if (kids) el.setAttribute("aria-expanded", String(open));
    el.style.transform = `translateY(${pos * ROW_H}px)`;
    const name = cell("c-name", "");
    name.style.paddingLeft = `${Math.min(depth[index], MAX_INDENT) * INDENT_PX + 4}px`;
    name.append(cell("toggle", kids ? (open ? "▾" : "▸") : ""));
    if (!row) { // not here yet: it folds all the same
      el.className = "span-row loading";
      el.classList.toggle("active", pos === active);
      name.append(cell("span-name", "…"));
      el.append(name);
      return el;
    }
    el.dataset.span = row.id;
    el.className = `span-row kind-${row.kind}`;
    el.classList.toggle("error", row.error !== null);
    el.classList.toggle("running", row.running);
    el.classList.toggle("context", keep !== null && keep[index] !== 1);
    el.classList.toggle("active", pos === active);
    el.classList.toggle("selected", row.id === selected);
    el.setAttribute("aria-selected", String(row.id === selected));
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
    const total = shown.length;
    spacer.style.height = `${total * ROW_H}px`;
    const first = Math.max(0, Math.floor(body.scrollTop / ROW_H) - OVERSCAN);
    const last = Math.min(total, Math.ceil((body.scrollTop + body.clientHeight) / ROW_H) + OVERSCAN);
    fetchMissing(first, last);
    const rows = [];
    for (let pos = first; pos < last; pos += 1) rows.push(rowElement(pos, shown[pos]));
    body.querySelectorAll(".span-row").forEach((el) => el.remove());
    body.append(...rows);
    const current = byId(`row-${active}`);
    if (current && total) body.setAttribute("aria-activedescendant", current.id);
    else body.removeAttribute("aria-activedescendant");
  }

  // --- actions ------------------------------------------------------------------------------
  function setActive(pos) {
    if (!shown.length) return;
    active = Math.min(Math.max(pos, 0), shown.length - 1);
    const top = active * ROW_H;
    if (top < body.scrollTop) body.scrollTop = top;
    else if (top + ROW_H > body.scrollTop + body.clientHeight) {
      body.scrollTop = top + ROW_H - body.clientHeight;
    }
    render();
  }

  function toggle(index) {
    if (!(size[index] > 0)) return;
    if (view.toggled.has(index)) view.toggled.delete(index);
    else view.toggled.set(index, (cells.get(index) || {}).id);
    refolds += 1;
    update(shown[active]);
  }

  function foldAll(folded) {
    view.folded = folded;
    view.toggled.clear();
    refolds += 1;
    body.scrollTop = 0;
    update();
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
    if (!el) return;
    active = Number(el.dataset.pos);
    body.focus({ preventScroll: true });
    if (event.target.closest(".toggle")) toggle(shown[active]);
    else if (cells.has(shown[active])) openDrawer(cells.get(shown[active]));
    else render();
  });

  body.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const index = shown.length ? shown[active] : -1;
    const perPage = Math.max(1, Math.floor(body.clientHeight / ROW_H) - 1);
    switch (event.key) {
      case "ArrowDown": setActive(active + 1); break;
      case "ArrowUp": setActive(active - 1); break;
      case "PageDown": setActive(active + perPage); break;
      case "PageUp": setActive(active - perPage); break;
      case "Home": setActive(0); break;
      case "End": setActive(shown.length - 1); break;
      case "ArrowRight":
        if (size[index] > 0 && !isOpen(index)) toggle(index);
        else if (size[index] > 0) setActive(active + 1);
        break;
      case "ArrowLeft":
        if (size[index] > 0 && isOpen(index)) toggle(index);
        else if (parent[index] >= 0) setActive(positionOf(parent[index]));
        break;
      case "Enter": openDrawer(cells.get(index)); break;
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
  tree.addEventListener("live:after", reshape);

  drawAxis();
  reshape();
}

document.addEventListener("DOMContentLoaded", setupSessionList);
