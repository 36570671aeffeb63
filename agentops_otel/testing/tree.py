"""Small readers for asserting on captured span trees and the fake server's request log."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from agentops_otel import semconv as A


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def one(spans: list[ReadableSpan]) -> ReadableSpan:
    """The only span of ``spans`` (fails, naming them, when there are more or none)."""
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def by_start(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return sorted(spans, key=lambda s: s.start_time or 0)


def totals(span: ReadableSpan) -> tuple[int, int]:
    """The (input, output) token roll-up written on an enclosing span."""
    a = attrs(span)
    return a[A.TOTAL_INPUT_TOKENS], a[A.TOTAL_OUTPUT_TOKENS]


def usage_of(requests: list[dict[str, Any]]) -> tuple[int, int]:
    """(input, output) tokens the fake server reported for ``requests`` (its log entries)."""
    return (
        sum(r["usage"]["input_tokens"] for r in requests),
        sum(r["usage"]["output_tokens"] for r in requests),
    )
