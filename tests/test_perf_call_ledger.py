"""The ledger behind budgets, loops and roll-ups, and the metrics' meter provider: each case in
a fresh interpreter (the global providers and ``init()`` are once per process), driving the real
openai SDK against the project's fake LLM server."""

from __future__ import annotations

import json

import pytest

from agentops_otel import semconv as A
from agentops_otel.testing import FakeLLMServer
from conftest import run_python


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer() as srv:
        yield srv


def _last_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


_APP = """
import json, logging, openai
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel as ao
from agentops_otel.errors import LoopDetectedError

app_exporter = InMemorySpanExporter()
provider = TracerProvider()  # the app's own provider, set before init(): init() joins it
provider.add_span_processor(SimpleSpanProcessor(app_exporter))
trace.set_tracer_provider(provider)
client = openai.OpenAI(base_url={base!r}, api_key="sk-test", max_retries=0)
"""


def test_budget_loops_and_rollups_on_the_apps_joined_provider(server):
    result = run_python(
        _APP.format(base=server.openai_base_url)
        + """
ao.init(local_store=False, auto_start_session=False, loop_threshold=3, on_loop="raise")
assert trace.get_tracer_provider() is provider
ask = lambda: client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "same question"}])
raised = None
with ao.session("joined", max_cost_usd=1e-9):
    ask()
    ask()
    try:
        ask()
    except LoopDetectedError as exc:
        raised = type(exc).__name__
spans = app_exporter.get_finished_spans()
session = next(s for s in spans if s.name == "session joined")
llm = [s for s in spans if s.attributes.get("agentops.span.kind") == "llm"]
print(json.dumps({
    "raised": raised,
    "session": {k: v for k, v in session.attributes.items() if not isinstance(v, tuple)},
    "events": [e.name for e in session.events],
    "llm_cost": sum(s.attributes.get("agentops.cost.usd", 0) for s in llm),
    "llm_session_ids": sorted({s.attributes.get("agentops.session.id") for s in llm}),
}))
"""
    )
    out = _last_json(result)
    session = out["session"]
    assert out["raised"] == "LoopDetectedError"
    # two answered calls and the refused third (an error) rolled up onto the session
    assert session[A.LLM_CALLS] == 3
    assert session[A.ERRORS] == 1
    assert session[A.TOTAL_COST_USD] == pytest.approx(out["llm_cost"], rel=1e-6)
    assert out["llm_cost"] > 0
    assert session[A.BUDGET_EXCEEDED] is True
    assert session[A.LOOP_DETECTED] is True and session[A.LOOP_COUNT] == 3
    assert A.EVENT_BUDGET_EXCEEDED in out["events"]
    assert out["llm_session_ids"] == [session[A.SESSION_ID]]


def test_budget_counts_calls_made_through_a_provider_without_our_processor(server):
    """The app instruments openai on a provider of its own (no agentops processor there):
    calls inside our session still count towards its budget and totals."""
    result = run_python(
        _APP.format(base=server.openai_base_url)
        + """
ao.init(local_store=False, auto_start_session=False, instrument=False, on_budget_exceeded="raise")
from agentops_openai import OpenAIInstrumentor
own = TracerProvider()
own_exporter = InMemorySpanExporter()
own.add_span_processor(SimpleSpanProcessor(own_exporter))
OpenAIInstrumentor().instrument(tracer_provider=own)
refused = None
with ao.session("elsewhere", max_cost_usd=1e-9):
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "one"}])
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "two"}])
    except ao.BudgetExceededError as exc:
        refused = type(exc).__name__
session = next(s for s in app_exporter.get_finished_spans() if s.name == "session elsewhere")
print(json.dumps({
    "refused": refused,
    "calls": session.attributes["agentops.llm.calls"],
    "llm_on_own": len(own_exporter.get_finished_spans()),
}))
"""
    )
    out = _last_json(result)
    assert out == {"refused": "BudgetExceededError", "calls": 1, "llm_on_own": 1}


