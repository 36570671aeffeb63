"""One accounting table run against every consumer: the span processor's session roll-ups, the
local store (its writer's session totals, the CLI's ``sessions --json``, the dashboard's
``/api/sessions``), and the ClickHouse reader over every table shape. Each case says what the
session must add up to; every consumer must agree with it, number for number."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _stores import SHAPES, clickhouse_store, sqlite_store
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.testclient import TestClient

from agentops_otel import accounting, cli
from agentops_otel import semconv as A
from agentops_otel.dashboard._app import create_app
from agentops_otel.genai import start_llm_call
from agentops_otel.pricing import cost_for
from agentops_otel.spans import end_span, start_span
from agentops_otel.store import StoreReader, open_reader
from agentops_otel.testing.spans import SpanCapture

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass(frozen=True)
class Expected:
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    errors: int


class Run:
    """Builds one session's spans with our real span helpers, GenAI helper and processor."""

    def __init__(self, capture: SpanCapture) -> None:
        self.tracer = capture.provider.get_tracer("accounting-test")
        self.foreign = capture.provider.get_tracer("someone-else")

    @contextmanager
    def span(self, kind: str, name: str, fail: bool = False) -> Iterator[Any]:
        span = start_span(self.tracer, kind, name)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield span
        finally:
            otel_context.detach(token)
            end_span(span, RuntimeError(f"{name} failed") if fail else None)

    def llm(
        self,
        model: str,
        inp: int,
        out: int,
        *,
        cache_read: int = 0,
        cache_write: int = 0,
        reasoning: int = 0,
        fail: bool = False,
        end: bool = True,
    ) -> Any:
        call = start_llm_call(
            self.tracer,
            operation=A.OP_CHAT,
            provider="openai",
            model=model,
            fingerprint=(model, inp, out, id(self)),
        )
        assert call is not None
        if fail:
            call.fail(RuntimeError("the provider said 500"))
        else:
            call.set_response(model=model)
            call.set_usage(
                inp, out, cache_read=cache_read, cache_write=cache_write, reasoning=reasoning
            )
        if end:
            call.end()
        return call

    def foreign_llm(self, model: str, attributes: dict[str, Any]) -> None:
        """Another instrumentation's model call (no agentops kind, no price)."""
        span = self.foreign.start_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_REQUEST_MODEL: model,
                **attributes,
            },
        )
        span.end()


