"""Run a small app in a fresh interpreter the two ways a user turns us on, for instrumentor tests:
after ``agentops_otel.init()`` (spans come back as JSON), and under ``opentelemetry-instrument``
(spans read back from the local store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.store import Store
from agentops_otel.testing.fake_llm import FakeLLMServer

_INIT = """
import json, sys
sys.path.insert(0, {tests!r})
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(local_store=False, exporters=[mine], session_name="app run")
for name in {lazy!r}:
    assert name not in sys.modules, name  # init() leaves the framework unimported
{app}
ao.end_session()
ao.flush(5)
print(json.dumps([{{"name": s.name, "id": s.context.span_id, "scope": s.instrumentation_scope.name,
                    "parent": s.parent.span_id if s.parent else None,
                    "attrs": dict(s.attributes)}} for s in mine.get_finished_spans()]))
"""


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "AGENTOPS_API_KEY": "",
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        **(extra or {}),
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    return env


def run_with_init(
    app: str, tests_dir: Path, *, lazy: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Run ``app`` (code; ``tests_dir`` is on ``sys.path``) after ``init()``; its stdout and the
    spans exported (dicts with name, id, scope, parent, attrs). ``lazy``: modules that must not
    be imported by ``init()`` itself."""
    code = _INIT.format(tests=str(tests_dir), lazy=lazy, app=textwrap.dedent(app))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=_env(env),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(done.stdout.strip().splitlines()[-1])


def run_instrumented(
    app: str, tests_dir: Path, tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[str, Any, list[Any]]:
    """Run ``app`` under ``opentelemetry-instrument`` with our distro and the local store; its
    stdout, the one session stored and that session's spans."""
    script = tmp_path / "app.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(tests_dir)!r})\n" + textwrap.dedent(app)
    )
    bindir = Path(sys.executable).parent
    done = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
        env=_env({"AGENTOPS_OTEL_HOME": str(tmp_path / "home"), **(env or {})}),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        return done.stdout, session, store.session_spans(session.id)


def assert_calls_owned(spans: list[dict[str, Any]], server: FakeLLMServer) -> dict[str, Any]:
    """Every LLM span sits beneath an agent span whose name and role it carries; the session's
    totals are the server's log. Returns the session span."""
    by_id = {s["id"]: s for s in spans}

    def kind(span: dict[str, Any]) -> str | None:
        return span["attrs"].get(A.SPAN_KIND)

    session = next(s for s in spans if kind(s) == A.KIND_SESSION)
    llms = [s for s in spans if kind(s) == A.KIND_LLM]
    assert len(llms) == len(server.requests) > 0
    for llm in llms:
        agent = by_id[llm["parent"]]
        while kind(agent) != A.KIND_AGENT:
            agent = by_id[agent["parent"]]
        for key in (A.AGENT_NAME, A.AGENT_ROLE):
            assert llm["attrs"][key] == agent["attrs"][key]
    usage = server.total_usage()
    assert session["attrs"][A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert session["attrs"][A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    assert session["attrs"][A.LLM_CALLS] == len(server.requests)
    assert session["attrs"][A.TOTAL_COST_USD] > 0
    return session
