"""The entry point at work: ``agentops_otel.init()`` and ``opentelemetry-instrument`` each trace
the pipeline run in a fresh interpreter. There our provider is the global one, which ADK's own
tracer would use too: these runs show that each request is still counted once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.subprocess_app import assert_calls_owned, run_instrumented, run_with_init

_TESTS = Path(__file__).parent
_APP = """
from adk_apps import build_pipeline, final_text, run
print("RESULT", final_text(run(build_pipeline({url!r}))))
"""


def test_init_instruments_adk(server: FakeLLMServer) -> None:
    server.clear()
    out, spans = run_with_init(
        _APP.format(url=server.openai_base_url), _TESTS, lazy=("google.adk",)
    )
    assert "RESULT Fake reply" in out
    assert not [s for s in spans if s["scope"] == "gcp.vertex.agent"]
    assert_calls_owned(spans, server)
    agents = sorted(
        s["attrs"][A.AGENT_NAME] for s in spans if s["attrs"].get(A.SPAN_KIND) == A.KIND_AGENT
    )
    assert agents == ["pipeline", "researcher", "writer"]


def test_opentelemetry_instrument_traces_adk(server: FakeLLMServer, tmp_path: Path) -> None:
    server.clear()
    out, session, spans = run_instrumented(
        _APP.format(url=server.openai_base_url), _TESTS, tmp_path
    )
    assert "RESULT Fake reply" in out
    assert session.llm_calls == len(server.requests) == 3
    usage = server.total_usage()
    assert (session.input_tokens, session.output_tokens) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
    kinds = Counter(s.agentops_kind for s in spans)
    assert kinds[A.KIND_WORKFLOW] == 1 and kinds[A.KIND_AGENT] == 3 and kinds[A.KIND_TOOL] == 1
    by_id = {s.span_id: s for s in spans}
    for llm in (s for s in spans if s.agentops_kind == A.KIND_LLM):
        assert by_id[llm.parent_span_id].agentops_kind == A.KIND_AGENT
