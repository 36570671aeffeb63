"""The session page's span list: the session tree flattened depth first, served as JSON.

The page asks once for the tree's shape (every row's depth, in depth-first order) with the
first rows' cells, then folds, unfolds and scrolls by itself, asking only for the cells of rows
it does not hold yet (by depth-first index) and for what a filter matches. A window of what a
:class:`View` shows (``offset``, ``limit``) is served too, for readers without the script.
Texts are plain strings; the page's script puts them in as text."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.dashboard._views import fmt_ms, fmt_tokens
from agentops_otel.store import SpanRow
from agentops_otel.view import _format
from agentops_otel.view._model import Breakdown, Node, breakdown, build_tree

MAX_WINDOW = 1000  # rows in one JSON answer
FIRST_ROWS = 200  # the rows' cells sent with the shape


@dataclass(frozen=True)
class View:
    """What the page shows: rows are open unless ``folded`` (then closed), except the span ids
    in ``toggled``; the filter keeps errors only, LLM calls only, rows whose texts contain
    ``text``, and the ancestors of what it keeps (as context)."""

    folded: bool = False
    toggled: frozenset[str] = frozenset()
    errors: bool = False
    llm: bool = False
    text: str = ""

    @property
    def filtering(self) -> bool:
        return self.errors or self.llm or bool(self.text)


@dataclass(frozen=True)
class _Row:
    node: Node
    depth: int
    size: int  # descendants
    parent: int  # index of the parent row, -1 for a root

    @property
    def text(self) -> str:
        """What the text filter searches, lower case."""
        node, span = self.node, self.node.span
        words = (node.label, span.name, node.kind, span.model or "", node.error or "")
        return " ".join(words).lower()


class SessionTree:
    """One session's spans as a depth-first list with subtree sizes; answers windows of the
    rows a :class:`View` shows. Built once per session and change marker (see :class:`Trees`)."""

    def __init__(self, spans: Sequence[SpanRow], live: bool) -> None:
        self.spans = list(spans)
        self.live = live
        self.rows: list[_Row] = []
        self.start_ns = min((s.start_ns for s in spans), default=0)
        self.end_ns = max((s.end_ns or s.start_ns for s in spans), default=0)
        self._flatten(build_tree(spans, live=live))
        self.index = {r.node.span.span_id: i for i, r in enumerate(self.rows)}
        self._lock = threading.Lock()
        self._last: tuple[View, list[int], dict[int, int]] | None = None

    def _flatten(self, roots: list[Node]) -> None:
        """Depth-first rows; a row's size runs to the next row no deeper than it."""
        order: list[tuple[Node, int, int]] = []
        stack: list[tuple[Node, int, int]] = [(n, 0, -1) for n in reversed(roots)]
        while stack:
            node, depth, parent = stack.pop()
            order.append((node, depth, parent))
            here = len(order) - 1
            stack += [(child, depth + 1, here) for child in reversed(node.children)]
        sizes = [0] * len(order)
        open_rows: list[int] = []
        for i, (_, depth, _) in enumerate(order):
            while open_rows and order[open_rows[-1]][1] >= depth:
                done = open_rows.pop()
                sizes[done] = i - done - 1
            open_rows.append(i)
        for done in open_rows:
            sizes[done] = len(order) - done - 1
        self.rows = [
            _Row(node, depth, size, parent)
            for (node, depth, parent), size in zip(order, sizes, strict=True)
        ]

    @cached_property
    def by_agent(self) -> list[Breakdown]:
        return breakdown(self.spans, "agent")

    @cached_property
    def by_model(self) -> list[Breakdown]:
        return breakdown(self.spans, "model")

    @cached_property
    def unpriced(self) -> int:
        """LLM calls with no price."""
        return sum(
            _format.unpriced(s.cost_usd, s.attributes, s.agentops_kind == A.KIND_LLM)
            for s in self.spans
        )

    def _open(self, row: _Row, view: View) -> bool:
        return (row.node.span.span_id in view.toggled) == view.folded

    def _matches(self, row: _Row, view: View) -> bool:
        node = row.node
        if view.errors and node.error is None:
            return False
        if view.llm and not node.is_llm:
            return False
        return view.text in row.text

    def visible(self, view: View) -> tuple[list[int], dict[int, int]]:
        """The indices of the rows shown, in order, and each one's position."""
        with self._lock:
            if self._last is not None and self._last[0] == view:
                return self._last[1], self._last[2]
        keep: set[int] | None = None
        if view.filtering:
            keep = set()
            for i, row in enumerate(self.rows):
                if self._matches(row, view):
                    j = i
                    while j >= 0 and j not in keep:
                        keep.add(j)
                        j = self.rows[j].parent
        shown: list[int] = []
        i, count = 0, len(self.rows)
        while i < count:
            row = self.rows[i]
            if keep is not None and i not in keep:
                i += 1 + row.size
                continue
            shown.append(i)
            i += 1 if row.size == 0 or self._open(row, view) else 1 + row.size
        positions = {index: pos for pos, index in enumerate(shown)}
        with self._lock:
            self._last = (view, shown, positions)
        return shown, positions

    def window(self, view: View, offset: int, limit: int) -> dict[str, Any]:
        """The rows at positions ``offset`` .. ``offset + limit`` of what ``view`` shows, with
        the time axis (ms from the session's first span) and the count of rows shown."""
        shown, positions = self.visible(view)
        now_ns = time.time_ns()
        limit = max(0, min(limit, MAX_WINDOW))
        rows = [
            self._json(self.rows[i], view, positions, now_ns)
            for i in shown[max(offset, 0) : max(offset, 0) + limit]
        ]
        return {
            "total": len(shown),
            "spans": len(self.spans),
            "offset": offset,
            "span_ms": self._span_ms(now_ns),
            "running": self.live,
            "rows": rows,
        }

    def shape(self, ids: Iterable[str] = ()) -> dict[str, Any]:
        """What the page folds and scrolls with: every row's depth in depth-first order (its
        subtree size and parent follow), the first rows' cells, and the index of each span
        in ``ids`` (-1 when it is gone), so folds made by span id survive new spans."""
        now_ns = time.time_ns()
        return {
            "spans": len(self.spans),
            "span_ms": self._span_ms(now_ns),
            "running": self.live,
            "depth": [row.depth for row in self.rows],
            "rows": self.cells(range(min(FIRST_ROWS, len(self.rows)))),
            "found": [self.index.get(i, -1) for i in ids],
        }

    def cells(self, indices: Iterable[int]) -> list[dict[str, Any]]:
        """The cells of the rows at these depth-first indices, in that order."""
        now_ns = time.time_ns()
        return [self._cells(self.rows[i], now_ns) for i in indices]

    def matching(self, view: View) -> list[tuple[int, int]]:
        """The rows ``view``'s filter keeps (not their ancestors) as runs of depth-first
        indices, first and last."""
        runs: list[tuple[int, int]] = []
        for i, row in enumerate(self.rows):
            if not self._matches(row, view):
                continue
            if runs and runs[-1][1] == i - 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
        return runs

    def _span_ms(self, now_ns: int) -> float:
        end_ns = max(self.end_ns, now_ns) if self.live else self.end_ns
        return max(end_ns - self.start_ns, 1) / 1e6

    def _json(self, row: _Row, view: View, positions: dict[int, int], now_ns: int) -> dict:
        return {
            **self._cells(row, now_ns),
            "depth": row.depth,
            "kids": row.size > 0,
            "open": row.size > 0 and self._open(row, view),
            "match": not view.filtering or self._matches(row, view),
            "parent": positions.get(row.parent, -1),
        }

    def _cells(self, row: _Row, now_ns: int) -> dict[str, Any]:
        """What a row shows, whatever the view."""
        node, span = row.node, row.node.span
        tokens = ""
        if node.input_tokens is not None or node.output_tokens is not None:
            tokens = f"{fmt_tokens(node.input_tokens)} / {fmt_tokens(node.output_tokens)}"
        if span.end_ns is None:
            duration = f"running · {fmt_ms((now_ns - span.start_ns) / 1e6)}"
        else:
            duration = fmt_ms(span.duration_ms)
        return {
            "id": span.span_id,
            "name": node.label,
            "kind": node.kind,
            "model": span.model or "",
            "error": node.error,
            "flags": node.flags,
            "tokens": tokens,
            "cost": node.cost_text if node.is_llm or node.cost_usd is not None else "",
            "duration": duration,
            "start": (span.start_ns - self.start_ns) / 1e6,
            "end": None if span.end_ns is None else (span.end_ns - self.start_ns) / 1e6,
            "running": span.end_ns is None,
        }

    def find_span(self, prefix: str) -> SpanRow | str | None:
        """The stored span whose id starts with ``prefix``; a message when several do."""
        found = [s for s in self.spans if s.span_id.startswith(prefix)]
        if len(found) > 1:
            return f"span id prefix {prefix!r} is ambiguous ({len(found)} spans)"
        return found[0] if found else None


