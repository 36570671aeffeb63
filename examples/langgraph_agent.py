"""A LangGraph agent: a model node that may call a currency tool, looping until it answers.

    bash scripts/dev.sh example langgraph_agent     # builds .venvs/langchain-latest once, then runs

Runs offline: ``ChatOpenAI`` talks to the fake LLM server on 127.0.0.1 (no key, no network).
Spans go to a scratch store (``examples/.store/``, or ``$AGENTOPS_OTEL_HOME``). What to look at:
the tree printed at the end: ``workflow budget-agent`` (the compiled graph) with the
``assistant`` node as ``agent assistant`` twice (a node that calls a model is an agent): first
the gpt-4o call that asks for the tool, then, after ``task tools`` with
``tool convert_currency``, the call that answers; tokens and cost on each call, rolled up to
the graph and the session, and "Cost by agent" at the bottom.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from _example import traced
from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition

QUESTION = "How much is 120 US dollars in euros?"
REPLIES = {"euros": "120 USD is about 110 EUR at today's rate."}


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


@tool
def convert_currency(amount: float, currency: str) -> str:
    """Convert an amount of US dollars into another currency."""
    return f"{amount} USD = {amount * 0.92:.2f} {currency}"


def build_graph(base_url: str) -> CompiledStateGraph:
    model = ChatOpenAI(model="gpt-4o", base_url=base_url, api_key="sk-example", max_retries=0)
    model = model.bind_tools([convert_currency])

    def assistant(state: State) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("assistant", assistant)
    graph.add_node("tools", ToolNode([convert_currency]))
    graph.add_edge(START, "assistant")
    graph.add_conditional_edges("assistant", tools_condition, ["tools", END])
    graph.add_edge("tools", "assistant")
    return graph.compile(name="budget-agent")


def main() -> None:
    with traced("langgraph-example", REPLIES) as server:
        final = build_graph(server.openai_base_url).invoke({"messages": [HumanMessage(QUESTION)]})
        print(f"answer: {final['messages'][-1].content}\n")


if __name__ == "__main__":
    main()
