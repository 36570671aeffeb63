"""What the pages show, shaped from store rows: tree rows with waterfall positions, span detail,
overview charts. Plain data for the templates (which escape everything); no HTML built here."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from agentops_otel.store import RateRow, SessionRow, SpanRow, UsageRow
from agentops_otel.view import _format
from agentops_otel.view._model import Node, Step, replay_steps

CLIP_CHARS = 20_000  # longer texts show truncated, with "show all"


# --- formatting (template filters; numbers from the one formatter the CLI uses too) -----------
fmt_cost = _format.cost
fmt_ms = _format.duration


def fmt_tokens(value: int | None) -> str:
    """One token count, ``1,234``; empty when unknown."""
    return "" if value is None else _format.count(value)


def fmt_time(ns: int | None) -> str:
    if not ns:
        return ""
    return datetime.fromtimestamp(ns / 1e9).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def clip(text: str, full: bool) -> tuple[str, bool]:
    """``text`` cut to :data:`CLIP_CHARS` unless ``full``; and whether it was cut."""
    if full or len(text) <= CLIP_CHARS:
        return text, False
    return text[:CLIP_CHARS], True


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


# --- span detail ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpanDetail:
    """The span panel: the span, its messages or tool payloads as text, attributes, raw JSON."""

    span: SpanRow
    node: Node
    step: Step | None
    attributes: list[tuple[str, str, bool]]  # key, value text, cut short
    raw_json: str
    raw_clipped: bool


def span_detail(span: SpanRow, full: bool) -> SpanDetail:
    steps = replay_steps([span])
    attributes = []
    for key in sorted(span.attributes):
        text, cut = clip(as_text(span.attributes[key]), full)
        attributes.append((key, text, cut))
    raw, raw_cut = clip(json.dumps(asdict(span), ensure_ascii=False, indent=2, default=str), full)
    return SpanDetail(span, Node(span), steps[0] if steps else None, attributes, raw, raw_cut)


# --- overview ----------------------------------------------------------------------------------
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
OTHER = "(other)"


@dataclass(frozen=True)
class Chart:
    """One overview chart: what the page prints (title, legend with totals) and the series
    app.js draws with uPlot (``data``, embedded as JSON, escaped by the template)."""

    title: str
    legend: list[tuple[str, int, str]]  # key, colour index, total as shown
    total: str
    data: dict[str, Any]


def buckets(since_ns: int, now_ns: int, width_ns: int) -> list[int]:
    first = since_ns // width_ns * width_ns
    return list(range(first, now_ns + 1, width_ns))


def bucket_label(ns: int, hourly: bool) -> str:
    when = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
    return when.strftime("%H:00" if hourly else "%m-%d")


def stacked_chart(
    title: str,
    rows: Sequence[UsageRow],
    slots: Sequence[int],
    value: Callable[[UsageRow], float],
    unit: str,
) -> Chart:
    """Bars per time slot, stacked by key (the 9 largest keys, the rest as "(other)");
    ``unit`` is ``usd`` or ``count``."""
    fmt = _format.cost if unit == "usd" else _format.count
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        totals[row.key] += value(row)
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    keep = set(ranked[: len(PALETTE) - 1])
    keys = [k for k in ranked if k in keep] + ([OTHER] if len(ranked) > len(keep) else [])
    index = {slot: i for i, slot in enumerate(slots)}
    values = {k: [0.0] * len(slots) for k in keys}
    for row in rows:
        if row.bucket_ns in index:
            values[row.key if row.key in keep else OTHER][index[row.bucket_ns]] += value(row)
    kept_total = {k: sum(v) for k, v in values.items()}
    series = [{"label": k, "color": PALETTE[i], "values": values[k]} for i, k in enumerate(keys)]
    legend = [(k, i, fmt(kept_total[k])) for i, k in enumerate(keys)]
    data = {"x": [s // 10**9 for s in slots], "unit": unit, "stacked": True, "series": series}
    return Chart(title, legend, fmt(sum(totals.values())), data)


_RATES = (
    ("with errors", "with_errors", 2),
    ("with loops", "loops", 1),
    ("over budget", "over_budget", 6),
)


def rates_chart(rates: Sequence[RateRow], slots: Sequence[int]) -> Chart:
    """The share of sessions per slot with errors, loops, or a blown budget (lines, %)."""
    index = {slot: i for i, slot in enumerate(slots)}
    sessions = sum(r.sessions for r in rates)
    series, legend = [], []
    for label, field, color in _RATES:
        values: list[float | None] = [None] * len(slots)
        for rate in rates:
            if rate.bucket_ns in index and rate.sessions:
                values[index[rate.bucket_ns]] = round(100 * getattr(rate, field) / rate.sessions, 2)
        series.append({"label": label, "color": PALETTE[color], "values": values})
        share = _format.percent(sum(getattr(r, field) for r in rates), sessions)
        legend.append((label, color, share or "0%"))
    data = {"x": [s // 10**9 for s in slots], "unit": "percent", "stacked": False, "series": series}
    return Chart("Sessions with errors, loops, over budget", legend, f"{sessions:,} sessions", data)


def session_summary(session: SessionRow) -> dict[str, Any]:
    """The JSON shape of a session for the API."""
    data = asdict(session)
    data["tags"] = list(session.tags)
    data["running"] = session.running
    return data