_METRICS = """
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

def names(reader):
    data = reader.get_metrics_data()
    return sorted({m.name for rm in (data.resource_metrics if data else ())
                   for sm in rm.scope_metrics for m in sm.metrics})

ask = lambda: client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "count me"}])
"""


def test_metrics_go_to_the_meter_provider_passed_to_instrument(server):
    result = run_python(
        _APP.format(base=server.openai_base_url)
        + _METRICS
        + """
from opentelemetry import metrics
global_reader, given_reader = InMemoryMetricReader(), InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[global_reader]))
from agentops_openai import OpenAIInstrumentor
OpenAIInstrumentor().instrument(
    tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[given_reader]))
ask()
ao.flush(5)
print(json.dumps({"given": names(given_reader), "global": names(global_reader)}))
"""
    )
    out = _last_json(result)
    assert {A.METRIC_OPERATION_DURATION, A.METRIC_TOKEN_USAGE, A.METRIC_COST} <= set(out["given"])
    assert out["global"] == []


def test_metrics_go_to_the_meter_provider_passed_to_init(server):
    result = run_python(
        _APP.format(base=server.openai_base_url)
        + _METRICS
        + """
reader = InMemoryMetricReader()
given = MeterProvider(metric_readers=[reader])
ao.init(local_store=False, auto_start_session=False, meter_provider=given)
ask()
ao.flush(5)
print(json.dumps({"given": names(reader)}))
"""
    )
    out = _last_json(result)
    assert {A.METRIC_OPERATION_DURATION, A.METRIC_TOKEN_USAGE} <= set(out["given"])


def test_init_imports_no_instrumentor_for_a_library_the_app_never_imported():
    result = run_python(
        """
import json, sys
import agentops_otel as ao
ao.init(local_store=False)
before = sorted(m for m in sys.modules if m.startswith("agentops_") and "." not in m)
libraries = [m for m in ("openai", "anthropic") if m in sys.modules]
import openai
from agentops_openai import OpenAIInstrumentor
print(json.dumps({
    "before": before,
    "libraries_before": libraries,
    "after_openai": "agentops_openai" in sys.modules,
    "instrumented": OpenAIInstrumentor().is_instrumented_by_opentelemetry,
    "anthropic_instrumentor": "agentops_anthropic" in sys.modules,
}))
"""
    )
    out = _last_json(result)
    assert out["before"] == ["agentops_otel"]  # no instrumentor imported by init() itself
    assert out["libraries_before"] == []
    assert out["after_openai"] and out["instrumented"]
    assert not out["anthropic_instrumentor"]


def test_deferred_wrap_waits_for_the_module_and_respects_restore():
    result = run_python(
        """
import json, sys, wrapt
from agentops_otel.instrumentation import Patches
calls = []
def wrapper(wrapped, instance, args, kwargs):
    calls.append(args)
    return wrapped(*args, **kwargs)
kept, dropped = Patches(), Patches()
assert "colorsys" not in sys.modules and "plistlib" not in sys.modules
kept.wrap("colorsys", "rgb_to_hsv", wrapper, deferred=True)
dropped.wrap("plistlib", "dumps", wrapper, deferred=True)
dropped.restore()  # taken back before plistlib was ever imported
imported_by_wrap = "colorsys" in sys.modules or "plistlib" in sys.modules
import colorsys, plistlib
colorsys.rgb_to_hsv(0.1, 0.2, 0.3)
plistlib.dumps({})
print(json.dumps({
    "imported_by_wrap": imported_by_wrap,
    "colorsys_wrapped": isinstance(colorsys.rgb_to_hsv, wrapt.FunctionWrapper),
    "plistlib_wrapped": isinstance(plistlib.dumps, wrapt.FunctionWrapper),
    "calls": len(calls),
}))
"""
    )
    out = _last_json(result)
    assert out == {
        "imported_by_wrap": False,
        "colorsys_wrapped": True,
        "plistlib_wrapped": False,
        "calls": 1,
    }
