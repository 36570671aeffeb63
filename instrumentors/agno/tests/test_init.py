"""The entry point at work: ``agentops_otel.init()`` and ``opentelemetry-instrument`` each trace
the team run in a fresh interpreter."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from agentops_otel import semconv as A
from agentops_otel.testing.agent_tools import FACTS
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.subprocess_app import assert_calls_owned, run_instrumented, run_with_init

_TESTS = Path(__file__).parent
_ENV = {"AGNO_TELEMETRY": "false"}
_APP = """
from agno_apps import TASK, build_team
print("RESULT", build_team({url!r}).run(TASK).content)
"""


def test_init_instruments_agno(server: FakeLLMServer) -> None:
    server.clear()
    out, spans = run_with_init(
        _APP.format(url=server.openai_base_url), _TESTS, lazy=("agno",), env=_ENV
    )
    assert FACTS in out
    assert_calls_owned(spans, server)
    roles = sorted(
        s["attrs"][A.AGENT_ROLE] for s in spans if s["attrs"].get(A.SPAN_KIND) == A.KIND_AGENT
    )
    assert roles == ["Finds facts about animals", "team leader"]


def test_opentelemetry_instrument_traces_agno(server: FakeLLMServer, tmp_path: Path) -> None:
    server.clear()
    out, session, spans = run_instrumented(
        _APP.format(url=server.openai_base_url), _TESTS, tmp_path, env=_ENV
    )
    assert FACTS in out
    assert session.llm_calls == len(server.requests) == 4
    assert session.input_tokens == server.total_usage()["input_tokens"]
    kinds = Counter(s.agentops_kind for s in spans)
    assert kinds[A.KIND_WORKFLOW] == 1 and kinds[A.KIND_AGENT] == 2 and kinds[A.KIND_TOOL] == 2
    by_id = {s.span_id: s for s in spans}
    for llm in (s for s in spans if s.agentops_kind == A.KIND_LLM):
        assert by_id[llm.parent_span_id].agentops_kind == A.KIND_AGENT
