"""Zero-code paths: ``agentops_otel.init()`` and ``opentelemetry-instrument`` find the instrumentor
by its entry point; a fresh interpreter makes Gemini calls and the totals match the server's log."""

from __future__ import annotations

from pathlib import Path

from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.zero_code import (
    assert_init_totals,
    assert_store_totals,
    run_under_init,
    run_under_opentelemetry_instrument,
)

_CALLS = """
import asyncio
from google import genai
client = genai.Client(api_key="test-key", http_options={{"base_url": {url!r}}})
client.models.generate_content(model="gemini-2.5-flash", contents="Weather in Paris today?")
list(client.models.generate_content_stream(model="gemini-2.0-flash", contents="And in Rome?"))
client.chats.create(model="gemini-2.5-flash").send_message("Hello there, chat.")

async def run_async():
    await client.aio.models.generate_content(model="gemini-2.5-pro", contents="Async hello.")
asyncio.run(run_async())
"""


def test_init_instruments_google_genai(server: FakeLLMServer) -> None:
    server.clear()
    spans = run_under_init(_CALLS.format(url=server.url), modules=("google.genai",))
    assert_init_totals(spans, server, "gcp.gemini", calls=4)


def test_opentelemetry_instrument(server: FakeLLMServer, tmp_path: Path) -> None:
    server.clear()
    session = run_under_opentelemetry_instrument(_CALLS.format(url=server.url), tmp_path)
    assert_store_totals(session, server, calls=4)
