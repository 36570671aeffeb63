"""Foreign instrumentations (Python apps in ``apps/``, Node apps in ``node/``) export over OTLP/HTTP
to a real ``agentops-otel serve`` while talking to the project's fake LLM server; the tests read
what serve stored and compare it with the fake server's request log."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _dashboard_support import Server, start_server, stop_server

from agentops_otel.pricing import cost_for
from agentops_otel.store import Store
from agentops_otel.store._rows import SessionRow, SpanRow
from agentops_otel.testing import FakeLLMServer

APPS = Path(__file__).resolve().parent / "apps"
MODEL_PATHS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/messages")


@pytest.fixture
def fake():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def serve(tmp_path):
    server = start_server(tmp_path / "home", token=None)
    yield server
    stop_server(server)


def app_env(serve: Server, fake: FakeLLMServer, **extra: str) -> dict[str, str]:
    """The environment of an app: OTLP to serve, OpenAI to the fake server, nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=serve.url, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
               OPENAI_BASE_URL=fake.openai_base_url, OPENAI_API_KEY="sk-test",
               TRACELOOP_BASE_URL=serve.url, TRACELOOP_TELEMETRY="false", **extra)
    return env


def run_python_app(name: str, serve: Server, fake: FakeLLMServer, **extra: str) -> str:
    result = subprocess.run([sys.executable, str(APPS / name)], env=app_env(serve, fake, **extra),
                            cwd=APPS, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stderr


@dataclass
class Stored:
    sessions: list[SessionRow]
    spans: list[SpanRow]

    @property
    def session(self) -> SessionRow:
        (session,) = self.sessions
        return session

    def of_kind(self, kind: str) -> list[SpanRow]:
        return [s for s in self.spans if s.agentops_kind == kind]

    def parent(self, span: SpanRow) -> SpanRow | None:
        return next((s for s in self.spans if s.span_id == span.parent_span_id), None)

    def ancestors(self, span: SpanRow) -> list[SpanRow]:
        out = []
        while (parent := self.parent(span)) is not None:
            out.append(parent)
            span = parent
        return out


def stored(serve: Server, sessions: int = 1) -> Stored:
    """The sessions serve stored (``sessions`` of them), with their spans."""
    with Store.open(serve.home) as store:
        found = store.list_sessions(limit=10)
        assert len(found) == sessions, [(s.id, s.name, s.span_count) for s in found]
        return Stored(found, [span for s in found for span in store.session_spans(s.id)])


def assert_matches_fake(found: Stored, fake: FakeLLMServer, provider: str = "openai",
                       reports_cache: bool = True) -> None:
    """Calls, tokens and cost of the session equal the fake server's log, counted once.
    ``reports_cache=False``: the instrumentation drops the cache-read count it was sent (so
    cached tokens are priced as input: what it reported is what we count)."""
    calls = [r for r in fake.requests if r["path"] in MODEL_PATHS and r["status"] == 200]
    usage = fake.total_usage()
    cached = (lambda r: r["usage"]["cache_read_tokens"]) if reports_cache else (lambda r: None)
    cost = sum(cost_for(provider, r["model"], input_tokens=r["usage"]["input_tokens"],
                        output_tokens=r["usage"]["output_tokens"],
                        cache_read_tokens=cached(r) or 0,
                        cache_write_tokens=r["usage"]["cache_write_tokens"]).total_usd
               for r in calls)
    llm = found.of_kind("llm")
    totals = [sum(getattr(s, key) for s in found.sessions)
              for key in ("llm_calls", "input_tokens", "output_tokens", "cost_usd")]
    assert (totals[0], len(llm)) == (len(calls), len(calls))
    assert totals[1] == usage["input_tokens"] == sum(s.input_tokens for s in llm)
    assert totals[2] == usage["output_tokens"] == sum(s.output_tokens for s in llm)
    assert sorted((s.attributes.get("gen_ai.usage.cache_read.input_tokens") for s in llm),
                  key=str) == sorted((cached(r) for r in calls), key=str)
    assert cost > 0
    assert totals[3] == pytest.approx(float(cost), rel=1e-9)
    assert all(s.model for s in llm) and {s.provider for s in llm} == {provider}

