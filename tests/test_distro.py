"""`opentelemetry-instrument python app.py` with no code change: our distro and configurator give
a session and priced LLM spans in the local store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentops_otel.store import Store
from agentops_otel.testing import FakeLLMServer

APP = """
import openai
client = openai.OpenAI(max_retries=0)
for question in ("first question", "second question"):
    client.chat.completions.create(model="gpt-4o-mini",
                                   messages=[{"role": "user", "content": question}])
print("app done")
"""


def run_instrumented(tmp_path: Path, server: FakeLLMServer, **env: str):
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(APP))
    bindir = Path(sys.executable).parent
    full_env = {
        **os.environ,
        "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
        "OPENAI_BASE_URL": server.openai_base_url,
        "OPENAI_API_KEY": "sk-test",
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        **env,
    }
    full_env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    return subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(app)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        cwd=str(tmp_path),
    )


@pytest.fixture
def server():
    with FakeLLMServer() as srv:
        yield srv


def test_opentelemetry_instrument_gives_session_and_priced_llm_spans(tmp_path, server):
    result = run_instrumented(tmp_path, server, AGENTOPS_TAGS="zero-code")
    assert result.returncode == 0, result.stderr
    assert "app done" in result.stdout
    assert len(server.requests) == 2
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        assert session.end_state == "Indeterminate"  # never ended by the app: exit ends it
        assert session.tags == ("zero-code",)
        assert session.llm_calls == 2
        expected_in = sum(r["usage"]["input_tokens"] for r in server.requests)
        assert session.input_tokens == expected_in
        llm = [s for s in store.session_spans(session.id) if s.agentops_kind == "llm"]
        assert len(llm) == 2
        assert all(s.attributes["agentops.cost.usd"] > 0 for s in llm)
        assert session.cost_usd == pytest.approx(
            sum(s.attributes["agentops.cost.usd"] for s in llm)
        )
    assert not (tmp_path / "traces.db").exists()


def test_agentops_otel_run_wraps_opentelemetry_instrument(tmp_path, server):
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(APP))
    env = {
        **os.environ,
        "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
        "OPENAI_BASE_URL": server.openai_base_url,
        "OPENAI_API_KEY": "sk-test",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentops_otel.cli",
            "run",
            "--session-name",
            "wrapped",
            "--tag",
            "cli",
            "--no-content",
            "--",
            sys.executable,
            str(app),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        assert (session.name, session.tags, session.llm_calls) == ("wrapped", ("cli",), 2)
        llm = [s for s in store.session_spans(session.id) if s.agentops_kind == "llm"]
        assert all("gen_ai.input.messages" not in s.attributes for s in llm)


def test_disabled_instrumentation_env_is_honoured(tmp_path, server):
    result = run_instrumented(
        tmp_path, server, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="agentops_openai"
    )
    assert result.returncode == 0, result.stderr
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        assert session.llm_calls == 0
