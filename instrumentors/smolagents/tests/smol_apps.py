"""The agents every test runs (also imported by the ``init()`` subprocess tests).

A manager ``CodeAgent`` delegates to a managed ``CodeAgent`` researcher that calls a tool; each
takes two steps (code, then ``final_answer``). The fake server answers by the last user message,
so the scripted replies below are the code each step writes.
"""

from __future__ import annotations

from typing import Any

from smolagents import CodeAgent, OpenAIServerModel, ToolCallingAgent, tool

from agentops_otel.testing.agent_tools import FACTS
from agentops_otel.testing.agent_tools import lookup_facts as facts_tool
from agentops_otel.testing.fake_llm import FakeLLMServer

TASK = "Write an otter summary"
RESEARCH = "Research otters"
REPORT = "Report: otters are social"
ANSWER = "Otters are great."
lookup_facts = tool(facts_tool)


def _code(thought: str, code: str) -> str:
    return f"Thought: {thought}\n```py\n{code}\n```<end_code>"


def script(server: FakeLLMServer) -> None:
    """The code each step writes, chosen by what its last user message contains."""
    server.clear_rules()
    server.add_rule(REPORT, _code("I have the report", f'final_answer("{ANSWER}")'))
    server.add_rule(FACTS, _code("I have the facts", f'final_answer("{REPORT}")'))
    server.add_rule(
        RESEARCH, _code("Look it up", 'facts = lookup_facts(topic="otters")\nprint(facts)')
    )
    server.add_rule(
        TASK, _code("Ask the researcher", f'report = researcher(task="{RESEARCH}")\nprint(report)')
    )


def model(base_url: str, model_id: str = "gpt-4o-mini") -> OpenAIServerModel:
    return OpenAIServerModel(model_id=model_id, api_base=base_url, api_key="sk-test")


def build_manager(base_url: str, **manager_options: Any) -> CodeAgent:
    """Manager → managed researcher (with the tool), both CodeAgents."""
    researcher = CodeAgent(
        tools=[lookup_facts],
        model=model(base_url),
        name="researcher",
        description="Finds facts about animals",
        max_steps=4,
        verbosity_level=0,
    )
    return CodeAgent(
        tools=[],
        model=model(base_url),
        managed_agents=[researcher],
        name="manager",
        max_steps=4,
        verbosity_level=0,
        **manager_options,
    )


def build_tool_caller(base_url: str) -> ToolCallingAgent:
    """One step: the model calls the tool (the fake server calls the first tool offered); at
    max steps smolagents asks the model, without tools, for the final answer."""
    return ToolCallingAgent(
        tools=[lookup_facts], model=model(base_url), name="caller", max_steps=1, verbosity_level=0
    )
