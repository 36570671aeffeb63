"""``AgentOpsSpanProcessor``: the SDK hook of the ledger (:mod:`agentops_otel._ledger`).

Added to a tracer provider (``init()`` adds it to the provider it joins or creates), it hands
every span's start and end to the ledger: identity copied onto new spans, cost and usage rolled
up to their open ancestors, budgets checked.
"""

from __future__ import annotations

import logging

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from agentops_otel._ledger import LEDGER

_log = logging.getLogger(__name__)


class AgentOpsSpanProcessor(SpanProcessor):
    """Copies identity onto new spans and rolls LLM usage and cost up to their ancestors."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            LEDGER.span_started(span, parent_context)
        except Exception:  # noqa: BLE001 - never break span creation
            _log.debug("agentops processor on_start failed", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            LEDGER.span_ended(span)
        except Exception:  # noqa: BLE001
            _log.debug("agentops processor on_end failed", exc_info=True)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
