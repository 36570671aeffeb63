"""OpenTelemetry instrumentation of smolagents for agentops-otel.

- Agent runs: ``MultiStepAgent.run`` (``CodeAgent``, ``ToolCallingAgent``, streamed or not) →
  agent span ``invoke_agent {name}`` (the agent's ``name``, else its class), role = its
  ``description`` (what a manager agent reads), else its class; the task as input and the final
  answer as output. A managed agent is called through ``__call__`` → ``run`` from its manager's
  step, so its span nests under that step.
- Steps: each action step (``_step_stream``, ``step`` in older releases) → operation span
  ``operation step {n}``; each planning step → ``operation planning``. The model call and the
  tools of a step nest beneath it.
- Tools: ``Tool.__call__`` (tools called by ``ToolCallingAgent`` and from ``CodeAgent`` code,
  ``final_answer`` included) → tool span ``execute_tool {name}`` with arguments and result.
- Model calls: not traced here. ``OpenAIServerModel`` / ``OpenAIModel`` call the openai SDK
  (``LiteLLMModel`` calls litellm), whose instrumentor makes the one counted LLM span, beneath
  the step that is current.

``CodeAgent`` runs generated code in a fresh thread (``local_python_executor.timeout``); the
caller's context is handed into it so the code's tool calls and managed agents stay in the
trace. A method a smolagents release lacks is skipped with a debug log: fewer spans, never an
error. smolagents emits no OTel spans of its own.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_otel.instrumentation import Target, TargetsInstrumentor
from agentops_smolagents import _wrappers as W
from agentops_smolagents.package import _instruments

__all__ = ["SmolagentsInstrumentor"]
__version__ = "0.1.0"

_AGENTS = "smolagents.agents"


def _targets(tracer: Tracer) -> list[Target]:
    """(module, attribute path, wrapper); a target missing from a release is skipped."""
    step, planning = W.step(tracer), W.planning(tracer)
    targets = [
        (_AGENTS, "MultiStepAgent.run", W.agent_run(tracer)),
        (_AGENTS, "MultiStepAgent._generate_planning_step", planning),  # >= 1.17
        (_AGENTS, "MultiStepAgent.planning_step", planning),  # older
        ("smolagents.tools", "Tool.__call__", W.tool_call(tracer)),
        ("smolagents.local_python_executor", "timeout", W.code_timeout),
    ]
    for cls in ("ToolCallingAgent", "CodeAgent"):
        targets.append((_AGENTS, f"{cls}._step_stream", step))  # >= 1.17
        targets.append((_AGENTS, f"{cls}.step", step))  # older
    return targets


class SmolagentsInstrumentor(TargetsInstrumentor):
    """``SmolagentsInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("smolagents",)  # init() instruments when smolagents is first imported

    def targets(self, tracer: Tracer) -> list[Target]:
        return _targets(tracer)
