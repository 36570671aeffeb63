"""What a store derives from a span's attributes, whichever store holds it: whether the span is
a model call to count, its numbers, and the price of a call that arrived without one."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agentops_otel import semconv as A

_log = logging.getLogger("agentops_otel.store")

LEGACY_SYSTEM = "gen_ai.system"  # pre-1.37 provider key other instrumentors still send


def num(value: Any) -> float | None:
    """A number from an attribute value (numbers, numeric strings); ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def integer(value: Any) -> int | None:
    number = num(value)
    return None if number is None else int(number)


def is_llm(attrs: Mapping[str, Any]) -> bool:
    """A model call to count: ours, or another vendor's that our processor did not mark as a
    duplicate of one of ours (cost never counts twice)."""
    if attrs.get(A.LLM_DUPLICATE):
        return False
    kind = attrs.get(A.SPAN_KIND)
    if kind is not None:
        return kind == A.KIND_LLM
    return attrs.get(A.GEN_AI_OPERATION_NAME) in A.INFERENCE_OPERATIONS


def price(provider: str | None, model: str | None, input_tokens: int | None,
          output_tokens: int | None, cache_read_tokens: int | None = None,
          ) -> tuple[float | None, str | None]:
    """Cost and its source (``store:<table>``) of a call that arrived unpriced, from the
    bundled price table; ``(None, None)`` without a model, without tokens or without a price."""
    if not model or (input_tokens is None and output_tokens is None):
        return None, None
    try:
        from agentops_otel.pricing import cost_for

        cost = cost_for(provider or None, model, input_tokens=input_tokens or 0,
                        output_tokens=output_tokens or 0,
                        cache_read_tokens=cache_read_tokens or 0)
    except Exception:  # noqa: BLE001 (a broken price entry never breaks a read or a write)
        _log.debug("agentops-otel: pricing %s/%s failed", provider, model, exc_info=True)
        return None, None
    if cost is None:
        return None, None
    return float(cost.total_usd), f"store:{cost.source}"
