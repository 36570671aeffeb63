"""The LlamaIndex apps the tests run against the fake server (also imported by the ``init()``
and ``opentelemetry-instrument`` subprocess tests): an agent with a tool, and a RAG query."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ReActAgent
from llama_index.core.tools import FunctionTool
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI

from agentops_otel.testing.fake_llm import FakeLLMServer

Settings.tokenizer = str.split  # tiktoken would download its encodings (blocked here)

MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
PROMPT = "What is the weather in Paris?"
FORECAST = "sunny, 21 degrees"
QUESTION = "What is the forecast for Paris?"
RAG_ANSWER = "Paris will be sunny."
TEXTS = (
    "Otters hold hands while sleeping.",
    "Paris is the capital of France.",
    "The forecast for Paris is sunny.",
)


def llm(base_url: str) -> OpenAI:
    """The OpenAI LLM on the fake server; streamed responses report usage."""
    return OpenAI(
        model=MODEL,
        api_base=base_url,
        api_key="sk-test",
        max_retries=0,
        additional_kwargs={"stream_options": {"include_usage": True}},
    )


def get_forecast(city: str) -> str:
    """The forecast for a city."""
    return f"{city}: {FORECAST}"


def forecaster(base_url: str, **kwargs: Any) -> FunctionAgent:
    return FunctionAgent(
        name="forecaster",
        description="Answers weather questions",
        tools=[FunctionTool.from_defaults(get_forecast)],
        llm=llm(base_url),
        system_prompt="Answer with the forecast tool.",
        **kwargs,
    )


def coordinator(base_url: str) -> FunctionAgent:
    """An agent whose tool runs the forecaster agent: two agents, one run."""
    helper = forecaster(base_url)

    async def ask_forecaster(question: str) -> str:
        """Ask the forecaster agent."""
        return str(await helper.run(question))

    return FunctionAgent(
        name="coordinator",
        description="Delegates to specialists",
        tools=[FunctionTool.from_defaults(async_fn=ask_forecaster)],
        llm=llm(base_url),
        system_prompt="Delegate weather questions.",
    )


def team(base_url: str) -> AgentWorkflow:
    """Two agents in one AgentWorkflow; the root one answers with its own tool."""
    writer = FunctionAgent(
        name="writer", description="Writes summaries", llm=llm(base_url), system_prompt="Write."
    )
    root = forecaster(base_url, can_handoff_to=["writer"])
    return AgentWorkflow(agents=[root, writer], root_agent="forecaster")


def reactor(server: FakeLLMServer) -> ReActAgent:
    """A ReAct agent (text prompting) and the replies the fake server gives it."""
    server.add_rule(
        PROMPT,
        'Thought: I need the forecast.\nAction: get_forecast\nAction Input: {"city": "Paris"}',
    )
    server.add_rule(
        "Observation", f"Thought: I can answer without using any more tools.\nAnswer: {FORECAST}"
    )
    return ReActAgent(
        name="reactor",
        description="Reasons, then acts",
        tools=[FunctionTool.from_defaults(get_forecast)],
        llm=llm(server.openai_base_url),
    )


def run(workflow: Any, message: str = PROMPT) -> str:
    """Run an agent or workflow to its end, as ``asyncio.run(agent.run(...))`` would."""

    async def main() -> str:
        return str(await workflow.run(user_msg=message))

    return asyncio.run(main())


def rag_query(server: FakeLLMServer, question: str = QUESTION) -> str:
    """Index three documents (embeddings), then answer a question from the top two."""
    server.add_rule(question, RAG_ANSWER)
    embed = OpenAIEmbedding(
        model=EMBEDDING_MODEL, api_base=server.openai_base_url, api_key="sk-test", max_retries=0
    )
    index = VectorStoreIndex.from_documents([Document(text=t) for t in TEXTS], embed_model=embed)
    engine = index.as_query_engine(llm=llm(server.openai_base_url), similarity_top_k=2)
    return str(engine.query(question))
