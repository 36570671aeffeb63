"""OpenTelemetry instrumentation of Pydantic AI for agentops-otel.

An agent run (``run``, ``run_sync``, ``run_stream``, ``run_stream_events``, ``iter``: all enter
``Agent.iter``) is an agent span ``invoke_agent {name}`` (``Agent(name=...)``, else the variable
the calling code holds the agent in, as Pydantic AI infers it); each function tool call an
``execute_tool {tool name}`` span. Model requests are counted by the provider instrumentors
beneath (openai for ``OpenAIChatModel`` / ``OpenAIResponsesModel``, anthropic for
``AnthropicModel``), whose LLM spans nest under the agent and inherit its identity.

Pydantic AI's own instrumentation (``Agent(instrument=True)``, ``Agent.instrument_all()``,
Logfire) is left as the user configured it: its spans nest inside ours and its model-request
span, which wraps the provider call, is flagged ``agentops.llm.duplicate`` by the provider span
beneath it, so a request is counted once either way (README).
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_otel.instrumentation import Patches, PatchingInstrumentor
from agentops_pydantic_ai import _wrappers as W
from agentops_pydantic_ai.package import _instruments

__all__ = ["PydanticAIInstrumentor"]
__version__ = "0.1.0"

_AGENT_RUN = ("pydantic_ai.agent", "Agent.iter")
_TOOL_CALL = ("pydantic_ai.toolsets.function", "FunctionToolset.call_tool")


class PydanticAIInstrumentor(PatchingInstrumentor):
    """``PydanticAIInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("pydantic_ai",)  # init() instruments when pydantic_ai is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        patches.wrap(*_AGENT_RUN, W.agent_run(tracer))
        patches.wrap(*_TOOL_CALL, W.tool_call(tracer))
