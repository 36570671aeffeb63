"""Checks shared by the provider instrumentors' tests: span usage against the fake server's log,
and a program run in a fresh interpreter under ``agentops_otel.init()`` or under
``opentelemetry-instrument`` (our distro, spans into the local store).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import wrapt
from opentelemetry.trace import SpanKind, StatusCode

from agentops_otel import semconv as A
from agentops_otel.testing.spans import SpanCapture

__all__ = [
    "WEATHER_QUESTION",
    "WEATHER_TOOLS",
    "assert_error",
    "assert_no_usage",
    "assert_question_recorded",
    "assert_session_totals",
    "assert_streamed_reply",
    "assert_tool_round_trip",
    "assert_usage",
    "check_abandoned",
    "check_broken_stream",
    "check_early_close",
    "check_init_run",
    "check_opentelemetry_instrument_run",
    "exceptions_below",
    "one_llm_span",
    "run_with_init",
    "run_with_opentelemetry_instrument",
    "span_json",
]

WEATHER_QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
_USAGE_ATTRIBUTES = (
    ("input_tokens", A.GEN_AI_USAGE_INPUT_TOKENS),
    ("output_tokens", A.GEN_AI_USAGE_OUTPUT_TOKENS),
    ("cache_read_tokens", A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("cache_write_tokens", A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS),
    ("reasoning_tokens", A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
)


def one_llm_span(capture: SpanCapture) -> Any:
    """The single finished LLM span, a CLIENT span (fails when there are none or several)."""
    spans = capture.of_kind(A.KIND_LLM)
    assert len(spans) == 1, [s.name for s in spans]
    assert spans[0].kind is SpanKind.CLIENT
    return spans[0]


def span_json(span: Any, key: str = A.GEN_AI_OUTPUT_MESSAGES) -> Any:
    """A JSON attribute of a span (the output messages by default), parsed."""
    return json.loads(span.attributes[key])


def assert_question_recorded(span: Any) -> None:
    """The span's input messages start with :data:`WEATHER_QUESTION`'s text."""
    first = span_json(span, A.GEN_AI_INPUT_MESSAGES)[0]
    assert first["parts"][0]["content"] == WEATHER_QUESTION[0]["content"]


def assert_usage(attributes: Mapping[str, Any], usage: Mapping[str, int] | None) -> None:
    """The span's usage equals the server's logged usage (``None``: no usage and no cost)."""
    if usage is None:
        for key in (A.GEN_AI_USAGE_INPUT_TOKENS, A.GEN_AI_USAGE_OUTPUT_TOKENS, A.COST_USD):
            assert key not in attributes, key
        return
    got = {name: attributes.get(key, 0) for name, key in _USAGE_ATTRIBUTES}
    assert got == {name: usage[name] for name, _ in _USAGE_ATTRIBUTES}


def assert_error(span: Any, exc: BaseException) -> None:
    """Status ERROR, ``error.type`` the exception's class, the exception recorded once."""
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == type(exc).__qualname__
    assert [e.name for e in span.events].count("exception") == 1


def assert_no_usage(capture: SpanCapture) -> None:
    """Every LLM span (of a ``no-usage`` request) ended without error, usage or cost."""
    spans = capture.of_kind(A.KIND_LLM)
    assert spans
    for span in spans:
        assert span.status.status_code is StatusCode.UNSET
        assert_usage(span.attributes or {}, None)


def assert_tool_round_trip(ask: Any, answer: Any, call_id: Any, server: Any) -> None:
    """A tool loop of two requests: ``get_weather`` offered on the first, its result
    ``sunny`` sent back under ``call_id`` on the second, each span's usage its request's."""
    assert span_json(ask, A.GEN_AI_TOOL_DEFINITIONS)[0]["function"]["name"] == "get_weather"
    assert span_json(answer, A.GEN_AI_INPUT_MESSAGES)[-1] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": call_id, "response": "sunny"}],
    }
    for span, entry in zip((ask, answer), server.requests, strict=True):
        assert_usage(span.attributes, entry["usage"])


def assert_streamed_reply(capture: SpanCapture, server: Any, text: str) -> Any:
    """The one LLM span of a streamed reply ``text``: marked streamed, time to first chunk set,
    the request's usage, and (content on) ``text`` as the output message. Returns the span."""
    span = one_llm_span(capture)
    assert span.attributes[A.GEN_AI_REQUEST_STREAM] is True
    assert A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in span.attributes
    assert_usage(span.attributes, server.requests[-1]["usage"])
    assert span_json(span) == [
        {"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": text}]}
    ]
    return span


def check_broken_stream(capture: SpanCapture, stream: Any) -> None:
    """Reading a stream that breaks (bad data, connection reset) raises the SDK's error,
    which the span records."""
    with pytest.raises(Exception) as info:
        for _ in stream:
            pass
    assert_error(one_llm_span(capture), info.value)


