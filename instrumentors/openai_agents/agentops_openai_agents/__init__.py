"""OpenTelemetry instrumentation of the OpenAI Agents SDK (``openai-agents``) for agentops-otel.

The SDK traces itself through ``agents.tracing``; we register a ``TracingProcessor`` that bridges
those traces into OTel spans (see ``_bridge``):

- a trace (one per ``Runner.run`` / ``run_sync`` / ``run_streamed``, or the user's
  ``with trace(...)``) → workflow span ``invoke_workflow {workflow name}``
  (``gen_ai.conversation.id`` = the trace's ``group_id``);
- an agent span → agent span ``invoke_agent {agent name}``, role = the agent's
  ``handoff_description`` (read by a wrapper on ``AgentRunner.run`` / ``run_streamed``);
- a function span → tool span ``execute_tool {tool name}`` with arguments and result;
- a guardrail span → operation span ``operation guardrail {name}`` with
  ``agentops.guardrail.triggered``; custom and MCP list-tools spans → operation spans;
- a handoff → an ``agentops.handoff`` event (from / to agent) on the handing-off agent's span —
  the receiving agent's own agent span follows as a sibling under the workflow span.

Model calls are counted once, on the provider side: the SDK's response and generation spans
describe the same request as the openai SDK call beneath them, so they get no span here and the
openai instrumentor's LLM span (nested under the agent span, since our agent span is current
while the SDK runs the agent) carries usage and cost. Models that bypass the openai SDK (e.g.
LiteLLM) are recorded by their own provider instrumentor, or not at all.

Nothing goes to OpenAI's trace endpoint: instrumenting replaces the SDK's default exporting
processor with ours (other processors the app registered stay); uninstrumenting puts it back.
With the SDK's tracing disabled (``OPENAI_AGENTS_DISABLE_TRACING``, ``set_tracing_disabled``,
``RunConfig(tracing_disabled=True)``) processors receive nothing, and only the provider's LLM
spans remain. An app that calls ``set_trace_processors`` after instrumenting drops our bridge.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.trace import Tracer

from agentops_openai_agents import _runner
from agentops_openai_agents._bridge import Bridge
from agentops_openai_agents.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["OpenAIAgentsInstrumentor"]
__version__ = "0.1.0"

_log = logging.getLogger(__name__)
_RUNNER = (
    ("agents.run", "AgentRunner.run", _runner.run),
    ("agents.run", "AgentRunner.run_streamed", _runner.run_streamed),
)


def _processors(provider: Any) -> list[Any] | None:
    """The processors registered with the SDK's trace provider, when we can read them."""
    current = getattr(getattr(provider, "_multi_processor", None), "_processors", None)
    return list(current) if isinstance(current, (tuple, list)) else None


def _is_openai_exporter(processor: Any) -> bool:
    from agents.tracing.processors import (  # the SDK loads only when used
        BackendSpanExporter,
        BatchTraceProcessor,
    )

    return isinstance(processor, BatchTraceProcessor) and isinstance(
        getattr(processor, "_exporter", None), BackendSpanExporter
    )


class OpenAIAgentsInstrumentor(PatchingInstrumentor):
    """``OpenAIAgentsInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("agents",)  # init() instruments when the SDK is first imported
    _bridge: Bridge | None = None
    _removed: tuple[Any, ...] = ()  # the SDK's exporting processors we took out

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        for module, path, wrapper in _RUNNER:
            patches.wrap(module, path, wrapper)
        bridge = Bridge(tracer)
        try:
            from agents.tracing import get_trace_provider

            provider = get_trace_provider()
            current = _processors(provider)
            if current is None:  # unknown provider layout: ours alone, still nothing to OpenAI
                self._removed = ()
                provider.set_processors([bridge])
            else:
                self._removed = tuple(p for p in current if _is_openai_exporter(p))
                kept = [p for p in current if not _is_openai_exporter(p)]
                provider.set_processors([*kept, bridge])
            self._bridge = bridge
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: openai-agents tracing not bridged", exc_info=True)

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        bridge, self._bridge = self._bridge, None
        if bridge is None:
            return
        bridge.enabled = False
        try:
            from agents.tracing import get_trace_provider

            provider = get_trace_provider()
            current = _processors(provider) or [bridge]
            provider.set_processors([*self._removed, *(p for p in current if p is not bridge)])
            self._removed = ()
        except Exception:  # noqa: BLE001
            _log.debug("agentops-otel: openai-agents processors not restored", exc_info=True)
