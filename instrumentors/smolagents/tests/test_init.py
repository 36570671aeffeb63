"""The entry point at work: ``agentops_otel.init()`` and ``opentelemetry-instrument`` each trace
the manager run in a fresh interpreter."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from smol_apps import ANSWER, script

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.subprocess_app import assert_calls_owned, run_instrumented, run_with_init

_TESTS = Path(__file__).parent
_APP = """
from smol_apps import TASK, build_manager
print("RESULT", build_manager({url!r}).run(TASK))
"""


def test_init_instruments_smolagents(server: FakeLLMServer) -> None:
    script(server)
    server.clear()
    out, spans = run_with_init(
        _APP.format(url=server.openai_base_url), _TESTS, lazy=("smolagents",)
    )
    assert f"RESULT {ANSWER}" in out
    assert_calls_owned(spans, server)
    agents = sorted(
        s["attrs"][A.AGENT_NAME] for s in spans if s["attrs"].get(A.SPAN_KIND) == A.KIND_AGENT
    )
    assert agents == ["manager", "researcher"]


def test_opentelemetry_instrument_traces_smolagents(server: FakeLLMServer, tmp_path: Path) -> None:
    script(server)
    server.clear()
    out, session, spans = run_instrumented(
        _APP.format(url=server.openai_base_url), _TESTS, tmp_path
    )
    assert f"RESULT {ANSWER}" in out
    assert session.llm_calls == len(server.requests) == 4
    assert session.input_tokens == server.total_usage()["input_tokens"]
    kinds = Counter(s.agentops_kind for s in spans)
    assert kinds[A.KIND_AGENT] == 2 and kinds[A.KIND_OPERATION] == 4
    assert [s.name for s in spans].count("execute_tool lookup_facts") == 1
    by_id = {s.span_id: s for s in spans}
    for llm in (s for s in spans if s.agentops_kind == A.KIND_LLM):
        assert by_id[llm.parent_span_id].agentops_kind == A.KIND_OPERATION
