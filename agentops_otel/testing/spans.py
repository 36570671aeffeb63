"""A tracer provider that keeps finished spans in memory, with our processor, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span

from agentops_otel import semconv as A
from agentops_otel.processor import AgentOpsSpanProcessor
from agentops_otel.spans import end_span, start_span


class SpanCapture:
    """``provider`` to hand to instrumentors; ``spans`` are the finished ones, in end order."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(AgentOpsSpanProcessor())
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def of_kind(self, kind: str) -> list[ReadableSpan]:
        """Finished spans whose ``agentops.span.kind`` is ``kind`` (``llm``, ``agent``…)."""
        return [s for s in self.spans if (s.attributes or {}).get(A.SPAN_KIND) == kind]

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def children_of(self, span: ReadableSpan) -> list[ReadableSpan]:
        sid = span.context.span_id
        return [s for s in self.spans if s.parent is not None and s.parent.span_id == sid]

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        return next((s for s in self.spans if s.context.span_id == span.parent.span_id), None)

    @contextmanager
    def session(self, **attributes: Any) -> Iterator[Span]:
        """A session span (id ``s1``) made current around a run, as ``init()`` would."""
        span = start_span(
            self.provider.get_tracer("t"),
            A.KIND_SESSION,
            "test",
            attributes={A.SESSION_ID: "s1", **attributes},
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield span
        finally:
            otel_context.detach(token)
            end_span(span)

    def clear(self) -> None:
        self.exporter.clear()

    def shutdown(self) -> None:
        self.provider.shutdown()

    def __enter__(self) -> SpanCapture:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


@contextmanager
def instrumented(instrumentor: Any, caplog: Any) -> Iterator[SpanCapture]:
    """A :class:`SpanCapture` with ``instrumentor`` on it for the block, then uninstrumented;
    fails if the OTel SDK warned that a span was ended twice (``caplog``: pytest's fixture)."""
    import logging

    cap = SpanCapture()
    instrumentor.instrument(tracer_provider=cap.provider)
    caplog.set_level(logging.WARNING, logger="opentelemetry.sdk.trace")
    try:
        yield cap
    finally:
        instrumentor.uninstrument()
        cap.shutdown()
    ended_twice = [r for r in caplog.records if "ended span" in r.getMessage()]
    assert not ended_twice, ended_twice