def check_early_close(
    capture: SpanCapture, stream: Any, close: Callable[[], Any] | None = None
) -> None:
    """Read one item of a sync ``stream`` and close it twice (``close``, by default
    ``stream.close``): the span ends at the first close, once, without error or usage."""
    next(stream)
    assert capture.of_kind(A.KIND_LLM) == []
    close = close or stream.close
    close()
    span = one_llm_span(capture)
    assert span.status.status_code is StatusCode.UNSET
    assert A.STREAM_ABANDONED not in span.attributes
    assert_usage(span.attributes, None)
    close()
    assert len(capture.of_kind(A.KIND_LLM)) == 1


def check_abandoned(capture: SpanCapture, open_stream: Callable[[], Any]) -> None:
    """A stream read once and dropped: garbage collection ends its span, flagged abandoned."""
    stream = open_stream()
    next(stream)
    del stream
    gc.collect()
    assert one_llm_span(capture).attributes[A.STREAM_ABANDONED] is True


@contextmanager
def exceptions_below(
    instrumentor: Any, provider: Any, owner: type, name: str
) -> Iterator[list[BaseException]]:
    """``instrumentor`` re-applied over a wrapper on the sync method ``owner.name`` that
    records the exceptions the SDK raises beneath ours; both removed on exit."""
    seen: list[BaseException] = []

    def below(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        try:
            return wrapped(*args, **kwargs)
        except Exception as exc:
            seen.append(exc)
            raise

    instrumentor.uninstrument()
    original = owner.__dict__[name]
    wrapt.wrap_function_wrapper(owner, name, below)
    try:
        instrumentor.instrument(tracer_provider=provider)
        yield seen
    finally:
        instrumentor.uninstrument()
        setattr(owner, name, original)


_INIT_SCRIPT = """
import json
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import agentops_otel
_exporter = InMemorySpanExporter()
agentops_otel.init(local_store=False, exporters=[_exporter], session_name="provider run")
{code}
agentops_otel.end_session()
agentops_otel.flush(5)
print(json.dumps([{{"name": s.name, "scope": s.instrumentation_scope.name,
                    "attrs": dict(s.attributes)}} for s in _exporter.get_finished_spans()]))
"""


def _run(argv: list[str], env: Mapping[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**env, "AGENTOPS_API_KEY": ""},
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def assert_session_totals(
    attributes: Mapping[str, Any], server: Any, calls: int, priced: bool = True
) -> None:
    """A session's roll-ups equal the fake server's log: ``calls`` requests, their tokens,
    and a cost above zero (``priced``) or none."""
    usage = server.total_usage()
    assert len(server.requests) == calls
    assert attributes[A.LLM_CALLS] == calls
    assert attributes[A.TOTAL_INPUT_TOKENS] == usage["input_tokens"]
    assert attributes[A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"]
    assert (attributes.get(A.TOTAL_COST_USD, 0.0) > 0) is priced


def check_init_run(
    code: str, server: Any, *, module: str, scope: str, calls: int, priced: bool = True
) -> list[dict[str, Any]]:
    """Run ``code`` in a fresh interpreter after ``agentops_otel.init()`` (which must leave
    ``module`` unimported) and check that the instrumentor ``scope`` made one LLM span per
    request and the session's totals equal the server's log; the spans as dicts."""
    server.clear()
    spans = run_with_init(f"import sys\nassert {module!r} not in sys.modules\n{code}")
    llms = [s for s in spans if s["attrs"].get(A.SPAN_KIND) == A.KIND_LLM]
    assert len(llms) == calls
    assert {s["scope"] for s in llms} == {scope}
    assert_session_totals(spans[-1]["attrs"], server, calls, priced)
    return spans


def check_opentelemetry_instrument_run(
    code: str, server: Any, tmp_path: Path, *, calls: int, priced: bool = True
) -> None:
    """Run ``code`` under ``opentelemetry-instrument`` and check the local store: one LLM span
    per request, and the session's totals equal the server's log."""
    server.clear()
    session, spans = run_with_opentelemetry_instrument(code, tmp_path)
    usage = server.total_usage()
    assert session.llm_calls == len(server.requests) == calls
    assert len([s for s in spans if s.agentops_kind == A.KIND_LLM]) == calls
    assert (session.input_tokens, session.output_tokens) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
    assert (session.cost_usd > 0) is priced


def run_with_init(code: str) -> list[dict[str, Any]]:
    """Run ``code`` in a fresh interpreter after ``agentops_otel.init()``; the exported spans
    as ``{"name", "scope", "attrs"}`` dicts (the session span last)."""
    out = _run([sys.executable, "-c", _INIT_SCRIPT.format(code=code)], os.environ)
    return json.loads(out.strip().splitlines()[-1])


def run_with_opentelemetry_instrument(code: str, tmp_path: Path) -> tuple[Any, list[Any]]:
    """Run ``code`` as ``opentelemetry-instrument python app.py`` (zero code: our distro and
    entry points); the one session in the local store and its spans."""
    from agentops_otel.store import Store

    app = tmp_path / "app.py"
    app.write_text(code)
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "AGENTOPS_OTEL_HOME": str(tmp_path / "home"),
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    _run([str(bindir / "opentelemetry-instrument"), sys.executable, str(app)], env, tmp_path)
    with Store.open(tmp_path / "home" / "traces.db") as store:
        (session,) = store.list_sessions(limit=10)
        return session, store.session_spans(session.id)
