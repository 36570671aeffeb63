"""OpenTelemetry instrumentation of LlamaIndex for agentops-otel.

Through LlamaIndex's own instrumentation dispatcher, not by patching its classes: one span handler
and one event handler join the root dispatcher (``llama_index.core.instrumentation``), so every
instrumented call of every LlamaIndex package is seen. Agents (``FunctionAgent``, ``ReActAgent``,
``CodeActAgent``, the agents of an ``AgentWorkflow``) become agent spans, workflows workflow
spans, tools tool spans, query engines and retrievers operation spans with the number of nodes
retrieved, and LLM chat / completion calls LLM spans with usage and cost (the openai SDK span
beneath stands down). :mod:`agentops_llamaindex._tracer` has the mapping.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer

from agentops_llamaindex.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["LlamaIndexInstrumentor"]
__version__ = "0.1.0"


class LlamaIndexInstrumentor(PatchingInstrumentor):
    """``LlamaIndexInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("llama_index.core",)  # init() instruments when LlamaIndex is imported
    _handlers: tuple[Any, Any, Any] | None = None

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        from llama_index.core.instrumentation import get_dispatcher

        from agentops_llamaindex._handlers import handlers
        from agentops_llamaindex._tracer import Classes, SpanMapper

        mapper = SpanMapper(tracer, Classes())
        spans, events = handlers(mapper)
        root = get_dispatcher()
        root.add_span_handler(spans)
        root.add_event_handler(events)
        self._handlers = (mapper, spans, events)

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        handlers, self._handlers = self._handlers, None
        if handlers is None:
            return
        mapper, spans, events = handlers
        mapper.enabled = False  # calls already open still end their spans
        from llama_index.core.instrumentation import get_dispatcher

        root = get_dispatcher()
        root.span_handlers = [h for h in root.span_handlers if h is not spans]
        root.event_handlers = [h for h in root.event_handlers if h is not events]
