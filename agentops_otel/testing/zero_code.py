"""Run a snippet of app code in a fresh interpreter under the two zero-code entries, for tests
that check an instrumentor is found by its entry point and its totals reach the session.

- :func:`run_under_init`: ``agentops_otel.init()`` (in-memory exporter, no local store), then the
  code, ``end_session()`` and ``flush()``; returns the attributes of every exported span.
- :func:`run_under_opentelemetry_instrument`: ``opentelemetry-instrument python app.py`` with our
  distro writing to a local store under ``tmp_path``; returns the one session it recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

_INIT = """
import json, sys
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
_exporter = InMemorySpanExporter()
ao.init(local_store=False, exporters=[_exporter], session_name="zero-code test")
unimported = [m for m in {modules!r} if m in sys.modules]
assert not unimported, unimported  # init() leaves the library alone until the app imports it
{code}
ao.end_session()
ao.flush(5)
print(json.dumps([dict(s.attributes) for s in _exporter.get_finished_spans()]))
"""


def _run(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=180, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {done.stderr[-3000:]}")
    return done.stdout


def run_under_init(
    code: str, modules: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Span attributes exported by ``code`` run after ``init()``; ``modules`` must not be
    imported by ``init()`` itself."""
    script = _INIT.format(modules=list(modules), code=textwrap.dedent(code))
    out = _run([sys.executable, "-c", script], env={**os.environ, **(env or {})})
    return json.loads(out.strip().splitlines()[-1])


def run_under_opentelemetry_instrument(
    code: str, tmp_path: Path, env: dict[str, str] | None = None
) -> Any:
    """The session recorded in the local store by ``opentelemetry-instrument python app.py``."""
    from agentops_otel.store import Store

    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(code))
    bindir = Path(sys.executable).parent
    full_env = {
        **os.environ,
        **(env or {}),
        "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    full_env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    _run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(app)],
        env=full_env,
        cwd=tmp_path,
    )
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        return session


def assert_init_totals(spans: list[dict[str, Any]], server: Any, provider: str, calls: int) -> None:
    """``calls`` priced LLM spans of ``provider``, one per logged request, and a session whose
    token totals equal the server's log and whose cost is the sum of the calls'."""
    import pytest

    from agentops_otel import semconv as A

    llms = [s for s in spans if s.get(A.SPAN_KIND) == A.KIND_LLM]
    assert len(llms) == len(server.requests) == calls
    assert {s[A.GEN_AI_PROVIDER_NAME] for s in llms} == {provider}
    assert all(s[A.COST_USD] > 0 for s in llms)
    (session,) = [s for s in spans if s.get(A.SPAN_KIND) == A.KIND_SESSION]
    usage = server.total_usage()
    assert session[A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert session[A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    assert session[A.TOTAL_COST_USD] == pytest.approx(sum(s[A.COST_USD] for s in llms))


def assert_store_totals(session: Any, server: Any, calls: int) -> None:
    """A stored session with ``calls`` LLM calls and the server log's token totals, priced."""
    assert session.llm_calls == len(server.requests) == calls
    usage = server.total_usage()
    assert session.input_tokens == usage["input_tokens"]
    assert session.output_tokens == usage["output_tokens"]
    assert session.cost_usd > 0
