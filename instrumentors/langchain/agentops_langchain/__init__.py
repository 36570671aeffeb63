"""agentops-otel instrumentation for LangChain and LangGraph.

``LangChainInstrumentor().instrument()`` wraps ``BaseCallbackManager.__init__`` so every callback
manager LangChain creates — LangGraph's included, sync and async — carries one inheritable
:class:`~agentops_langchain._handler.AgentOpsCallbackHandler`. The handler maps runs to spans:
graphs and top-level chains to workflows, graph nodes to tasks, agents to agent spans, tools to
tool spans and chat models to LLM spans with usage (the provider SDK's own span stands down).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer

from agentops_langchain.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["LangChainInstrumentor"]
__version__ = "0.1.0"
# Where every callback manager is born: our handler joins each one there.
_PATCH_TARGET = ("langchain_core.callbacks.base", "BaseCallbackManager.__init__")


class LangChainInstrumentor(PatchingInstrumentor):
    """Traces LangChain / LangGraph runs through a callback handler on every callback manager."""

    _dependencies = _instruments
    target_modules = ("langchain_core",)  # init() instruments when LangChain is first imported
    _handler: Any = None

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        from agentops_langchain._handler import AgentOpsCallbackHandler

        handler = AgentOpsCallbackHandler(tracer)
        self._handler = handler

        def _init(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> None:
            wrapped(*args, **kwargs)
            try:
                if handler.enabled and handler not in instance.handlers:
                    # new lists: the caller's list may be shared, never mutate it
                    instance.handlers = [*instance.handlers, handler]
                    if handler not in instance.inheritable_handlers:
                        instance.inheritable_handlers = [*instance.inheritable_handlers, handler]
            except Exception:  # noqa: BLE001 - a manager we cannot extend just goes untraced
                pass

        patches.wrap(*_PATCH_TARGET, _init)

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        if self._handler is not None:
            # managers made before this still hold the handler: it starts nothing new and
            # still ends (and detaches) what it started
            self._handler.enabled = False
            self._handler = None
