"""The Pydantic AI agents the tests run against the fake server (also imported by the
``init()`` and ``opentelemetry-instrument`` subprocess tests)."""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI
from pydantic_ai import Agent, RunContext
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

MODEL = "gpt-4o-mini"
CLAUDE = "claude-3-5-haiku-latest"
PROMPT = "What is the weather in Paris?"
FORECAST = "sunny, 21 degrees"


def openai_model(base_url: str, model: str = MODEL) -> OpenAIChatModel:
    """A model with a client of its own (Pydantic AI 1.x shares one HTTP client between event
    loops otherwise, which ``asyncio.run`` after ``run_sync`` trips over)."""
    client = AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    return OpenAIChatModel(model, provider=OpenAIProvider(openai_client=client))


def weather_agent(base_url: str, *, name: str | None = "forecaster", model: Any = None) -> Agent:
    """An agent with one tool: the fake server calls it, then answers from its result."""
    agent = Agent(
        model or openai_model(base_url),
        name=name,
        instructions="You answer weather questions with the forecast tool.",
    )

    @agent.tool_plain
    def get_forecast(city: str) -> str:
        """The forecast for a city."""
        return f"{city}: {FORECAST}"

    return agent


def coordinator_agent(base_url: str, forecaster: Agent) -> Agent:
    """An agent whose tool delegates to ``forecaster``: two agents, one run."""
    agent = Agent(
        openai_model(base_url),
        name="coordinator",
        instructions="Delegate weather questions to the forecaster.",
    )

    @agent.tool
    async def ask_forecaster(ctx: RunContext[None], question: str) -> str:
        """Ask the forecaster agent."""
        result = await forecaster.run(question, usage=ctx.usage)
        return result.output

    return agent


def anthropic_agent(base_url: str) -> Agent:
    """The weather agent on Anthropic's Messages API (the anthropic instrumentor's spans)."""
    from anthropic import AsyncAnthropic
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    client = AsyncAnthropic(base_url=base_url, api_key="sk-test", max_retries=0)
    model = AnthropicModel(CLAUDE, provider=AnthropicProvider(anthropic_client=client))
    return weather_agent(base_url, model=model)
