"""Pydantic AI's own instrumentation (``Agent.instrument_all()``: 2.x dropped the per-agent
``instrument=True``) through its OpenAI model class: one agent run with a tool round trip, then a
streamed run."""

import asyncio
import os

from _common import MODEL, export_to
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

provider = export_to(TracerProvider())
trace.set_tracer_provider(provider)
model = OpenAIChatModel(
    MODEL, provider=OpenAIProvider(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-test")
)
Agent.instrument_all()
forecaster = Agent(model, name="forecaster")


@forecaster.tool_plain
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


async def main() -> None:
    await forecaster.run("Weather in Paris?")
    async with forecaster.run_stream("Say hello") as result:
        await result.get_output()


asyncio.run(main())
provider.shutdown()
