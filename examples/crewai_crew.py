"""A CrewAI crew: a travel researcher with a weather tool hands its notes to a planner.

    bash scripts/dev.sh example crewai_crew     # builds .venvs/crewai-latest once, then runs

Runs offline: CrewAI calls the fake LLM server on 127.0.0.1 through the openai SDK (no key, no
network; CrewAI's own telemetry is off and its files go to a scratch folder). Spans go to a
scratch store (``examples/.store/``, or ``$AGENTOPS_OTEL_HOME``). What to look at: the tree
printed at the end: ``workflow trip crew`` with one ``task`` per crew member, each with its
``agent`` (Researcher, Planner) beneath it; the researcher's two gpt-4o-mini calls (the first
asks for the tool) around ``tool check_weather``, the planner's one call; tokens and cost on each
call, rolled up to the agents, the crew and the session, and "Cost by agent" at the bottom.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

# before CrewAI is imported: no telemetry, no tracing prompt, its files in a scratch folder
os.environ |= {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_TESTING": "true",
    **dict.fromkeys(("XDG_DATA_HOME", "XDG_CONFIG_HOME"), tempfile.mkdtemp(prefix="crewai-")),
}

from _example import traced
from crewai import LLM, Agent, Crew, Process, Task
from crewai.tools import tool

RESEARCH = "Find the weather in Lisbon for the trip"
PLAN = "Plan one day in Lisbon from the research notes"
REPLIES = {
    RESEARCH: "Thought: I now know the final answer\nFinal Answer: Lisbon: sunny, 24 C.",
    PLAN: "Thought: I now know the final answer\nFinal Answer: Morning in Belem, lunch by the "
    "river, sunset at Miradouro da Senhora do Monte.",
}


@tool("check_weather")
def check_weather(city: str) -> str:
    """The weather forecast for a city."""
    return f"{city}: sunny, 24 C"


def build_crew(base_url: str) -> Crew:
    llm = LLM(model="openai/gpt-4o-mini", base_url=base_url, api_key="sk-example", max_retries=0)

    def member(role: str, goal: str, *tools: Any) -> Agent:
        return Agent(
            role=role, goal=goal, backstory=f"{role}: short and exact", llm=llm, tools=list(tools)
        )

    researcher = member("Researcher", "Collect facts for a trip", check_weather)
    planner = member("Planner", "Plan a day out")
    return Crew(
        name="trip crew",
        agents=[researcher, planner],
        tasks=[
            Task(description=RESEARCH, expected_output="weather notes", agent=researcher),
            Task(description=PLAN, expected_output="a one-day plan", agent=planner),
        ],
        process=Process.sequential,
    )


def main() -> None:
    with traced("crewai-example", REPLIES) as server:
        result = build_crew(server.openai_base_url).kickoff()
        print(f"plan: {result.raw}\n")


if __name__ == "__main__":
    main()
