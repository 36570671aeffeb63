"""The session page's span list: the session tree flattened depth first, and the window of it
that the page shows for a view (which rows are folded, what the filter keeps), served as JSON
rows a page at a time. Texts are plain strings; the page's script puts them in as text."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.dashboard._views import fmt_ms, fmt_tokens
from agentops_otel.store import SpanRow
from agentops_otel.view import _format
from agentops_otel.view._model import Breakdown, Node, breakdown, build_tree

MAX_WINDOW = 1000  # rows in one JSON answer


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
        end_ns = max(self.end_ns, now_ns) if self.live else self.end_ns
        limit = max(0, min(limit, MAX_WINDOW))
        rows = [
            self._json(self.rows[i], view, positions, now_ns)
            for i in shown[max(offset, 0) : max(offset, 0) + limit]
        ]
        return {
            "total": len(shown),
            "spans": len(self.spans),
            "offset": offset,
            "span_ms": max(end_ns - self.start_ns, 1) / 1e6,
            "running": self.live,
            "rows": rows,
        }

    def _json(self, row: _Row, view: View, positions: dict[int, int], now_ns: int) -> dict:
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
            "depth": row.depth,
            "kids": row.size > 0,
            "open": row.size > 0 and self._open(row, view),
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
            "match": not view.filtering or self._matches(row, view),
            "parent": positions.get(row.parent, -1),
        }

    def find_span(self, prefix: str) -> SpanRow | str | None:
        """The stored span whose id starts with ``prefix``; a message when several do."""
        found = [s for s in self.spans if s.span_id.startswith(prefix)]
        if len(found) > 1:
            return f"span id prefix {prefix!r} is ambiguous ({len(found)} spans)"
        return found[0] if found else None


def view_from(params: Any) -> View:
    """The :class:`View` of a rows request's query string."""
    toggled = params.get("toggled", "")
    return View(
        folded=params.get("fold") == "closed",
        toggled=frozenset(t for t in toggled.split(",") if t),
        errors=params.get("errors") == "1",
        llm=params.get("llm") == "1",
        text=params.get("q", "").strip().lower(),
    )


class Trees:
    """The last few session trees built, by session id and change marker (a page and the row
    requests that follow it load the spans once)."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._trees: OrderedDict[tuple[str, int], SessionTree] = OrderedDict()
        self._lock = threading.Lock()

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
