"""The processor's state is released: finished spans leave nothing behind, and spans that never
end cannot grow it without bound."""

from __future__ import annotations

import tracemalloc

from opentelemetry.sdk.trace import TracerProvider

from agentops_otel import _ledger
from agentops_otel import semconv as A
from agentops_otel._ledger import LEDGER
from agentops_otel.processor import AgentOpsSpanProcessor


def _provider():
    provider = TracerProvider()
    provider.add_span_processor(AgentOpsSpanProcessor())
    return provider.get_tracer("memory")


def test_finished_spans_release_state_and_memory_stays_flat():
    tracer = _provider()
    session = tracer.start_span(
        "session s", attributes={A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: "mem"}
    )

    def burst(n):
        from opentelemetry import trace

        ctx = trace.set_span_in_context(session)
        for _ in range(n):
            agent = tracer.start_span(
                "invoke_agent a", context=ctx, attributes={A.SPAN_KIND: A.KIND_AGENT}
            )
            llm = tracer.start_span(
                "chat m",
                context=trace.set_span_in_context(agent),
                attributes={
                    A.SPAN_KIND: A.KIND_LLM,
                    A.GEN_AI_USAGE_INPUT_TOKENS: 3,
                    A.COST_USD: 0.001,
                },
            )
            llm.end()
            agent.end()

    burst(2_000)  # warm caches
    open_before = len(LEDGER)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    burst(40_000)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(
        s.size_diff
        for s in after.compare_to(before, "filename")
        if "agentops_otel" in (s.traceback[0].filename if s.traceback else "")
    )
    # Keeping anything per finished span would be >= 100 bytes x 80,000 spans = 8 MB; the
    # allowance covers the registry dict's own table being resized along the way.
    assert grown < 1024 * 1024, f"processor state grew by {grown} bytes over 80,000 spans"
    assert len(LEDGER) == open_before
    ledger = LEDGER.session_of(session)
    assert ledger.totals.llm_calls == 42_000
    session.end()
    assert LEDGER.node_of(session) is None


def test_spans_that_never_end_are_capped(monkeypatch):
    monkeypatch.setattr(_ledger, "MAX_OPEN", 1_000)
    tracer = _provider()
    session = tracer.start_span(
        "session leak", attributes={A.SPAN_KIND: A.KIND_SESSION, A.SESSION_ID: "leak"}
    )
    from opentelemetry import trace

    ctx = trace.set_span_in_context(session)
    leaked = [
        tracer.start_span(
            "invoke_agent never-ends", context=ctx, attributes={A.SPAN_KIND: A.KIND_AGENT}
        )
        for _ in range(5_000)
    ]
    assert len(LEDGER) <= 1_000
    for span in leaked:
        span.end()  # ending after eviction is harmless
    session.end()
