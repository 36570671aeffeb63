"""Shared fixtures: one global SDK provider with an in-memory exporter, joined by ``init()``.

The global tracer provider can be set once per process, so provider-attachment cases run in
subprocesses (see test_provider.py); everything else shares this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentops_otel
from agentops_otel import semconv as A

ROOT = Path(__file__).resolve().parents[1]
_EXPORTER = InMemorySpanExporter()
METRICS = InMemoryMetricReader()


@pytest.fixture(scope="session", autouse=True)
def _tracing(tmp_path_factory: pytest.TempPathFactory):
    os.environ["AGENTOPS_OTEL_HOME"] = str(tmp_path_factory.mktemp("agentops-home"))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[METRICS]))
    agentops_otel.init(instrument=False, auto_start_session=False, local_store=False)
    yield
    agentops_otel.shutdown()


@pytest.fixture
def spans():
    """Finished spans of this test (a fresh list accessor)."""
    _EXPORTER.clear()
    yield _Spans()
    _EXPORTER.clear()


class _Spans:
    def __call__(self):
        return list(_EXPORTER.get_finished_spans())

    def named(self, name):
        return [s for s in self() if s.name == name]

    def one(self, name):
        found = self.named(name)
        assert len(found) == 1, f"{name}: {[s.name for s in self()]}"
        return found[0]

    def of_kind(self, kind):
        return [s for s in self() if (s.attributes or {}).get(A.SPAN_KIND) == kind]

    @staticmethod
    def parent_id(span):
        return span.parent.span_id if span.parent is not None else None


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 60):
    """Run ``code`` in a fresh interpreter (for once-per-process global state)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=str(ROOT),
    )
