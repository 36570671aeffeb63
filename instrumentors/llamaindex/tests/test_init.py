"""``agentops_otel.init()`` and ``opentelemetry-instrument`` find the LlamaIndex instrumentor by
its entry point: fresh interpreters run an agent and a RAG query and report the spans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _apps import FORECAST, RAG_ANSWER

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.fake_llm import FakeLLMServer

TESTS = str(Path(__file__).parent)

_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(local_store=False, exporters=[mine], session_name="weather")
assert "llama_index" not in sys.modules  # init() leaves it unimported until the program needs it
from _apps import forecaster, run
print("RESULT", run(forecaster({url!r})))
ao.end_session()
ao.flush(5)
print(json.dumps([{{"name": s.name, "id": s.context.span_id,
                    "parent": s.parent.span_id if s.parent else None,
                    "attrs": dict(s.attributes)}} for s in mine.get_finished_spans()]))
"""


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False,
                          **kwargs)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_init_instruments_llamaindex(server: FakeLLMServer) -> None:
    server.clear()
    done = run([sys.executable, "-c", _SCRIPT.format(tests=TESTS, url=server.openai_base_url)])
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith("RESULT") and FORECAST in line for line in lines)
    spans: list[dict[str, Any]] = json.loads(lines[-1])
    by_id = {s["id"]: s for s in spans}

    def kind(span: dict[str, Any]) -> str | None:
        return span["attrs"].get(A.SPAN_KIND)

    session = next(s for s in spans if kind(s) == A.KIND_SESSION)
    agent = next(s for s in spans if kind(s) == A.KIND_AGENT)
    assert agent["name"] == "invoke_agent forecaster" and by_id[agent["parent"]] is session
    llms = [s for s in spans if kind(s) == A.KIND_LLM]
    assert len(llms) == len(server.requests) == 2
    for span in (*llms, next(s for s in spans if kind(s) == A.KIND_TOOL)):
        assert by_id[span["parent"]] is agent
        assert span["attrs"][A.AGENT_NAME] == "forecaster"
    usage = server.total_usage()
    assert session["attrs"][A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert session["attrs"][A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    cost = sum(s["attrs"][A.COST_USD] for s in llms)
    assert cost > 0 and session["attrs"][A.TOTAL_COST_USD] == pytest.approx(cost)


_APP = """
import sys
sys.path.insert(0, {tests!r})
from agentops_otel.testing.fake_llm import FakeLLMServer
from _apps import rag_query
with FakeLLMServer() as server:
    print("RESULT", rag_query(server))
    print("USAGE", server.total_usage()["input_tokens"], len(server.requests),
          sum(1 for r in server.requests if r["path"] == "/v1/embeddings"))
"""


def test_opentelemetry_instrument_traces_a_rag_query(tmp_path: Path) -> None:
    """Zero code: ``opentelemetry-instrument python app.py`` with our distro, into the store."""
    app = tmp_path / "app.py"
    app.write_text(_APP.format(tests=TESTS))
    bindir = Path(sys.executable).parent
    env = {**os.environ, "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = run([str(bindir / "opentelemetry-instrument"), sys.executable, str(app)], env=env,
               cwd=tmp_path)
    assert f"RESULT {RAG_ANSWER}" in done.stdout
    _, input_tokens, requests, embeddings = next(
        line for line in done.stdout.splitlines() if line.startswith("USAGE")).split()
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        spans = store.session_spans(session.id)
    by_id = {s.span_id: s for s in spans}
    query = next(s for s in spans if s.name == "operation RetrieverQueryEngine.query")
    assert query.attributes[A.RETRIEVAL_DOCUMENTS] == 2
    chat = next(s for s in spans if s.agentops_kind == A.KIND_LLM and s.name.startswith("chat"))
    assert by_id[chat.parent_span_id] is query
    vectors = [s for s in spans if s.name.startswith("embeddings")]
    if vectors:  # the openai instrumentor (openai >= 2) counts the embedding requests
        assert len(vectors) == int(embeddings)
        assert session.llm_calls == int(requests)
        assert session.input_tokens == int(input_tokens)
    else:
        assert session.llm_calls == int(requests) - int(embeddings) == 1
        assert session.input_tokens == chat.input_tokens
    assert session.cost_usd > 0
