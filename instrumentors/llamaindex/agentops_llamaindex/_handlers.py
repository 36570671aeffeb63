"""Our span and event handlers on LlamaIndex's root dispatcher: thin adapters to the SpanMapper."""

from __future__ import annotations

from typing import Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from pydantic import PrivateAttr

from agentops_llamaindex._tracer import SpanMapper, contained


class SpanHandler(BaseSpanHandler[Any]):
    """Delegates ``span_enter`` / ``span_exit`` / ``span_drop`` to the SpanMapper."""

    _tracer: SpanMapper = PrivateAttr()

    def __init__(self, tracer: SpanMapper) -> None:
        super().__init__()
        self._tracer = tracer

    @classmethod
    def class_name(cls) -> str:
        return "AgentOpsSpanHandler"

    @contained
    def span_enter(self, id_: str, bound_args: Any, instance: Any = None,
                   parent_id: str | None = None, tags: Any = None, **kwargs: Any) -> None:
        self._tracer.enter(id_, bound_args, instance, parent_id)

    @contained
    def span_exit(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None,
                  **kwargs: Any) -> None:
        self._tracer.exit(id_, result)

    @contained
    def span_drop(self, id_: str, bound_args: Any, instance: Any = None,
                  err: BaseException | None = None, **kwargs: Any) -> None:
        self._tracer.drop(id_, err)

    # The base class's bookkeeping hooks: we keep our own run map instead.
    def new_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_exit_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_drop_span(self, *args: Any, **kwargs: Any) -> None:
        return None


class EventHandler(BaseEventHandler):
    """Delegates LLM start / end events to the SpanMapper."""

    _tracer: SpanMapper = PrivateAttr()

    def __init__(self, tracer: SpanMapper) -> None:
        super().__init__()
        self._tracer = tracer

    @classmethod
    def class_name(cls) -> str:
        return "AgentOpsEventHandler"

    @contained
    def handle(self, event: Any, **kwargs: Any) -> None:
        self._tracer.event(event)
