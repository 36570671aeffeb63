"""OpenLLMetry: traceloop-sdk's workflow / agent / tool decorators over its
opentelemetry-instrumentation-openai, exporting to ``TRACELOOP_BASE_URL`` (serve)."""

import os

import openai
from _common import conversation
from traceloop.sdk import Traceloop
from traceloop.sdk.decorators import agent, tool, workflow
from traceloop.sdk.instruments import Instruments

Traceloop.init(
    app_name="openllmetry-app",
    api_endpoint=os.environ["TRACELOOP_BASE_URL"],
    disable_batch=True,
    telemetry_enabled=False,
    instruments={Instruments.OPENAI},
)


@tool(name="get_weather")
def get_weather(city: str) -> str:
    return f"Sunny in {city}"


@agent(name="forecaster")
def forecaster() -> None:
    conversation(openai.OpenAI(max_retries=0), get_weather)


@workflow(name="weather_flow")
def weather_flow() -> None:
    forecaster()


weather_flow()
