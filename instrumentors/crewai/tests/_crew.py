"""The crew every test runs (also imported by the ``init()`` subprocess test)."""

from __future__ import annotations

from crewai import LLM, Agent, Crew, Process, Task
from crewai.tools import tool
from crewai.utilities import agent_utils

from agentops_otel.testing.fake_llm import FakeLLMServer

# CrewAI 1.15 hands tools to models that support function calling; older 1.x releases only use
# text ReAct ("Action: …/Action Input: …"). The fake server scripts replies by the last user
# message, which a ReAct observation does not change, so there the tool's result ends the task.
NATIVE_TOOLS = hasattr(agent_utils, "check_native_tool_support")
RESEARCH = "Research otters using the lookup tool"
WRITE = "Write a short summary of the research"
FACTS = "otters hold hands"
ANSWER = "Otters are great."


@tool("lookup_facts")
def lookup_facts(topic: str) -> str:
    """Look up facts about a topic."""
    return f"facts about {topic}: {FACTS}"


lookup_facts.result_as_answer = not NATIVE_TOOLS


def script(server: FakeLLMServer) -> None:
    """The replies CrewAI's text prompting expects (native tool calls need no script)."""
    server.clear_rules()
    server.add_rule(
        RESEARCH,
        'Thought: I should look it up\nAction: lookup_facts\nAction Input: {"topic": "otters"}',
    )
    server.add_rule(WRITE, f"Thought: I now know the final answer\nFinal Answer: {ANSWER}")


def build_crew(base_url: str, model: str = "gpt-4o-mini") -> Crew:
    """Researcher (with the tool) → writer, sequential."""
    llm = LLM(model=f"openai/{model}", base_url=base_url, api_key="sk-test", max_retries=0)
    researcher = Agent(
        role="Researcher",
        goal="Find facts about animals",
        backstory="A careful researcher",
        llm=llm,
        tools=[lookup_facts],
        max_iter=4,
        max_retry_limit=0,
    )
    writer = Agent(
        role="Writer",
        goal="Write short summaries",
        backstory="A concise writer",
        llm=llm,
        max_iter=4,
        max_retry_limit=0,
    )
    tasks = [
        Task(name="research", description=RESEARCH, expected_output="facts", agent=researcher),
        Task(name="write", description=WRITE, expected_output="a summary", agent=writer),
    ]
    return Crew(
        name="otter crew", agents=[researcher, writer], tasks=tasks, process=Process.sequential
    )
