"""Provider attachment, init() idempotence, exit behaviour: each case in a fresh interpreter."""

from __future__ import annotations

import json
import time

from conftest import run_python

_COLLECT = """
import json, sys
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
def dump(exporter):
    print(json.dumps([{"name": s.name, "attrs": {k: v for k, v in s.attributes.items()
                       if isinstance(v, (str, int, float, bool))}}
                      for s in exporter.get_finished_spans()]))
"""


def _spans(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_global_provider_ours_is_set():
    result = run_python(
        _COLLECT
        + """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(instrument=False, local_store=False, exporters=[mine], session_name="auto")
assert isinstance(trace.get_tracer_provider(), TracerProvider)
@ao.agent
def helper(): pass
helper()
ao.end_session()
ao.flush(5)
dump(mine)
"""
    )
    spans = _spans(result)
    names = [s["name"] for s in spans]
    assert "invoke_agent helper" in names and "session auto" in names
    agent = next(s for s in spans if s["name"] == "invoke_agent helper")
    assert agent["attrs"]["agentops.session.id"]


def test_existing_sdk_provider_is_joined_and_keeps_its_exporter():
    result = run_python(
        _COLLECT
        + """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
app_exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(app_exporter))
trace.set_tracer_provider(provider)
import agentops_otel as ao
ao.init(instrument=False, local_store=False, session_name="joined")
assert trace.get_tracer_provider() is provider
with trace.get_tracer("app").start_as_current_span("app-span"):
    pass
@ao.operation
def op():
    with trace.get_tracer("app").start_as_current_span("app-child"):
        pass
op()
ao.end_session()
dump(app_exporter)
"""
    )
    spans = {s["name"]: s for s in _spans(result)}
    assert {"app-span", "operation op", "app-child", "session joined"} <= set(spans)
    # the app's own span under our operation got the session identity from our processor
    assert (
        spans["app-child"]["attrs"]["agentops.session.id"]
        == spans["session joined"]["attrs"]["agentops.session.id"]
    )
    assert spans["app-child"]["attrs"]["agentops.operation.name"] == "op"


def test_non_sdk_provider_gets_private_provider_and_one_warning():
    result = run_python(
        _COLLECT
        + """
import logging
from opentelemetry import trace
class VendorProvider(trace.TracerProvider):
    def get_tracer(self, *a, **k):
        return trace.NoOpTracer()
trace.set_tracer_provider(VendorProvider())
import agentops_otel as ao
mine = InMemorySpanExporter()
ao.init(instrument=False, local_store=False, exporters=[mine], session_name="private")
ao.init(instrument=False)  # twice: harmless, no second warning
assert isinstance(trace.get_tracer_provider(), VendorProvider)
@ao.tool
def t(): return 1
t()
ao.end_session()
ao.flush(5)
dump(mine)
"""
    )
    names = [s["name"] for s in _spans(result)]
    assert "execute_tool t" in names and "session private" in names
    assert result.stderr.count("not an OpenTelemetry SDK provider") == 1


def test_unended_session_is_delivered_at_exit_as_indeterminate(tmp_path):
    out = tmp_path / "spans.json"
    result = run_python(
        _COLLECT
        + f"""
import agentops_otel as ao, atexit
mine = InMemorySpanExporter()
def write():
    import json
    json.dump([{{"name": s.name, "state": s.attributes.get("agentops.session.end_state")}}
               for s in mine.get_finished_spans()], open({str(out)!r}, "w"))
atexit.register(write)  # registered first, so it runs after our exit hook (last in, first out)
ao.init(instrument=False, local_store=False, exporters=[mine], session_name="forgotten")
@ao.agent
def helper(): pass
helper()
print("[]")
"""
    )
    assert result.returncode == 0, result.stderr
    spans = json.loads(out.read_text())
    session = next(s for s in spans if s["name"] == "session forgotten")
    assert session["state"] == "Indeterminate"


def test_exit_within_bound_with_a_dead_collector():
    started = time.monotonic()
    result = run_python(
        """
import agentops_otel as ao
ao.init(instrument=False, exit_timeout_s=1.0)
for _ in range(200):
    @ao.operation
    def op(): pass
    op()
print("done")
""",
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "AGENTOPS_LOCAL_STORE": "false"},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    assert elapsed < 1.0 + 4.0  # the exit bound plus interpreter start-up and imports


def test_no_files_written_in_working_directory(tmp_path):
    result = run_python(f"""
import os
os.chdir({str(tmp_path)!r})
import agentops_otel as ao
ao.init(instrument=False)
@ao.operation
def op(): pass
op()
ao.end_session()
ao.shutdown()
print(os.listdir("."))
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
