"""Beside the official opentelemetry-instrumentation-openai-v2 under `opentelemetry-instrument`:
by default ours stands theirs down (one span per request); when both are allowed, theirs is
flagged as a duplicate and cost still counts once. Runs in its own environment (test-envs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_distro import run_instrumented

from agentops_otel.store import Store
from agentops_otel.testing import FakeLLMServer


@pytest.fixture
def server():
    with FakeLLMServer() as srv:
        yield srv


def _llm_like(store, session_id):
    return [
        s
        for s in store.session_spans(session_id)
        if s.attributes.get("gen_ai.operation.name") == "chat"
    ]


def test_ours_stands_the_official_instrumentor_down(tmp_path, server):
    import opentelemetry.instrumentation.openai_v2  # noqa: F401 - the peer is really installed

    result = run_instrumented(tmp_path, server)
    assert result.returncode == 0, result.stderr
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        spans = _llm_like(store, session.id)
        assert len(spans) == 2 == len(server.requests)
        assert all(s.agentops_kind == "llm" for s in spans)
        assert session.llm_calls == 2


def test_both_allowed_cost_counts_once(tmp_path, server):
    result = run_instrumented(tmp_path, server, AGENTOPS_ALLOW_OTHER_INSTRUMENTORS="true")
    assert result.returncode == 0, result.stderr
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        spans = _llm_like(store, session.id)
        ours = [s for s in spans if s.agentops_kind == "llm"]
        theirs = [s for s in spans if s.agentops_kind != "llm"]
        assert len(ours) == 2 and len(theirs) == 2
        assert all(s.attributes.get("agentops.llm.duplicate") for s in theirs)
        assert session.llm_calls == 2
        assert session.cost_usd == pytest.approx(
            sum(s.attributes["agentops.cost.usd"] for s in ours)
        )
        expected_in = sum(r["usage"]["input_tokens"] for r in server.requests)
        assert session.input_tokens == expected_in
