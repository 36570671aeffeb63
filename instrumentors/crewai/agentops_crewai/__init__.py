"""OpenTelemetry instrumentation of CrewAI for agentops-otel.

A crew's kickoff is a workflow span ``invoke_workflow {crew name}``; each task a task span
``task {task name}``; each agent's work on a task (or a standalone ``Agent.kickoff``) an agent
span ``invoke_agent {role}`` carrying the role (``agentops.agent.role``), the goal
(``gen_ai.agent.description``) and a stable id (CrewAI's ``agent.key``); each tool run a tool span
``execute_tool {tool name}``. The spans are current while CrewAI works beneath them, so the LLM
spans of the provider instrumentors (CrewAI calls the openai, anthropic… SDKs) nest under the
agent that made the call and inherit its identity. CrewAI's own model layer is not traced: the
provider span is the one place a model request is counted.

Wrapped (sync and async twins where the installed CrewAI has them): ``Crew.kickoff`` /
``akickoff`` (``kickoff_async`` and ``kickoff_for_each`` go through them),
``Task._execute_core`` / ``_aexecute_core`` (behind ``execute_sync``, ``execute_async`` and
``aexecute_sync``), ``Agent.execute_task`` / ``aexecute_task`` / ``kickoff`` / ``kickoff_async``
/ ``akickoff``, ``BaseTool.run`` / ``arun`` and ``Tool.run`` / ``arun`` (native function calling)
and ``CrewStructuredTool.invoke`` / ``ainvoke`` (text ReAct tool use). A method a CrewAI release
lacks is skipped with a debug log: fewer spans, never an error. Where a CrewAI release starts a
thread without copying the context (1.0's ``execute_async`` and ``max_execution_time``), the
context is handed across so the spans stay in the crew's trace.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_crewai import _wrappers as W
from agentops_crewai._handoff import Handoff
from agentops_crewai.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["CrewAIInstrumentor"]
__version__ = "0.1.0"

# (module, "Class.method", how to trace it). Class objects are patched in place, so the module
# only needs to expose the class: ``crewai`` re-exports Crew, Agent and Task in every 1.x.
_TARGETS: tuple[tuple[str, str, W.Spec], ...] = (
    ("crewai", "Crew.kickoff", W.CREW),
    ("crewai", "Crew.akickoff", W.CREW),
    ("crewai", "Task._execute_core", W.TASK),
    ("crewai", "Task._aexecute_core", W.TASK),
    ("crewai", "Agent.execute_task", W.AGENT_TASK),
    ("crewai", "Agent.aexecute_task", W.AGENT_TASK),
    ("crewai", "Agent.kickoff", W.AGENT_KICKOFF),
    ("crewai", "Agent.kickoff_async", W.AGENT_KICKOFF),
    ("crewai", "Agent.akickoff", W.AGENT_KICKOFF),
    ("crewai.tools.base_tool", "BaseTool.run", W.TOOL_RUN),
    ("crewai.tools.base_tool", "BaseTool.arun", W.TOOL_RUN),
    ("crewai.tools.base_tool", "Tool.run", W.TOOL_RUN),
    ("crewai.tools.base_tool", "Tool.arun", W.TOOL_RUN),
    ("crewai.tools.structured_tool", "CrewStructuredTool.invoke", W.TOOL_INVOKE),
    ("crewai.tools.structured_tool", "CrewStructuredTool.ainvoke", W.TOOL_INVOKE),
)
# (module, method that starts a thread, method the thread runs): context handed across.
_THREAD_HOPS: tuple[tuple[str, str, str], ...] = (
    ("crewai", "Task.execute_async", "Task._execute_task_async"),
    ("crewai", "Agent._execute_with_timeout", "Agent._execute_without_timeout"),
)


class CrewAIInstrumentor(PatchingInstrumentor):
    """``CrewAIInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("crewai",)  # init() instruments when crewai is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        for module, path, spec in _TARGETS:
            patches.wrap(module, path, W.traced(tracer, spec))
        for module, starter, target in _THREAD_HOPS:
            handoff = Handoff()
            if patches.wrap(module, target, handoff.adopt):
                patches.wrap(module, starter, handoff.give)
