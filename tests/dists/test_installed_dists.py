"""The released distributions, installed from ``dist/`` into a fresh venv (``dists`` environment:
``pip install --no-index --find-links dist/ agentops-otel-distro`` plus openai): the CLI, the demo,
doctor and a traced openai call work from the wheels alone, not from the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

BIN = Path(sys.executable).parent

TRACED_CALL = textwrap.dedent("""
    import json, openai
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import agentops_otel
    from agentops_otel.testing.fake_llm import FakeLLMServer

    spans = InMemorySpanExporter()
    with FakeLLMServer() as server:
        agentops_otel.init(exporters=[spans], local_store=False, auto_start_session=False)
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        with agentops_otel.session("wheel-check"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
        agentops_otel.flush(5)
    print(json.dumps([{"name": s.name, **dict(s.attributes)} for s in spans.get_finished_spans()]))
""")


def _run(*cmd: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, cwd=BIN, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_imports_come_from_the_installed_wheels() -> None:
    out = _run(
        str(BIN / "python"),
        "-c",
        "import agentops_otel, agentops_openai; print(agentops_otel.__file__, "
        "agentops_openai.__file__)",
    )
    assert out.count("site-packages") == 2, out


def test_demo_runs_from_the_wheels(tmp_path: Path) -> None:
    out = _run(str(BIN / "agentops-otel"), "demo", "--store", str(tmp_path))
    assert "email-assistant" in out and "billing/refund" in out
    assert (tmp_path / "traces.db").exists()


def test_a_traced_openai_call_has_usage_and_cost() -> None:
    spans = json.loads(_run(str(BIN / "python"), "-c", TRACED_CALL))
    (llm,) = [s for s in spans if s["name"] == "chat gpt-4o-mini"]
    assert llm["gen_ai.usage.input_tokens"] > 0
    assert llm["agentops.cost.usd"] > 0
    assert any(s["name"] == "session wheel-check" for s in spans)


def test_doctor_sees_openai_covered() -> None:
    out = _run(str(BIN / "agentops-otel"), "doctor")
    assert "traced by agentops-otel-instrumentation-openai" in out
