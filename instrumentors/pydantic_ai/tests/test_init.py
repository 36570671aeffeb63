"""``agentops_otel.init()`` and ``opentelemetry-instrument`` find the Pydantic AI instrumentor
by its entry point: fresh interpreters run the agent and report the spans."""

from __future__ import annotations

from pathlib import Path

from _apps import FORECAST

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.frameworks import InitRun, opentelemetry_instrument

TESTS = str(Path(__file__).parent)
# Pydantic AI's own instrumentation on, through the global provider init() set (Logfire's way).
_BODY = """
from pydantic_ai import Agent
from _apps import weather_agent
Agent.instrument_all()
print("RESULT", weather_agent({url!r}).run_sync("What is the weather in Paris?").output)
"""


def test_init_instruments_pydantic_ai_beside_its_own_spans(server: FakeLLMServer) -> None:
    server.clear()
    done = InitRun(TESTS, "pydantic_ai", _BODY.format(url=server.openai_base_url))
    assert any(line.startswith("RESULT") and FORECAST in line for line in done.lines)
    agent = done.check_agent_run("forecaster", server)
    assert len(server.requests) == 2
    theirs = done.of_kind(None)
    assert theirs, "Pydantic AI's own spans reach the same provider"
    for span in theirs:
        assert span["attrs"][A.AGENT_ID] == agent["attrs"][A.AGENT_ID]
    chats = [s for s in theirs if s["attrs"].get(A.GEN_AI_OPERATION_NAME) == A.OP_CHAT]
    assert len(chats) == 2 and all(s["attrs"][A.LLM_DUPLICATE] for s in chats)


_APP = """
import sys
sys.path.insert(0, {tests!r})
from _apps import weather_agent
print("RESULT", weather_agent({url!r}).run_sync("What is the weather in Paris?").output)
"""


def test_opentelemetry_instrument_traces_the_agent(server: FakeLLMServer, tmp_path: Path) -> None:
    """Zero code: ``opentelemetry-instrument python app.py`` with our distro, into the store."""
    server.clear()
    out, db = opentelemetry_instrument(
        _APP.format(tests=TESTS, url=server.openai_base_url), tmp_path
    )
    assert "RESULT" in out and FORECAST in out
    with Store.open(db) as store:
        (session,) = store.list_sessions(limit=10)
        spans = store.session_spans(session.id)
    usage = server.total_usage()
    assert session.llm_calls == len(server.requests) == 2
    assert session.input_tokens == usage["input_tokens"]
    assert session.output_tokens == usage["output_tokens"]
    assert session.cost_usd > 0
    by_id = {s.span_id: s for s in spans}
    kinds = sorted(s.agentops_kind or "" for s in spans)
    assert kinds.count(A.KIND_AGENT) == 1 and kinds.count(A.KIND_TOOL) == 1
    for span in spans:
        if span.agentops_kind in (A.KIND_LLM, A.KIND_TOOL):
            parent = by_id[span.parent_span_id]
            assert parent.agentops_kind == A.KIND_AGENT and parent.name == "invoke_agent forecaster"
            assert span.attributes[A.AGENT_NAME] == "forecaster"
