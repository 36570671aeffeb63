"""The agents every test runs (also imported by the ``init()`` subprocess tests).

ADK's model calls go through its LiteLLM wrapper to the fake server, which calls the first tool
offered and then answers with the tool's result.

- ``build_pipeline``: a ``SequentialAgent`` running a researcher (``lookup_facts`` round trip,
  two requests), then a writer (one request).
- ``build_coordinator``: a coordinator whose sub-agent is the researcher: coordinator →
  ``transfer_to_agent`` → researcher → ``lookup_facts`` → answer (three requests). The fake
  server can only pick the researcher where ADK constrains ``agent_name`` to an enum of the
  agents (``TransferToAgentTool``, ADK >= 1.20); before that it would name agent "test".
"""

# No ``from __future__ import annotations``: ADK 1.x reads the tool's annotations as types.
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else a price file download

import asyncio
from typing import Any

from google.adk.agents import LlmAgent, SequentialAgent
from google.adk.models.lite_llm import LiteLlm
from google.adk.runners import InMemoryRunner
from google.genai import types

from agentops_otel.testing.agent_tools import lookup_facts

try:
    from google.adk.tools.transfer_to_agent_tool import TransferToAgentTool  # noqa: F401

    ENUM_TRANSFER = True
except ImportError:
    ENUM_TRANSFER = False

TASK = "Tell me about otters"
APP = "otter_app"


def model(base_url: str, model_id: str = "gpt-4o-mini") -> LiteLlm:
    return LiteLlm(model=f"openai/{model_id}", api_base=base_url, api_key="sk-test")


def build_researcher(base_url: str) -> LlmAgent:
    return LlmAgent(
        name="researcher",
        description="Finds facts about animals",
        instruction="Answer with facts.",
        model=model(base_url),
        tools=[lookup_facts],
        disallow_transfer_to_parent=True,
        disallow_transfer_to_peers=True,
    )


def build_pipeline(base_url: str) -> SequentialAgent:
    writer = LlmAgent(
        name="writer",
        description="Writes short summaries",
        instruction="Summarize the facts.",
        model=model(base_url),
    )
    return SequentialAgent(name="pipeline", sub_agents=[build_researcher(base_url), writer])


def build_coordinator(base_url: str) -> LlmAgent:
    researcher = build_researcher(base_url)
    return LlmAgent(
        name="coordinator",
        description="Routes questions to specialists",
        instruction="Send animal questions to the researcher.",
        model=model(base_url),
        sub_agents=[researcher],
    )


async def run_async(agent: LlmAgent, text: str = TASK) -> list[Any]:
    """One turn through ADK's in-memory runner; the events it produced."""
    runner = InMemoryRunner(agent=agent, app_name=APP)
    session = await runner.session_service.create_session(app_name=APP, user_id="u1")
    message = types.Content(role="user", parts=[types.Part(text=text)])
    return [
        event
        async for event in runner.run_async(
            user_id="u1", session_id=session.id, new_message=message
        )
    ]


def run(agent: LlmAgent, text: str = TASK) -> list[Any]:
    return asyncio.run(run_async(agent, text))


def run_sync(agent: LlmAgent, text: str = TASK) -> list[Any]:
    """One turn through ``Runner.run``, which drives ``run_async`` in a thread of its own."""
    runner = InMemoryRunner(agent=agent, app_name=APP)
    session = runner.session_service.create_session_sync(app_name=APP, user_id="u1")
    message = types.Content(role="user", parts=[types.Part(text=text)])
    return list(runner.run(user_id="u1", session_id=session.id, new_message=message))


def final_text(events: list[Any]) -> str:
    """The text of the last event that has some."""
    texts = [
        "".join(p.text or "" for p in (e.content.parts or []))
        for e in events
        if e.content is not None
    ]
    return next((t for t in reversed(texts) if t), "")
