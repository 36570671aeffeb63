"""Exit with the local store beside a stuck OTLP destination: bounded, and the store's spans
are in the file all the same."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentops_otel.store import Store
from agentops_otel.testing.otlp_receiver import OtlpReceiver
from conftest import ROOT

APP = """
import sys
import agentops_otel
from opentelemetry import trace
agentops_otel.init(instrument=False, otlp_endpoint=sys.argv[1], local_store=True,
                   session_name="exit")
tracer = trace.get_tracer("t")
for i in range(300):
    with tracer.start_as_current_span(f"step {i}"):
        pass
print("last line", flush=True)
"""


def _slow(handler: object) -> None:
    time.sleep(10)


@pytest.mark.parametrize("destination", ["slow", "dead"])
def test_exit_is_bounded_and_the_store_keeps_its_spans(tmp_path: Path, destination: str) -> None:
    with OtlpReceiver(fault=_slow) as receiver:
        url = receiver.url if destination == "slow" else "http://127.0.0.1:9"
        env = {
            "AGENTOPS_OTEL_HOME": str(tmp_path),
            "AGENTOPS_EXIT_TIMEOUT": "1.0",
            "PATH": "/usr/bin:/bin",
        }
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(APP), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "last line"
        after = time.monotonic()
        process.wait(30)
        exit_s = time.monotonic() - after
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    # 1 s bound plus interpreter teardown on a loaded machine; never the 10 s the receiver takes
    assert exit_s < 5, exit_s
    with Store.open(tmp_path) as store:
        (session,) = store.list_sessions()
        assert session.name == "exit" and session.span_count == 301
