"""The local store keeps up with a busy caller that lets the interpreter lock go briefly in
every call (a short syscall, as an SDK's call does): CPython never asks such a thread to hand
the lock to the waiting export thread, so without the caller's pause while a batch waits the
store's export thread starved and the queue overflowed (about 1,400 of these 4,000 spans were
lost on a quiet 2-core machine)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import run_python

APP = """
import os
import agentops_otel
from opentelemetry import trace

agentops_otel.init(instrument=False, auto_start_session=False)
tracer = trace.get_tracer("busy")
with tracer.start_as_current_span("work"):
    pass
agentops_otel.flush()  # the writer process runs: what follows measures the hand-off alone
for i in range(1, 4000):
    with tracer.start_as_current_span("work") as span:
        span.set_attribute("i", i)
        os.urandom(1)  # lets the interpreter lock go for a moment
        sum(range(20000))  # ~0.3 ms of work that holds it
agentops_otel.shutdown()
"""


def test_a_busy_caller_loses_no_span_to_the_local_store(tmp_path: Path) -> None:
    result = run_python(APP, env={"AGENTOPS_OTEL_HOME": str(tmp_path)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "lost" not in result.stderr, result.stderr
    with sqlite3.connect(tmp_path / "traces.db") as conn:
        assert conn.execute("SELECT count(*) FROM spans WHERE name = 'work'").fetchone() == (4000,)
