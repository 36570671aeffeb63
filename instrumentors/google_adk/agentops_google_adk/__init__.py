"""OpenTelemetry instrumentation of Google's Agent Development Kit (ADK) for agentops-otel.

- Runs: ``Runner.run_async`` and ``Runner.run`` (``InMemoryRunner`` too) → workflow span
  ``invoke_workflow {app name}`` with the user's message; ``run``'s worker thread (started
  without the caller's context in ADK 1.x) gets the span's context handed over.
- Agents: ``BaseAgent.run_async`` (LLM agents, sub-agents an agent transfers to, sequential /
  parallel / loop agents) → agent span ``invoke_agent {name}``, role = the agent's
  ``description`` (what its parent reads to pick it), else its class.
- Tools: the flow's tool dispatch (``_call_tool_async``) → tool span ``execute_tool {name}``
  with call id, arguments and result. A transfer is the ``transfer_to_agent`` tool call, followed
  by the sub-agent's span.
- Model calls: not traced here. With ``LiteLlm`` the litellm instrumentor (and beneath it the
  openai SDK) makes the one counted LLM span, under the agent that is current; with Gemini the
  google-genai instrumentor does.

ADK's own tracer (``gcp.vertex.agent``: invocation, invoke_agent, call_llm, generate_content,
execute_tool spans) stands down while instrumented: it hands out placeholders that carry the
current span's context instead of starting spans, so each model request is counted once and
the tree is ours whichever provider ADK's tracer would have used. Uninstrumenting gives it back.
A method an ADK release lacks is skipped with a debug log: fewer spans, never an error.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_google_adk import _wrappers as W
from agentops_google_adk.package import _instruments
from agentops_otel.instrumentation import Target, TargetsInstrumentor

__all__ = ["GoogleADKInstrumentor"]
__version__ = "0.1.0"

_TELEMETRY = "google.adk.telemetry"  # a module in 1.x, a package re-exporting it in 2.x


def _targets(tracer: Tracer) -> list[Target]:
    """(module, attribute path, wrapper); a target missing from a release is skipped."""
    tool, runs = W.tool_call(tracer), W.Runs(tracer)
    return [
        ("google.adk.runners", "Runner.run", runs.run),
        ("google.adk.runners", "Runner.run_async", runs.run_async),
        ("google.adk.agents.base_agent", "BaseAgent.run_async", W.agent_run(tracer)),
        ("google.adk.flows.llm_flows.tools._caller", "_call_tool_async", tool),  # 2.x
        ("google.adk.flows.llm_flows.functions", "__call_tool_async", tool),  # 1.x
        (_TELEMETRY, "tracer.start_span", W.stand_in_start_span),
        (_TELEMETRY, "tracer.start_as_current_span", W.stand_in_current_span),
    ]


class GoogleADKInstrumentor(TargetsInstrumentor):
    """``GoogleADKInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("google.adk",)  # init() instruments when ADK is first imported

    def targets(self, tracer: Tracer) -> list[Target]:
        return _targets(tracer)
