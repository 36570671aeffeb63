"""``agentops_otel.init()`` finds the LangChain instrumentor by its entry point: a fresh
interpreter runs the two-node graph and the ReAct agent after ``init()`` and prints the spans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer

_SCRIPT = """
import json, sys
from types import SimpleNamespace
sys.path.insert(0, {tests!r})
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(local_store=False, exporters=[mine], session_name="graph run")
assert "langchain_core" not in sys.modules  # init() leaves LangChain unimported
from _apps import QUESTION, react_agent, two_node_graph
server = SimpleNamespace(openai_base_url={url!r})
two_node_graph(server)[0].invoke({{"topic": "otters"}})
react_agent(server).invoke(QUESTION)
ao.end_session()
ao.flush(5)
print(json.dumps([{{"name": s.name, "id": s.context.span_id, "scope": s.instrumentation_scope.name,
                    "parent": s.parent.span_id if s.parent else None,
                    "attrs": dict(s.attributes)}} for s in mine.get_finished_spans()]))
"""


def test_init_instruments_langchain(server: FakeLLMServer) -> None:
    server.clear()
    code = _SCRIPT.format(tests=str(Path(__file__).parent), url=server.openai_base_url)
    env = {**os.environ, "AGENTOPS_API_KEY": ""}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spans: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    by_id = {s["id"]: s for s in spans}

    def kind(span: dict[str, Any]) -> str:
        return span["attrs"].get(A.SPAN_KIND)

    session = next(s for s in spans if kind(s) == A.KIND_SESSION)
    agents = {s["attrs"][A.AGENT_NAME]: s for s in spans if kind(s) == A.KIND_AGENT}
    assert set(agents) == {"researcher", "writer", "weather_agent"}
    llms = [s for s in spans if kind(s) == A.KIND_LLM]
    assert len(llms) == len(server.requests) == 4
    assert {s["scope"] for s in llms} == {"agentops_langchain"}
    for llm in llms:  # every call sits under the agent that made it
        parent = by_id[llm["parent"]]
        while kind(parent) != A.KIND_AGENT:
            parent = by_id[parent["parent"]]
        assert llm["attrs"][A.AGENT_NAME] == parent["attrs"][A.AGENT_NAME]
    usage = server.total_usage()
    assert session["attrs"][A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert session["attrs"][A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    assert session["attrs"][A.TOTAL_COST_USD] > 0