def view_from(params: Mapping[str, str]) -> View:
    """The :class:`View` of a rows request's query string."""
    toggled = params.get("toggled", "")
    return View(
        folded=params.get("fold") == "closed",
        toggled=frozenset(t for t in toggled.split(",") if t),
        errors=params.get("errors") == "1",
        llm=params.get("llm") == "1",
        text=params.get("q", "").strip().lower(),
    )


def indices(text: str, count: int) -> list[int]:
    """Depth-first indices written as runs, ``"0-199,250,300-310"``; at most
    :data:`MAX_WINDOW` of them, each below ``count`` (else ValueError)."""
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if not 0 <= low <= high < count or len(out) + high - low >= MAX_WINDOW:
            raise ValueError(
                f"indices {part!r} out of range (0..{count - 1}, at most {MAX_WINDOW})"
            )
        out += range(low, high + 1)
    return out


def answer(tree: SessionTree, part: str, params: Mapping[str, str]) -> dict[str, Any]:
    """The JSON of ``/api/sessions/ID/<part>``: ``shape`` (``ids``: span ids to find),
    ``match`` (the filter: ``errors``, ``llm``, ``q``), ``rows`` by depth-first index (``at``)
    or as a window (``offset``, ``limit`` and the view). ValueError on a malformed value."""
    if part == "shape":
        return tree.shape(i for i in params.get("ids", "").split(",") if i)
    if part == "match":
        return {"match": tree.matching(view_from(params))}
    if "at" in params:
        return {"rows": tree.cells(indices(params["at"], len(tree.rows)))}
    try:
        offset, limit = int(params.get("offset", "0")), int(params.get("limit", "200"))
    except ValueError:
        raise ValueError("offset and limit must be whole numbers") from None
    return tree.window(view_from(params), offset, limit)


class Trees:
    """The last few session trees built, by session id and change marker (a page and the row
    requests that follow it load the spans once)."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._trees: OrderedDict[tuple[str, int], SessionTree] = OrderedDict()
        self._lock = threading.Lock()

    def kept(self, key: tuple[str, int]) -> SessionTree | None:
        """The tree for ``key`` if it is still kept."""
        with self._lock:
            return self._trees.get(key)

    def get(self, key: tuple[str, int], load: Any) -> SessionTree:
        """The tree for ``key``, built from ``load()`` -> ``(spans, live)`` when not kept."""
        with self._lock:
            tree = self._trees.get(key)
            if tree is not None:
                self._trees.move_to_end(key)
                return tree
        spans, live = load()
        tree = SessionTree(spans, live)
        with self._lock:
            self._trees[key] = tree
            while len(self._trees) > self.size:
                self._trees.popitem(last=False)
        return tree
