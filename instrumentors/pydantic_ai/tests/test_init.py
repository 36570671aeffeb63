"""``agentops_otel.init()`` and ``opentelemetry-instrument`` find the Pydantic AI instrumentor
by its entry point: fresh interpreters run the agent and report the spans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _apps import FORECAST

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.fake_llm import FakeLLMServer

TESTS = str(Path(__file__).parent)

# Pydantic AI's own instrumentation on, through the global provider init() set (Logfire's way).
_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(local_store=False, exporters=[mine], session_name="weather")
assert "pydantic_ai" not in sys.modules  # init() leaves it unimported until the program needs it
from pydantic_ai import Agent
from _apps import weather_agent
Agent.instrument_all()
print("RESULT", weather_agent({url!r}).run_sync("What is the weather in Paris?").output)
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


def test_init_instruments_pydantic_ai_beside_its_own_spans(server: FakeLLMServer) -> None:
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
    theirs = [s for s in spans if kind(s) is None]
    assert theirs, "Pydantic AI's own spans reach the same provider"
    for span in (*llms, *theirs, next(s for s in spans if kind(s) == A.KIND_TOOL)):
        assert span["attrs"][A.AGENT_NAME] == "forecaster"
    chats = [s for s in theirs if s["attrs"].get(A.GEN_AI_OPERATION_NAME) == A.OP_CHAT]
    assert len(chats) == 2 and all(s["attrs"][A.LLM_DUPLICATE] for s in chats)
    usage = server.total_usage()
    assert session["attrs"][A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert session["attrs"][A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    assert session["attrs"][A.LLM_CALLS] == 2
    cost = sum(s["attrs"][A.COST_USD] for s in llms)
    assert cost > 0 and session["attrs"][A.TOTAL_COST_USD] == pytest.approx(cost)


_APP = """
import sys
sys.path.insert(0, {tests!r})
from _apps import weather_agent
print("RESULT", weather_agent({url!r}).run_sync("What is the weather in Paris?").output)
"""


def test_opentelemetry_instrument_traces_the_agent(server: FakeLLMServer,
                                                   tmp_path: Path) -> None:
    """Zero code: ``opentelemetry-instrument python app.py`` with our distro, into the store."""
    server.clear()
    app = tmp_path / "app.py"
    app.write_text(_APP.format(tests=TESTS, url=server.openai_base_url))
    bindir = Path(sys.executable).parent
    env = {**os.environ, "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = run([str(bindir / "opentelemetry-instrument"), sys.executable, str(app)], env=env,
               cwd=tmp_path)
    assert "RESULT" in done.stdout and FORECAST in done.stdout
    with Store.open(tmp_path / "home" / "traces.db") as store:
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
