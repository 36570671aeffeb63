"""The LangChain / LangGraph programs the tests run: a ReAct agent with a tool, a two-node graph
whose nodes each call the model, and a plain LCEL chain."""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import operator
import warnings
from collections.abc import Coroutine
from typing import Annotated, Any, TypedDict

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from agentops_otel.testing.fake_llm import FakeLLMServer

QUESTION = {"messages": [("user", "What is the weather in Paris?")]}
# One event loop for every async run: langchain-openai caches its async HTTP client per process,
# and a client bound to a closed loop fails.
_runner = asyncio.Runner()
atexit.register(_runner.close)


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion in the current context (so under the current span)."""
    return _runner.run(coro, context=contextvars.copy_context())


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def chat_model(server: FakeLLMServer, model: str = "gpt-4o-mini") -> ChatOpenAI:
    return ChatOpenAI(
        base_url=server.openai_base_url,
        api_key="sk-test",
        model=model,
        max_retries=0,
        stream_usage=True,
    )


def react_agent(server: FakeLLMServer) -> Any:
    """LangGraph's prebuilt ReAct agent named ``weather_agent`` with one tool."""
    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moved to langchain.agents in LangGraph 1.0
        try:
            return create_react_agent(chat_model(server), [get_weather], name="weather_agent")
        except TypeError:  # LangGraph < 0.3 has no name parameter
            agent = create_react_agent(chat_model(server), [get_weather])
            return agent.with_config(run_name="weather_agent")


class _Story(TypedDict, total=False):
    topic: str
    notes: str
    story: str


def two_node_graph(server: FakeLLMServer) -> Any:
    """``researcher`` → ``writer``: each node calls the model (sync invoke, async invoke)."""
    llm = chat_model(server)

    def researcher(state: _Story) -> _Story:
        return {"notes": llm.invoke(f"research {state['topic']}").content}

    async def writer(state: _Story) -> _Story:
        return {"story": (await llm.ainvoke(f"write about {state['notes']}")).content}

    def writer_sync(state: _Story) -> _Story:
        text = "".join(chunk.content for chunk in llm.stream(f"write about {state['notes']}"))
        return {"story": text}

    def build(writer_node: Any) -> Any:
        graph = StateGraph(_Story)
        graph.add_node("researcher", researcher)
        graph.add_node("writer", writer_node)
        graph.add_edge(START, "researcher")
        graph.add_edge("researcher", "writer")
        graph.add_edge("writer", END)
        return graph.compile()

    return build(writer_sync), build(writer)


def lcel_chain(server: FakeLLMServer) -> Any:
    prompt = ChatPromptTemplate.from_messages([("user", "tell me about {topic}")])
    return prompt | chat_model(server) | StrOutputParser()


class _Team(TypedDict):
    messages: Annotated[list, add_messages]
    notes: Annotated[list, operator.add]


def team_graph(server: FakeLLMServer) -> Any:
    """A ``team`` graph: a ``planner`` node calls the model, then the ReAct agent runs as the
    ``researcher`` node (an agent inside a workflow) while a ``critic`` node calls the model in
    parallel with it."""
    llm = chat_model(server)

    def planner(state: _Team) -> dict[str, Any]:
        return {"messages": [llm.invoke("plan the weather report")]}

    def critic(state: _Team) -> dict[str, Any]:
        return {"notes": [llm.invoke("criticise the plan").content]}

    graph = StateGraph(_Team)
    graph.add_node("planner", planner)
    graph.add_node("researcher", react_agent(server))
    graph.add_node("critic", critic)
    graph.add_edge(START, "planner")
    graph.add_edge("planner", "researcher")
    graph.add_edge("planner", "critic")
    graph.add_edge("researcher", END)
    graph.add_edge("critic", END)
    return graph.compile().with_config(run_name="team")
