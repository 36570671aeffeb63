"""``agentops_otel.init()`` and ``opentelemetry-instrument`` find the LlamaIndex instrumentor by
its entry point: fresh interpreters run an agent and a RAG query and report the spans."""

from __future__ import annotations

from pathlib import Path

from _apps import FORECAST, RAG_ANSWER

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.frameworks import InitRun, opentelemetry_instrument

TESTS = str(Path(__file__).parent)
_BODY = """
from _apps import forecaster, run
print("RESULT", run(forecaster({url!r})))
"""


def test_init_instruments_llamaindex(server: FakeLLMServer) -> None:
    server.clear()
    done = InitRun(TESTS, "llama_index", _BODY.format(url=server.openai_base_url))
    assert any(line.startswith("RESULT") and FORECAST in line for line in done.lines)
    agent = done.check_agent_run("forecaster", server)
    assert len(server.requests) == 2
    for span in (*done.of_kind(A.KIND_LLM), *done.of_kind(A.KIND_TOOL)):
        assert done.parent(span) is agent


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
    out, db = opentelemetry_instrument(_APP.format(tests=TESTS), tmp_path)
    assert f"RESULT {RAG_ANSWER}" in out
    _, input_tokens, requests, embeddings = next(
        line for line in out.splitlines() if line.startswith("USAGE")
    ).split()
    with Store.open(db) as store:
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
