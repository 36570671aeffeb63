"""Numbers as both viewers show them: one formatter for costs, tokens and durations, so the
same value reads the same in the terminal, the tree, the tables and the charts.

Costs keep three significant digits below a dollar (an $8e-8 embedding is ``$0.00000008``, not
``$0.000000``) and cents above; a cost that is unknown is ``—`` unless the call should have had
a price (:func:`call_cost`), which reads "no price".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agentops_otel import accounting
from agentops_otel import semconv as A

NO_VALUE = "—"
NO_PRICE = "no price"
_COST_DIGITS = 3  # significant digits of a cost under one dollar
_MAX_DECIMALS = 12


def cost(value: float | None) -> str:
    """``$1,234.57``, ``$0.50``, ``$0.00522``, ``$0.00000008``; ``None`` is ``—``."""
    if value is None or math.isnan(value):
        return NO_VALUE
    if value == 0:
        return "$0"
    size = float(f"{abs(value):.12g}")  # sums in another order differ past here: not shown
    sign = "-" if value < 0 else ""
    decimals = max(_COST_DIGITS - 1 - math.floor(math.log10(size)), 2)
    if decimals > _MAX_DECIMALS:
        return f"{sign}<$0.{'0' * (_MAX_DECIMALS - 1)}1"
    text = f"{size:.{decimals}f}"
    if float(text) >= 1:
        return f"{sign}${size:,.2f}"
    return f"{sign}$0.{text.rstrip('0').partition('.')[2].ljust(2, '0')}"


def unpriced(value: float | None, attributes: Mapping[str, Any], priced: bool) -> bool:
    """Whether a call lacks a price it should have: a ``priced`` kind of call (an LLM call)
    with no cost that :func:`~agentops_otel.accounting.needs_price`, the rule the stores'
    roll-ups count by (:func:`~agentops_otel.accounting.unpriced`): a failed call that used
    nothing is not unpriced."""
    if value is not None or not priced:
        return False
    return accounting.needs_price(accounting.read_usage(attributes)[0], attributes)


def call_cost(value: float | None, attributes: Mapping[str, Any], priced: bool) -> str:
    """The cost of one call: :func:`cost`, or "no price" when :func:`unpriced`."""
    return NO_PRICE if unpriced(value, attributes, priced) else cost(value)


def count(value: float | None) -> str:
    """``1,234``; ``None`` is ``—``."""
    return NO_VALUE if value is None else f"{value:,.0f}"


def tokens(
    input_tokens: int | None,
    output_tokens: int | None,
    attributes: Mapping[str, Any] | None = None,
) -> str:
    """``1,200 in (800 cached) / 34 out (12 reasoning)``; one side alone when the other is
    unknown (an embedding: ``4 in``); ``—`` when neither is known."""
    attrs = attributes or {}
    parts = [
        _side(count, label, attrs.get(key), note)
        for count, label, key, note in (
            (input_tokens, "in", A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "cached"),
            (output_tokens, "out", A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "reasoning"),
        )
        if count is not None
    ]
    return " / ".join(parts) or NO_VALUE


def _side(count: int, label: str, part: Any, note: str) -> str:
    """``1,200 in`` with ``(800 cached)`` when ``part`` is a positive count."""
    text = f"{count:,} {label}"
    if isinstance(part, int) and part > 0:
        text += f" ({part:,} {note})"
    return text


def duration(ms: float | None) -> str:
    """``0.07 ms``, ``230 ms``, ``1.25 s``, ``2m05s``; ``None`` (not ended) is ``running``."""
    if ms is None:
        return "running"
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:,.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes}m{seconds:02d}s"


def percent(part: float, whole: float) -> str:
    """``12.5%`` of ``whole``; empty when ``whole`` is zero."""
    return f"{100 * part / whole:.1f}%" if whole else ""
