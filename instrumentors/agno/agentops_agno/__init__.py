"""OpenTelemetry instrumentation of Agno for agentops-otel.

- Agents: ``Agent.run`` / ``arun`` (plain and streamed) → agent span ``invoke_agent {name}``,
  role = the agent's ``role`` (what a team leader reads), with the input and the run's content.
- Teams: ``Team.run`` / ``arun`` → workflow span ``invoke_workflow {team}`` and, beneath it, the
  leader as agent span ``invoke_agent {team}`` (role ``team leader``, or the team's ``role`` when
  it is a member of another team): the leader calls the model and delegates, so its calls carry
  its identity and the members' runs nest under its delegation tool.
- Tools: ``FunctionCall.execute`` / ``aexecute`` (agent tools and a leader's
  ``delegate_task_to_member(s)``) → tool span ``execute_tool {name}`` with call id, arguments and
  result; a failed call (Agno returns it as a failure, not an exception) gets status ERROR. A tool
  that returns a generator (delegation while streaming) keeps its span open until consumed.
- Model calls: not traced here. Agno's ``OpenAIChat`` (and other OpenAI-compatible models) call
  the openai SDK, whose instrumentor makes the one counted LLM span, beneath the current agent.

Agno emits no OTel spans unless the app opts in (``agno.tracing.setup_tracing`` or
OpenInference's Agno instrumentor); see the README for running beside those. A method an Agno
release lacks is skipped with a debug log: fewer spans, never an error.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_agno import _wrappers as W
from agentops_agno.package import _instruments
from agentops_otel.instrumentation import Target, TargetsInstrumentor

__all__ = ["AgnoInstrumentor"]
__version__ = "0.1.0"


def _targets(tracer: Tracer) -> list[Target]:
    """(module, attribute path, wrapper); a target missing from a release is skipped."""
    agent, team, tool = W.agent_run(tracer), W.team_run(tracer), W.tool_execute(tracer)
    return [
        ("agno.agent.agent", "Agent.run", agent),
        ("agno.agent.agent", "Agent.arun", agent),
        ("agno.team.team", "Team.run", team),
        ("agno.team.team", "Team.arun", team),
        ("agno.tools.function", "FunctionCall.execute", tool),
        ("agno.tools.function", "FunctionCall.aexecute", tool),
    ]


class AgnoInstrumentor(TargetsInstrumentor):
    """``AgnoInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("agno",)  # init() instruments when agno is first imported

    def targets(self, tracer: Tracer) -> list[Target]:
        return _targets(tracer)
