"""``examples/node_app.py`` runs offline: it installs the Node app's pinned packages itself
(``npm ci`` from the lock file, here in a fresh copy of the example), runs the app against
``agentops-otel serve`` and the fake LLM server, and serve stores what the app describes. Runs in
the ``ingest-py`` environment (listed in ``tests/ingest/test-envs``), beside the other Node
ingest tests."""

from __future__ import annotations

import os
import shutil

import pytest
from _examples import ROOT, assert_totals, llm_calls, run_example


@pytest.fixture
def example(tmp_path, monkeypatch):
    """``examples/node_app.py`` and what it needs, copied without ``node_modules``."""
    copy = tmp_path / "examples"
    shutil.copytree(
        ROOT / "examples",
        copy,
        ignore=shutil.ignore_patterns("node_modules", ".store", "__pycache__"),
    )
    monkeypatch.setenv(
        "npm_config_cache", os.environ.get("npm_config_cache") or str(ROOT / ".cache/npm")
    )
    return copy


def test_node_example_installs_its_packages_and_serve_stores_its_agent(example, tmp_path) -> None:
    assert shutil.which("node") and shutil.which("npm"), "node 20+ and npm are needed"
    out, session, spans = run_example(example / "node_app.py", tmp_path / "home", cwd=tmp_path)
    assert (example / "node_app/node_modules/@opentelemetry/sdk-trace-node").is_dir()
    assert "reply: Good news: order 1042 has shipped" in out
    assert session.id == session.trace_id and session.name == "invoke_agent support-bot"
    (agent,) = [s for s in spans if s.agentops_kind == "agent"]
    (tool,) = [s for s in spans if s.agentops_kind == "tool"]
    assert tool.name == "execute_tool lookup_order" and tool.parent_span_id == agent.span_id
    calls = llm_calls(spans)
    assert [c.model for c in calls] == ["gpt-4o-mini", "gpt-4o"]
    assert all(c.parent_span_id == agent.span_id for c in calls)
    assert {s.service for s in spans} == {"node-support-bot"}
    assert_totals(session, calls)
