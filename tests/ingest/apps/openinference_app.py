"""openinference-instrumentation-openai with OpenInference's own chain / agent / tool spans, in
one OpenInference session (``session.id``)."""

import openai
from _common import conversation, export_to
from openinference.instrumentation import TracerProvider, using_session
from openinference.instrumentation.openai import OpenAIInstrumentor

provider = export_to(TracerProvider())
OpenAIInstrumentor().instrument(tracer_provider=provider)
tracer = provider.get_tracer("ingest-app")


@tracer.tool
def get_weather(city: str) -> str:
    return f"Sunny in {city}"


@tracer.agent(name="forecaster")
def forecaster() -> None:
    conversation(openai.OpenAI(max_retries=0), get_weather)


@tracer.chain(name="plan")
def plan() -> None:
    forecaster()


with using_session("oi-session-1"):
    plan()
provider.shutdown()
