"""Offline LLM pricing: what one model call cost, from a bundled, versioned price table.

Token counts follow the OpenTelemetry GenAI convention: ``input_tokens`` already include cache
reads and cache writes, ``output_tokens`` already include reasoning tokens. Each token is charged
once, at the price of its kind. The table (``prices.json``, regenerated offline from genai-prices
by ``scripts/update_prices.py``) loads on first use, or in the background after ``preload()``;
importing this module reads nothing. Users add or override prices with ``set_price()`` or a JSON /
TOML file named by ``AGENTOPS_PRICES_FILE``; those win over the table and report source "user".
A model served locally (provider ``ollama``) costs nothing: $0 with source "local", never unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agentops_otel.pricing._table import PRICES_FILE_ENV, Registry, user_rate
from agentops_otel.pricing._version import TABLE_VERSION

__all__ = [
    "LOCAL_PROVIDERS",
    "LOCAL_SOURCE",
    "PRICES_FILE_ENV",
    "TABLE_VERSION",
    "Cost",
    "cost_for",
    "preload",
    "set_price",
]

_log = logging.getLogger("agentops_otel.pricing")
_registry = Registry()
_warned = False
# Providers that run models on the user's own machine: free, whatever the model is called.
LOCAL_PROVIDERS = frozenset({"ollama"})
LOCAL_SOURCE = "local"


@dataclass(frozen=True, slots=True)
class Cost:
    """The price of one model call in USD, split by direction, and where the prices came from."""

    total_usd: float
    input_usd: float  # uncached input + cache read + cache write
    output_usd: float  # output (reasoning included, charged once)
    source: str  # "agentops-otel/<table version>", "user" or "local"


_LOCAL_COST = Cost(0.0, 0.0, 0.0, LOCAL_SOURCE)


def _count(value: Any) -> int:
    """A token count as a non-negative int; anything unusable counts as 0."""
    if type(value) is int:
        return max(0, value)
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(0, n)


def cost_for(
    provider: str | None,
    model: str | None,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    response_model: str | None = None,
) -> Cost | None:
    """Cost of one call, or None when neither `response_model` nor `model` has a known price.

    `response_model` (the snapshot the provider actually ran) is preferred when it is priced.
    `reasoning_tokens` is accepted for completeness but never charged: it is part of
    `output_tokens`. A local provider (`LOCAL_PROVIDERS`) gives $0 with source "local".
    Never raises.
    """
    global _warned
    try:
        if provider is not None and not isinstance(provider, str):
            provider = None
        if provider in LOCAL_PROVIDERS:
            return _LOCAL_COST
        rate = None
        if response_model and isinstance(response_model, str):
            rate = _registry.lookup(provider, response_model)
        if rate is None:
            if not model or not isinstance(model, str):
                return None
            rate = _registry.lookup(provider, model)
            if rate is None:
                return None
        inp = _count(input_tokens)
        cache_read = _count(cache_read_tokens)
        cache_write = _count(cache_write_tokens)
        p_in, p_out, p_read, p_write = rate.for_input(inp)
        uncached = inp - cache_read - cache_write
        uncached = max(uncached, 0)
        input_usd = (uncached * p_in + cache_read * p_read + cache_write * p_write) / 1e6
        output_usd = _count(output_tokens) * p_out / 1e6
        return Cost(input_usd + output_usd, input_usd, output_usd, rate.source)
    except Exception:  # noqa: BLE001 - pricing must never break the caller
        if not _warned:
            _warned = True
            _log.warning("agentops-otel pricing failed; cost left unset", exc_info=True)
        return None


def set_price(
    model: str,
    *,
    provider: str | None = None,
    input_per_mtok: float,
    output_per_mtok: float,
    cache_read_per_mtok: float | None = None,
    cache_write_per_mtok: float | None = None,
) -> None:
    """Add or override a model's price in USD per million tokens (wins over the bundled table).

    With `provider`, the price applies only to calls from that provider (any of its names,
    e.g. "aws.bedrock" or "bedrock"). Cache prices default to the input price. Raises ValueError
    on a missing model or a negative / non-finite price.
    """
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must be a non-empty string")
    rate = user_rate(input_per_mtok, output_per_mtok, cache_read_per_mtok, cache_write_per_mtok)
    _registry.set_price(model, provider, rate)


def preload() -> None:
    """Start loading the price table on a daemon thread, so the first priced call doesn't wait.

    Idempotent. A `cost_for` that runs before the load finishes waits for it.
    """
    _registry.preload()


def _reset() -> None:
    """Forget the loaded table, overrides and lookups; the next call reloads (for tests)."""
    _registry.reset()
