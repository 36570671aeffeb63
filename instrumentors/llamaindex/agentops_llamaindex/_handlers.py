"""Our span and event handlers on LlamaIndex's root dispatcher: thin adapters to the mapper.

The dispatcher swallows whatever a handler raises; we log our own failures once instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from pydantic import PrivateAttr

from agentops_llamaindex._tracer import SpanMapper
from agentops_otel.genai import contain


def _safely(what: str, method: Callable[..., None], *args: Any) -> None:
    try:
        method(*args)
    except Exception:  # noqa: BLE001
        contain(f"LlamaIndex {what}")


class SpanHandler(BaseSpanHandler[Any]):
    """Hands ``span_enter`` / ``span_exit`` / ``span_drop`` to the mapper."""

    _mapper: Any = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "AgentOpsSpanHandler"

    def span_enter(
        self,
        id_: str,
        bound_args: Any,
        instance: Any = None,
        parent_id: str | None = None,
        tags: Any = None,
        **kwargs: Any,
    ) -> None:
        _safely("span_enter", self._mapper.enter, id_, bound_args, instance, parent_id)

    def span_exit(
        self, id_: str, bound_args: Any, instance: Any = None, result: Any = None, **kwargs: Any
    ) -> None:
        _safely("span_exit", self._mapper.exit, id_, result)

    def span_drop(
        self,
        id_: str,
        bound_args: Any,
        instance: Any = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        _safely("span_drop", self._mapper.drop, id_, err)

    # The base class's bookkeeping hooks: the mapper keeps its own run map instead.
    def new_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_exit_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_drop_span(self, *args: Any, **kwargs: Any) -> None:
        return None


class EventHandler(BaseEventHandler):
    """Hands every event to the mapper (it keeps the LLM start and end events)."""

    _mapper: Any = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "AgentOpsEventHandler"

    def handle(self, event: Any, **kwargs: Any) -> None:
        _safely("event", self._mapper.event, event)


def handlers(mapper: SpanMapper) -> tuple[SpanHandler, EventHandler]:
    """A span handler and an event handler feeding ``mapper``."""
    spans, events = SpanHandler(), EventHandler()
    spans._mapper = events._mapper = mapper
    return spans, events
