"""Helpers for framework instrumentor tests: span look-ups, totals against the fake server's
request log, and the two zero-setup runs (``init()`` in a fresh interpreter, and
``opentelemetry-instrument``) with the spans they produced.

Fixtures to import into a ``conftest.py``::

    from agentops_otel.testing.frameworks import capture, openai_instrumented  # noqa: F401
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def one(spans: list[ReadableSpan]) -> ReadableSpan:
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def usage_of(requests: list[dict[str, Any]]) -> tuple[int, int]:
    """(input, output) tokens the fake server reported for ``requests``."""
    return (
        sum(r["usage"]["input_tokens"] for r in requests),
        sum(r["usage"]["output_tokens"] for r in requests),
    )


def totals(span: ReadableSpan) -> tuple[int, int]:
    """(input, output) tokens rolled up on an enclosing span (absent means none)."""
    a = attrs(span)
    return a.get(A.TOTAL_INPUT_TOKENS, 0), a.get(A.TOTAL_OUTPUT_TOKENS, 0)


def tool_names(request: dict[str, Any]) -> list[str]:
    """The tools a logged OpenAI chat request offered the model."""
    return [t["function"]["name"] for t in request["body"].get("tools", [])]


def assert_calls_under(
    capture: SpanCapture, span: ReadableSpan, requests: list[dict[str, Any]]
) -> None:
    """Every LLM span is a child of ``span``, whose totals are those of ``requests``."""
    llms = capture.of_kind(A.KIND_LLM)
    assert llms and all(capture.parent_of(s) is span for s in llms)
    assert totals(span) == usage_of(requests)


def run_checked(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a process to completion (5 minutes at most); it must succeed."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


# The prologue and epilogue of a script run after ``init()``: spans exported in memory, then
# printed as JSON on the last line of its output.
_INIT = """
import json, sys
sys.path.insert(0, {tests!r})
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
_mine = InMemorySpanExporter()
ao.init(local_store=False, exporters=[_mine])
assert {module!r} not in sys.modules  # init() leaves the library unimported until it is used
{body}
ao.end_session()
ao.flush(5)
print(json.dumps([{{"name": s.name, "id": s.context.span_id,
                    "parent": s.parent.span_id if s.parent else None,
                    "attrs": dict(s.attributes)}} for s in _mine.get_finished_spans()]))
"""


class InitRun:
    """What a script run after ``init()`` printed, and the spans it exported (as dicts)."""

    def __init__(self, tests: str, module: str, body: str) -> None:
        code = _INIT.format(tests=tests, module=module, body=body)
        done = run_checked([sys.executable, "-c", code])
        *self.lines, last = done.stdout.strip().splitlines()
        self.spans: list[dict[str, Any]] = json.loads(last)
        self.by_id = {s["id"]: s for s in self.spans}

    def of_kind(self, kind: str | None) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["attrs"].get(A.SPAN_KIND) == kind]

    def parent(self, span: dict[str, Any]) -> dict[str, Any]:
        return self.by_id[span["parent"]]

    def check_agent_run(self, name: str, server: FakeLLMServer) -> dict[str, Any]:
        """One agent span ``name`` under the session, one LLM span per logged request, the
        agent's identity on every LLM and tool span, and the session's totals equal to the
        server's log; the agent span."""
        (session,) = self.of_kind(A.KIND_SESSION)
        (agent,) = self.of_kind(A.KIND_AGENT)
        assert agent["name"] == f"invoke_agent {name}" and self.parent(agent) is session
        llms = self.of_kind(A.KIND_LLM)
        assert len(llms) == len(server.requests)
        for span in (*llms, *self.of_kind(A.KIND_TOOL)):
            assert span["attrs"][A.AGENT_NAME] == name
        usage, totals = server.total_usage(), session["attrs"]
        assert totals[A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
        assert totals[A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
        assert totals[A.LLM_CALLS] == len(llms)
        cost = sum(s["attrs"][A.COST_USD] for s in llms)
        assert cost > 0 and totals[A.TOTAL_COST_USD] == pytest.approx(cost)
        return agent


def opentelemetry_instrument(app: str, tmp_path: Path) -> tuple[str, Path]:
    """Run ``app`` (Python source) under ``opentelemetry-instrument`` with our distro and a
    local store in ``tmp_path``; its output and the store's path."""
    script = tmp_path / "app.py"
    script.write_text(app)
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = run_checked(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
    )
    return done.stdout, tmp_path / "home" / "traces.db"


@pytest.fixture
def capture(server: FakeLLMServer) -> Iterator[SpanCapture]:
    """A span capture per test, on a fake server with an empty log and no rules."""
    server.clear()
    server.clear_rules()
    with SpanCapture() as cap:
        yield cap


@pytest.fixture
def openai_instrumented(capture: SpanCapture) -> Iterator[bool]:
    """The openai instrumentor on the capture; False where its openai range is not installed
    (then no provider span stands beneath the framework's calls)."""
    from agentops_openai import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    active = instrumentor.is_instrumented_by_opentelemetry
    yield active
    if active:
        instrumentor.uninstrument()


@contextmanager
def instrumenting(capture: SpanCapture, instrumentor: Any) -> Iterator[Any]:
    """``instrumentor`` on the capture's provider for the block, uninstrumented after."""
    instrumentor.instrument(tracer_provider=capture.provider)
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()