def price(model: str, inp: int, out: int, cache_read: int = 0, cache_write: int = 0) -> float:
    cost = cost_for(
        "openai",
        model,
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    assert cost is not None, model
    return cost.total_usd


def nested_agents(run: Run) -> Expected:
    with run.span(A.KIND_AGENT, "planner"):
        run.llm("gpt-4o", 100, 20)
        with run.span(A.KIND_AGENT, "researcher"), run.span(A.KIND_OPERATION, "search"):
            run.llm("gpt-4o-mini", 300, 40)
    return Expected(2, 400, 60, price("gpt-4o", 100, 20) + price("gpt-4o-mini", 300, 40), 0)


def failing_tool(run: Run) -> Expected:
    """A tool fails; the error propagates through its agent and the workflow."""
    with pytest.raises(RuntimeError), run.span(A.KIND_WORKFLOW, "inbox", fail=True):
        with run.span(A.KIND_AGENT, "scheduler", fail=True):
            run.llm("gpt-4o-mini", 50, 5)
            with run.span(A.KIND_TOOL, "calendar", fail=True):
                raise RuntimeError("calendar down")
    return Expected(1, 50, 5, price("gpt-4o-mini", 50, 5), 1)


def failing_llm(run: Run) -> Expected:
    """A failed model call counts as a call and as one error; its agent's failure does not."""
    with pytest.raises(RuntimeError), run.span(A.KIND_AGENT, "summarizer", fail=True):
        run.llm("gpt-4o", 0, 0, fail=True)
        raise RuntimeError("no summary")
    return Expected(1, 0, 0, 0.0, 1)


def cached_and_reasoning(run: Run) -> Expected:
    """Cache reads and writes are part of input, reasoning part of output: each charged once."""
    with run.span(A.KIND_AGENT, "thinker"):
        run.llm("o3-mini", 1000, 300, cache_read=400, cache_write=100, reasoning=200)
    return Expected(1, 1000, 300, price("o3-mini", 1000, 300, 400, 100), 0)


def unpriced_model(run: Run) -> Expected:
    """An unknown model: counted, its tokens summed, no cost (never $0 by mistake elsewhere)."""
    with run.span(A.KIND_AGENT, "local"):
        run.llm("my-private-model-7b", 70, 7)
        run.llm("gpt-4o-mini", 10, 1)
    return Expected(2, 80, 8, price("gpt-4o-mini", 10, 1), 0)


def child_after_parent(run: Run) -> Expected:
    """A call that ends after its agent: the session (still open) counts it."""
    with run.span(A.KIND_AGENT, "fire-and-forget"):
        late = run.llm("gpt-4o-mini", 30, 3, end=False)
    late.end()
    return Expected(1, 30, 3, price("gpt-4o-mini", 30, 3), 0)


def foreign_spans(run: Run) -> Expected:
    """Another instrumentation's calls: priced from the table (cache writes included); one with
    broken counts is a call whose usage is flagged and never summed."""
    with run.span(A.KIND_AGENT, "mixed"):
        run.foreign_llm(
            "gpt-4o",
            {
                A.GEN_AI_USAGE_INPUT_TOKENS: 200,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 50,
                A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 80,
                A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 40,
            },
        )
        run.foreign_llm(
            "gpt-4o", {A.GEN_AI_USAGE_INPUT_TOKENS: -5, A.GEN_AI_USAGE_OUTPUT_TOKENS: "lots"}
        )
        run.foreign_llm(
            "gpt-4o", {A.GEN_AI_USAGE_INPUT_TOKENS: 10**12, A.GEN_AI_USAGE_OUTPUT_TOKENS: 1}
        )
        # the only bad count unreadable (a reader that drops it still flags the call)
        run.foreign_llm(
            "gpt-4o", {A.GEN_AI_USAGE_INPUT_TOKENS: 7, A.GEN_AI_USAGE_OUTPUT_TOKENS: "1e999"}
        )
    return Expected(4, 200, 50, price("gpt-4o", 200, 50, 80, 40), 0)


def foreign_trace(run: Run) -> Expected:
    """Another instrumentation's trace with no session of ours: only the stores add it up (it is
    grouped by trace), pricing what the sender left unpriced."""
    root = run.foreign.start_span("handle request")
    with trace.use_span(root, end_on_exit=True):
        root.set_status(Status(StatusCode.ERROR, "request failed"))
        run.foreign_llm(
            "claude-sonnet-4-5",
            {
                A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
                A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 300,
                A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 200,
            },
        )
        failed = run.foreign.start_span(
            "execute_tool lookup", attributes={A.SPAN_KIND: A.KIND_TOOL}
        )
        failed.set_status(Status(StatusCode.ERROR, "lookup failed"))
        failed.end()
    cost = cost_for(
        "anthropic",
        "claude-sonnet-4-5",
        input_tokens=1000,
        output_tokens=100,
        cache_read_tokens=300,
        cache_write_tokens=200,
    )
    assert cost is not None
    return Expected(1, 1000, 100, cost.total_usd, 1)


CASES: dict[str, Callable[[Run], Expected]] = {
    f.__name__: f
    for f in (
        nested_agents,
        failing_tool,
        failing_llm,
        cached_and_reasoning,
        unpriced_model,
        child_after_parent,
        foreign_spans,
    )
}
# Cases with no session of ours: their session id in the stores is their trace id.
TRACE_CASES: dict[str, Callable[[Run], Expected]] = {foreign_trace.__name__: foreign_trace}


@pytest.fixture(scope="module")
def table() -> tuple[list[ReadableSpan], dict[str, Expected]]:
    """Every case as its own session; the finished spans and what each session must show."""
    capture = SpanCapture()
    expected = {}
    for name, case in CASES.items():
        run = Run(capture)
        with capture.session(**{A.SESSION_ID: name, A.SESSION_NAME: name}):
            expected[name] = case(run)
    for case in TRACE_CASES.values():
        want = case(Run(capture))
        expected[format(capture.spans[-1].context.trace_id, "032x")] = want
    spans = capture.spans
    capture.shutdown()
    return spans, expected


def _numbers(row: Any) -> Expected:
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
    return Expected(
        int(get("llm_calls")),
        int(get("input_tokens")),
        int(get("output_tokens")),
        float(get("cost_usd")),
        int(get("errors")),
    )


def _agree(found: Expected, want: Expected, where: str) -> None:
    assert (found.llm_calls, found.input_tokens, found.output_tokens, found.errors) == (
        want.llm_calls,
        want.input_tokens,
        want.output_tokens,
        want.errors,
    ), (where, found, want)
    assert math.isclose(found.cost_usd, want.cost_usd, rel_tol=1e-9, abs_tol=1e-12), (
        where,
        found,
        want,
    )


@pytest.mark.parametrize("case", CASES)
def test_processor_rollups(table: Any, case: str) -> None:
    spans, expected = table
    root = next(
        s
        for s in spans
        if (s.attributes or {}).get(A.SPAN_KIND) == A.KIND_SESSION
        and s.attributes[A.SESSION_ID] == case
    )
    attrs = root.attributes
    found = Expected(
        attrs[A.LLM_CALLS],
        attrs[A.TOTAL_INPUT_TOKENS],
        attrs[A.TOTAL_OUTPUT_TOKENS],
        attrs[A.TOTAL_COST_USD],
        attrs[A.ERRORS],
    )
    _agree(found, expected[case], "processor")


@pytest.fixture(scope="module")
def sqlite_path(table: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sqlite_store(tmp_path_factory.mktemp("accounting") / "traces.db", table[0])


def _all_sessions(store: StoreReader) -> dict[str, Expected]:
    return {row.id: _numbers(row) for row in store.list_sessions(limit=100)}


@pytest.mark.parametrize("kind", ["sqlite", *SHAPES])
def test_store_session_totals(table: Any, sqlite_path: Path, kind: str) -> None:
    spans, expected = table
    store = open_reader(str(sqlite_path)) if kind == "sqlite" else clickhouse_store(kind, spans)
    with store:
        found = _all_sessions(store)
        for case, want in expected.items():
            _agree(found[case], want, kind)
            # the session's own spans say the same: LLM rows sum to the totals
            rows = store.session_spans(case)
            calls = [accounting.call_of(r.attributes, r.status_code == "ERROR") for r in rows]
            totals = accounting.Totals()
            for call in calls:
                totals.add(call)
            _agree(
                _numbers(
                    {
                        "llm_calls": totals.llm_calls,
                        "input_tokens": totals.input_tokens,
                        "output_tokens": totals.output_tokens,
                        "cost_usd": sum(
                            r.cost_usd or 0.0 for r in rows if r.agentops_kind == A.KIND_LLM
                        ),
                        "errors": totals.errors,
                    }
                ),
                want,
                f"{kind} spans",
            )


def test_cli_sessions_json(sqlite_path: Path, table: Any) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["sessions", "--json", "--store", str(sqlite_path), "--limit", "100"]) in (
            0,
            None,
        )
    found = {row["id"]: _numbers(row) for row in json.loads(out.getvalue())}
    for case, want in table[1].items():
        _agree(found[case], want, "cli")


def test_dashboard_api(sqlite_path: Path, table: Any) -> None:
    client = TestClient(create_app(str(sqlite_path)), base_url="http://127.0.0.1")
    response = client.get("/api/sessions")
    assert response.status_code == 200, response.text
    found = {row["id"]: _numbers(row) for row in response.json()}
    for case, want in table[1].items():
        _agree(found[case], want, "dashboard")


def test_invalid_usage_is_flagged_on_the_stored_span(sqlite_path: Path) -> None:
    with open_reader(str(sqlite_path)) as store:
        rows = [r for r in store.session_spans("foreign_spans") if r.agentops_kind == "llm"]
    flagged = [r for r in rows if r.attributes.get(A.USAGE_INVALID)]
    assert len(flagged) == 3
    assert all(r.input_tokens is None and r.cost_usd is None for r in flagged)
    assert sorted(key for r in flagged for key in r.attributes[A.USAGE_INVALID]) == sorted(
        [
            A.GEN_AI_USAGE_INPUT_TOKENS,
            A.GEN_AI_USAGE_OUTPUT_TOKENS,
            A.GEN_AI_USAGE_INPUT_TOKENS,
            A.GEN_AI_USAGE_OUTPUT_TOKENS,
        ]
    )


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (12, 12),
        ("12", 12),
        (12.0, 12),
        (None, None),
        ("", None),
        (-1, "bad"),
        (1.5, "bad"),
        ("abc", "bad"),
        ("12abc", "bad"),
        (True, "bad"),
        (float("inf"), "bad"),
        ("1e999", "bad"),
        ("NaN", "bad"),
        (10**12, "bad"),
        ([1], "bad"),
    ],
)
def test_token_count(value: Any, count: Any) -> None:
    found = accounting.token_count(value)
    if count == "bad":
        assert found is not None and not isinstance(found, int), found
    else:
        assert found == count


def test_status_without_error_kind_is_not_an_error() -> None:
    call = accounting.call_of({A.SPAN_KIND: A.KIND_AGENT}, failed=True)
    assert call.errors == 0
    assert accounting.call_of({A.SPAN_KIND: A.KIND_TOOL}, failed=True).errors == 1
    duplicate = {
        A.GEN_AI_OPERATION_NAME: "chat",
        A.LLM_DUPLICATE: True,
        A.GEN_AI_USAGE_INPUT_TOKENS: 5,
    }
    assert accounting.call_of(duplicate, failed=False).llm_calls == 0
