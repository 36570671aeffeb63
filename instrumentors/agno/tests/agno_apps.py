"""The agents every test runs (also imported by the ``init()`` subprocess tests).

A team whose leader sends the task to every member; its one member, a researcher, calls a tool.
The fake server calls the first tool offered, then answers with the tool's result, so the run is:
leader → ``delegate_task_to_members`` → researcher → ``lookup_facts`` → researcher's answer →
leader's answer (four model requests).
"""

from __future__ import annotations

import inspect

from agno.agent import Agent
from agno.models.openai import OpenAIChat
from agno.team import Team

from agentops_otel.testing.agent_tools import lookup_facts

TASK = "Tell me about otters"


def model(base_url: str, model_id: str = "gpt-4o-mini") -> OpenAIChat:
    return OpenAIChat(id=model_id, base_url=base_url, api_key="sk-test", max_retries=0)


def build_researcher(base_url: str) -> Agent:
    return Agent(
        name="researcher",
        role="Finds facts about animals",
        model=model(base_url),
        tools=[lookup_facts],
        telemetry=False,
    )


def build_team(base_url: str) -> Team:
    """One leader, one member; the leader delegates to all members (the flag's name changed)."""
    flag = (
        "delegate_to_all_members"
        if "delegate_to_all_members" in inspect.signature(Team.__init__).parameters
        else "delegate_task_to_all_members"
    )
    return Team(
        name="otter team",
        members=[build_researcher(base_url)],
        model=model(base_url),
        telemetry=False,
        **{flag: True},
    )
