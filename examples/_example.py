"""What the Python examples share: the project's fake LLM server (127.0.0.1, no key, no network),
``agentops_otel.init()`` into a scratch store, one session, and its tree read back with the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import agentops_otel
from agentops_otel.testing.fake_llm import FakeLLMServer

STORE = os.environ.get("AGENTOPS_OTEL_HOME") or str(Path(__file__).parent / ".store")


def show(session_id: str) -> None:
    """Print the session's tree as the CLI reads it back from the store."""
    cli = [sys.executable, "-m", "agentops_otel.cli", "show", session_id, "--store", STORE]
    subprocess.run(cli, check=True)
    print(f"\nAgain: agentops-otel show {session_id[:8]} --store {STORE}")


@contextmanager
def traced(name: str, replies: dict[str, str]) -> Iterator[FakeLLMServer]:
    """Run the body in one session named ``name`` against the fake server, which answers a
    prompt containing a key of ``replies`` with its value; then print the session's tree."""
    with FakeLLMServer(log_requests=False) as server:
        for contains, reply in replies.items():
            server.add_rule(contains, reply)
        agentops_otel.init(
            service_name=name, local_store=True, store_path=STORE, auto_start_session=False
        )
        with agentops_otel.session(name, tags=["example"]) as session:
            yield server
        agentops_otel.shutdown(timeout=5)
    show(session.id)
