"""A tracer provider that keeps finished spans in memory, with our processor, for tests."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentops_otel import _attributes as A
from agentops_otel.processor import AgentOpsSpanProcessor


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

    def clear(self) -> None:
        self.exporter.clear()

    def shutdown(self) -> None:
        self.provider.shutdown()

    def __enter__(self) -> SpanCapture:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
