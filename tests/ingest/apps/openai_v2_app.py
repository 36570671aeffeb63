"""The official opentelemetry-instrumentation-openai-v2; content on the spans or as log events
per ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (set by the test)."""

import openai
from _common import conversation, export_to, logger_provider
from opentelemetry._logs import set_logger_provider
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider

provider = export_to(TracerProvider())
logs = logger_provider()
set_logger_provider(logs)
OpenAIInstrumentor().instrument(tracer_provider=provider, logger_provider=logs)
tracer = provider.get_tracer("ingest-app")


def get_weather(city: str) -> str:
    return f"Sunny in {city}"


with tracer.start_as_current_span("handle request"):
    conversation(openai.OpenAI(max_retries=0), get_weather)
provider.shutdown()
logs.shutdown()
