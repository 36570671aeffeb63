"""Each example runs offline with one command and records what its docstring says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentops_otel.store import open_reader

ROOT = Path(__file__).resolve().parent.parent


def test_email_agent_records_one_agent_with_two_operations_on_two_models(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOPS_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples/email_agent.py")],
        env={**env, "AGENTOPS_OTEL_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "category: billing" in done.stdout
    with open_reader(tmp_path) as store:
        (session,) = store.list_sessions()
        spans = store.session_spans(session.id)
    by_id = {s.span_id: s for s in spans}
    (agent,) = [s for s in spans if s.agentops_kind == "agent"]
    assert agent.name == "invoke_agent email-agent"
    operations = {s.name: s for s in spans if s.parent_span_id == agent.span_id}
    assert set(operations) == {"operation classify", "operation draft_reply"}
    models = {by_id[s.parent_span_id].name: s.model for s in spans if s.agentops_kind == "llm"}
    assert models == {"operation classify": "gpt-3.5-turbo", "operation draft_reply": "gpt-4"}
    assert session.cost_usd > 0 and all(s.cost_usd > 0 for s in spans if s.model)
