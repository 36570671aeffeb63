"""``agentops_otel.init()`` finds the CrewAI instrumentor by its entry point: a fresh interpreter
runs the crew after ``init()`` and prints the spans it exported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from _crew import ANSWER, NATIVE_TOOLS, script

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.fake_llm import FakeLLMServer

_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(local_store=False, exporters=[mine], session_name="crew run")
assert "crewai" not in sys.modules  # init() leaves crewai unimported until the program needs it
from _crew import build_crew
print("RESULT", build_crew({url!r}).kickoff().raw)
ao.end_session()
ao.flush(5)
print(json.dumps([{{"name": s.name, "id": s.context.span_id,
                    "parent": s.parent.span_id if s.parent else None,
                    "attrs": dict(s.attributes)}} for s in mine.get_finished_spans()]))
"""


def test_init_instruments_crewai(server: FakeLLMServer) -> None:
    script(server)
    server.clear()
    code = _SCRIPT.format(tests=str(Path(__file__).parent), url=server.openai_base_url)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert f"RESULT {ANSWER}" in lines
    spans: list[dict[str, Any]] = json.loads(lines[-1])
    by_id = {s["id"]: s for s in spans}

    def kind(span: dict[str, Any]) -> str:
        return span["attrs"].get(A.SPAN_KIND)

    def parent(span: dict[str, Any]) -> dict[str, Any]:
        return by_id[span["parent"]]

    session = next(s for s in spans if kind(s) == A.KIND_SESSION)
    workflow = next(s for s in spans if kind(s) == A.KIND_WORKFLOW)
    assert workflow["name"] == "invoke_workflow otter crew" and parent(workflow) is session
    llms = [s for s in spans if kind(s) == A.KIND_LLM]
    assert len(llms) == len(server.requests) == (3 if NATIVE_TOOLS else 2)
    for llm in llms:
        agent = parent(llm)
        assert kind(agent) == A.KIND_AGENT
        assert llm["attrs"][A.AGENT_ROLE] == agent["attrs"][A.AGENT_ROLE]
        assert kind(parent(agent)) == A.KIND_TASK and parent(parent(agent)) is workflow
    tool = next(s for s in spans if kind(s) == A.KIND_TOOL)
    assert parent(tool)["attrs"][A.AGENT_ROLE] == "Researcher"
    usage = server.total_usage()
    assert session["attrs"][A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert session["attrs"][A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    assert session["attrs"][A.TOTAL_COST_USD] > 0


_APP = """
import sys
sys.path.insert(0, {tests!r})
from _crew import build_crew
print("RESULT", build_crew({url!r}).kickoff().raw)
"""


def test_opentelemetry_instrument_traces_the_crew(server: FakeLLMServer, tmp_path: Path) -> None:
    """Zero code: ``opentelemetry-instrument python app.py`` with our distro, into the store."""
    script(server)
    server.clear()
    app = tmp_path / "app.py"
    app.write_text(_APP.format(tests=str(Path(__file__).parent), url=server.openai_base_url))
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(app)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"RESULT {ANSWER}" in done.stdout
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        spans = store.session_spans(session.id)
        assert session.llm_calls == len(server.requests)
        assert session.input_tokens == server.total_usage()["input_tokens"]
    by_id = {s.span_id: s for s in spans}
    kinds = sorted(s.agentops_kind for s in spans)
    assert kinds.count(A.KIND_WORKFLOW) == 1 and kinds.count(A.KIND_TASK) == 2
    assert kinds.count(A.KIND_AGENT) == 2 and kinds.count(A.KIND_TOOL) == 1
    for llm in (s for s in spans if s.agentops_kind == A.KIND_LLM):
        assert by_id[llm.parent_span_id].agentops_kind == A.KIND_AGENT
