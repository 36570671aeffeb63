"""What the pages show, shaped from store rows: tree rows with waterfall positions, span detail,
overview charts. Plain data for the templates (which escape everything); no HTML built here."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from agentops_otel.store import SessionRow, SpanRow, UsageRow
from agentops_otel.view._model import Node, Step, replay_steps

CLIP_CHARS = 20_000  # longer texts show truncated, with "show all"


# --- formatting (template filters) -------------------------------------------------------------
def fmt_cost(value: float | None) -> str:
    """``$0.0123``; ``None`` is "no price" (an unpriced call is not free)."""
    if value is None:
        return "no price"
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


def fmt_tokens(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "running"
    if value < 1000:
        return f"{value:,.0f} ms"
    return f"{value / 1000:,.2f} s"


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
CHART_W, CHART_H = 720, 200


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    """A stacked bar chart as SVG geometry (drawn by the template; no script needed)."""

    title: str
    bars: list[Bar]
    legend: list[tuple[str, str, str]]  # key, colour, total
    labels: list[tuple[float, str]]  # x, bucket label
    peak: str
    total: str


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
    fmt: Callable[[float], str],
    hourly: bool,
) -> Chart:
    """Bars per time slot, stacked by key (the 9 largest keys, the rest as "(other)")."""
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        totals[row.key] += value(row)
    ranked = sorted(totals, key=lambda k: (-totals[k], k))
    keep = set(ranked[: len(PALETTE) - 1])
    cells: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        cells[row.bucket_ns][row.key if row.key in keep else OTHER] += value(row)
    keys = [k for k in ranked if k in keep] + ([OTHER] if len(ranked) > len(keep) else [])
    colors = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}
    peak = max((sum(c.values()) for c in cells.values()), default=0.0)
    slot_w = CHART_W / max(len(slots), 1)
    bars = []
    for i, slot in enumerate(slots):
        y = float(CHART_H)
        for key in keys:
            amount = cells.get(slot, {}).get(key, 0.0)
            if amount <= 0 or peak <= 0:
                continue
            height = amount / peak * CHART_H
            y -= height
            bars.append(
                Bar(
                    round(i * slot_w + 1, 2),
                    round(y, 2),
                    round(max(slot_w - 2, 1), 2),
                    round(height, 2),
                    colors[key],
                    f"{bucket_label(slot, hourly)} · {key}: {fmt(amount)}",
                )
            )
    step = max(1, len(slots) // 8)
    labels = [
        (round(i * slot_w + slot_w / 2, 2), bucket_label(s, hourly))
        for i, s in enumerate(slots)
        if i % step == 0
    ]
    legend = [
        (
            k,
            colors[k],
            fmt(totals[k] if k != OTHER else sum(v for n, v in totals.items() if n not in keep)),
        )
        for k in keys
    ]
    return Chart(title, bars, legend, labels, fmt(peak), fmt(sum(totals.values())))


def session_summary(session: SessionRow) -> dict[str, Any]:
    """The JSON shape of a session for the API."""
    data = asdict(session)
    data["tags"] = list(session.tags)
    data["running"] = session.running
    return data
