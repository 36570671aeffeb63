"""Foreign instrumentations (Python apps in ``apps/``, Node apps in ``node/``) export over OTLP/HTTP
to a real ``agentops-otel serve`` while talking to the project's fake LLM server; the tests read
what serve stored and compare it with the fake server's request log."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=serve.url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OPENAI_BASE_URL=fake.openai_base_url,
        OPENAI_API_KEY="sk-test",
        TRACELOOP_BASE_URL=serve.url,
        TRACELOOP_TELEMETRY="false",
        **extra,
    )
    return env


def run_python_app(name: str, serve: Server, fake: FakeLLMServer, **extra: str) -> str:
    result = subprocess.run(
        [sys.executable, str(APPS / name)],
        env=app_env(serve, fake, **extra),
        cwd=APPS,
        capture_output=True,
        text=True,
        timeout=300,
    )
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


def _never(request: dict[str, Any]) -> bool:
    return False


def assert_matches_fake(
    found: Stored,
    fake: FakeLLMServer,
    *,
    provider: str = "openai",
    reports_cache: bool = True,
    no_usage: Callable[[dict[str, Any]], bool] = _never,
    counts_output: Callable[[dict[str, Any]], bool] = _never,
) -> None:
    """Every model request the fake server logged is one stored LLM call, and the session's
    tokens and cost are the usage the server reported, counted once.

    Where the foreign instrumentation itself reports something else, what it sent is what we
    count: ``reports_cache=False`` it drops the cache-read count (cached tokens are priced as
    input); ``no_usage(request)`` it records no usage for that request; ``counts_output(request)``
    it counts that request's output tokens itself (the stored span, found by response id)."""
    calls = [r for r in fake.requests if r["path"] in MODEL_PATHS and r["status"] == 200]
    llm = found.of_kind("llm")
    by_response = {s.attributes.get("gen_ai.response.id"): s for s in llm}
    sent = []  # (model, input, output, cache read) as the instrumentation reported them
    for r in calls:
        usage = r["usage"]
        output = usage["output_tokens"]
        if no_usage(r):
            continue
        if counts_output(r):
            output = by_response[r["response_id"]].output_tokens
            assert output > 0
        sent.append(
            (
                r["model"],
                usage["input_tokens"],
                output,
                usage["cache_read_tokens"] if reports_cache else None,
            )
        )
    totals = [
        sum(getattr(s, key) for s in found.sessions)
        for key in ("llm_calls", "input_tokens", "output_tokens", "cost_usd")
    ]
    assert (totals[0], len(llm)) == (len(calls), len(calls))
    assert totals[1] == sum(c[1] for c in sent) == sum(s.input_tokens or 0 for s in llm)
    assert totals[2] == sum(c[2] for c in sent) == sum(s.output_tokens or 0 for s in llm)
    assert sorted(
        (
            s.attributes.get("gen_ai.usage.cache_read.input_tokens")
            for s in llm
            if s.input_tokens is not None
        ),
        key=str,
    ) == sorted((c[3] for c in sent), key=str)
    cost = sum(
        cost_for(
            provider, model, input_tokens=i, output_tokens=o, cache_read_tokens=c or 0
        ).total_usd
        for model, i, o, c in sent
    )
    assert cost > 0
    assert totals[3] == pytest.approx(float(cost), rel=1e-9)
    assert all(s.model for s in llm) and {s.provider for s in llm} == {provider}
