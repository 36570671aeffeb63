"""Running an example of ``examples/`` as its one documented command does, into a scratch store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentops_otel.store import SessionRow, SpanRow, open_reader

ROOT = Path(__file__).resolve().parent.parent


def run_example(
    script: Path, home: Path, cwd: Path | None = None
) -> tuple[str, SessionRow, list[SpanRow]]:
    """Run ``script`` with this interpreter and the store at ``home`` (no ``AGENTOPS_*`` or
    ``OTEL_*`` setting of ours leaks in); its output, and the one session it stored with its
    spans."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOPS_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, str(script)],
        env={**env, "AGENTOPS_OTEL_HOME": str(home)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    with open_reader(home) as store:
        (session,) = store.list_sessions()
        return done.stdout, session, store.session_spans(session.id)


def llm_calls(spans: list[SpanRow]) -> list[SpanRow]:
    """The model calls among ``spans``, each priced; the session's totals are theirs."""
    calls = [s for s in spans if s.agentops_kind == "llm"]
    assert calls and all(s.cost_usd and s.cost_usd > 0 for s in calls)
    return calls


def assert_totals(session: SessionRow, calls: list[SpanRow]) -> None:
    """The session counts each call once, with its tokens and cost."""
    assert session.llm_calls == len(calls)
    assert session.input_tokens == sum(s.input_tokens or 0 for s in calls)
    assert session.output_tokens == sum(s.output_tokens or 0 for s in calls)
    assert abs(session.cost_usd - sum(s.cost_usd or 0 for s in calls)) < 1e-9
