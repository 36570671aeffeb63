"""OpenTelemetry instrumentation of AutoGen AgentChat 0.7 for agentops-otel.

- Teams: ``BaseGroupChat.run_stream`` (``run`` goes through it) → workflow span
  ``invoke_workflow {team name}``, with the task as input and the stop reason and last message as
  output. The team's embedded runtime starts inside it, so every turn nests beneath it.
- Agents: ``BaseChatAgent.run`` / ``run_stream``, a team's turn (``ChatAgentContainer``), and the
  agents' ``on_messages_stream`` (``on_messages`` goes through it) → one agent span
  ``invoke_agent {name}`` per invocation, role = the agent's ``description`` (what a team
  reads to choose a speaker), with the incoming messages and the response when content capture
  is on.
- Tools: ``BaseTool.run_json`` and ``BaseStreamTool.run_json_stream`` (agents and teams used as
  tools) → tool span ``execute_tool {name}`` with the arguments, result and call id; MCP
  workbench calls → tool spans too.
- Model calls: not traced here. ``OpenAIChatCompletionClient`` (and the Azure and Anthropic
  clients) call the provider SDK, whose instrumentor makes the one counted LLM span, beneath the
  agent span that is current.

autogen-core's own GenAI spans (``create_agent``, ``invoke_agent``, ``execute_tool``, tracer
``autogen-core``, always on, on the global provider) describe the same work as ours. We adopt
their instrumentation points: while instrumented, the ``trace_invoke_agent_span`` and
``trace_tool_span`` helpers AgentChat calls open our spans instead, and
``trace_create_agent_span`` opens none, so those spans never appear (whatever the global provider
is) and nothing is counted twice. Uninstrumenting gives them back. autogen-core's runtime spans
(publish / process; off with ``AUTOGEN_DISABLE_RUNTIME_TRACING=true``) are messaging spans, not
GenAI ones, and are left alone; a team run on a runtime the app started itself keeps that
runtime's context, so its turns may not nest under the team's workflow span.
"""

from __future__ import annotations

import sys
from typing import Any

import wrapt
from opentelemetry.trace import Tracer

from agentops_autogen._wrappers import Wrappers, stand_in_wrapper
from agentops_autogen.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["AutoGenInstrumentor"]
__version__ = "0.1.0"

_AGENTS = "autogen_agentchat.agents"
_BASE_AGENT = f"{_AGENTS}._base_chat_agent"
_CONTAINER = "autogen_agentchat.teams._group_chat._chat_agent_container"
_TEAM = "autogen_agentchat.teams._group_chat._base_group_chat"
_TOOLS = "autogen_core.tools._base"
_MCP = "autogen_ext.tools.mcp._workbench"
# Agents whose on_messages_stream AgentChat ships (the base one serves agents that only
# implement on_messages).
_AGENT_STREAMS = (
    (_BASE_AGENT, "BaseChatAgent"),
    (f"{_AGENTS}._assistant_agent", "AssistantAgent"),
    (f"{_AGENTS}._code_executor_agent", "CodeExecutorAgent"),
    (f"{_AGENTS}._society_of_mind_agent", "SocietyOfMindAgent"),
    (f"{_AGENTS}._user_proxy_agent", "UserProxyAgent"),
    (f"{_AGENTS}._message_filter_agent", "MessageFilterAgent"),
)


def _targets(w: Wrappers) -> list[tuple[str, str, Any]]:
    """(module, attribute path, wrapper) for everything but the MCP workbench."""
    targets = [
        (_TEAM, "BaseGroupChat.run_stream", w.team_run_stream),
        (_BASE_AGENT, "BaseChatAgent.run_stream", w.agent_stream),
        (_BASE_AGENT, "trace_invoke_agent_span", w.invoke_agent_span),
        (_BASE_AGENT, "trace_create_agent_span", stand_in_wrapper),
        (_CONTAINER, "trace_invoke_agent_span", w.invoke_agent_span),
        (_TOOLS, "BaseTool.run_json", w.run_json),
        (_TOOLS, "BaseStreamTool.run_json_stream", w.run_json_stream),
        (_TOOLS, "trace_tool_span", stand_in_wrapper),
    ]
    targets += [
        (module, f"{cls}.on_messages_stream", w.agent_stream) for module, cls in _AGENT_STREAMS
    ]
    return targets


class AutoGenInstrumentor(PatchingInstrumentor):
    """``AutoGenInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("autogen_agentchat",)  # init() instruments when AgentChat is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        wrappers = Wrappers(tracer)
        for module, path, wrapper in _targets(wrappers):
            patches.wrap(module, path, wrapper)

        def wrap_mcp(_module: Any) -> None:
            if self._patches is patches:  # still this instrumentation
                patches.wrap(_MCP, "trace_tool_span", wrappers.tool_span)

        if _MCP in sys.modules:
            wrap_mcp(sys.modules[_MCP])
        else:  # importing it costs (and needs the mcp package): patch it when the app does
            wrapt.register_post_import_hook(wrap_mcp, _MCP)
