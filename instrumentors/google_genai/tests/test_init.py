"""Zero-code paths: ``agentops_otel.init()`` and ``opentelemetry-instrument`` find the instrumentor
by its entry point; a fresh interpreter makes Gemini calls and the totals match the server's log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.fake_llm import FakeLLMServer

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
print("CALLS DONE")
"""

_INIT_SCRIPT = """
import json, sys
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(local_store=False, exporters=[mine], session_name="gemini run")
assert "google.genai" not in sys.modules  # init() leaves the SDK unimported until it is needed
{calls}
ao.end_session()
ao.flush(5)
print(json.dumps([dict(s.attributes) for s in mine.get_finished_spans()]))
"""


def test_init_instruments_google_genai(server: FakeLLMServer) -> None:
    server.clear()
    code = _INIT_SCRIPT.format(calls=_CALLS.format(url=server.url))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    spans = json.loads(done.stdout.strip().splitlines()[-1])
    llms = [s for s in spans if s.get(A.SPAN_KIND) == A.KIND_LLM]
    assert len(llms) == len(server.requests) == 4
    assert {s[A.GEN_AI_PROVIDER_NAME] for s in llms} == {"gcp.gemini"}
    assert all(s[A.COST_USD] > 0 for s in llms)
    (session,) = [s for s in spans if s.get(A.SPAN_KIND) == A.KIND_SESSION]
    usage = server.total_usage()
    assert session[A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert session[A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    assert session[A.TOTAL_COST_USD] == pytest.approx(sum(s[A.COST_USD] for s in llms))


def test_opentelemetry_instrument(server: FakeLLMServer, tmp_path: Path) -> None:
    """``opentelemetry-instrument python app.py`` with our distro, into the local store."""
    server.clear()
    app = tmp_path / "app.py"
    app.write_text(_CALLS.format(url=server.url))
    bindir = Path(sys.executable).parent
    env = {**os.environ, "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run([str(bindir / "opentelemetry-instrument"), sys.executable, str(app)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CALLS DONE" in done.stdout
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        assert session.llm_calls == len(server.requests) == 4
        usage = server.total_usage()
        assert session.input_tokens == usage["input_tokens"]
        assert session.output_tokens == usage["output_tokens"]
        assert session.cost_usd > 0
