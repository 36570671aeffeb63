"""One data set in every store: the local SQLite store (written by its own writer) and ClickHouse
tables written the way the Collector's clickhouseexporter writes them (in-process chDB), in Map,
JSON and legacy mode, with or without the sessions view. Shared by the store and page tests."""

from __future__ import annotations

import functools
import itertools
import json
import time
from pathlib import Path
from typing import Any

from _dashboard_support import json_request, json_span, run_demo, unpriced_request
from opentelemetry.sdk.trace import ReadableSpan

from agentops_otel import _otlp_codec as _otlp
from agentops_otel import semconv as A
from agentops_otel.store import StoreWriter
from agentops_otel.store._clickhouse import ClickHouseStore, Location, views_ddl
from agentops_otel.testing import clickhouse as exporter

DAY_NS = 86_400 * 10**9
# Store kinds: (mode, Map mode's index kind, with the sessions view). Every table the exporter
# creates (Map mode with the indexes it picks for this engine, text indexes on chDB's 26.x, or
# with the bloom filters it creates before ClickHouse 26.2; JSON mode; the older schema), each
# with and without the view.
CLICKHOUSE_KINDS = {
    f"clickhouse-{mode}{'-bloom' * (index == 'bloom')}{'-view' * view}": (mode, index, view)
    for mode, index in (("map", None), ("map", "bloom"), ("json", None), ("legacy", None))
    for view in (False, True)
}
# One kind per way of reading (schema × view) for the assertions that are the same SQL whatever
# the indexes: Map mode's index kinds differ only in how ClickHouse plans a query, so the
# bloom-filter tables (and the older schema with the view) are read by the session pages only.
SHAPES = (
    "clickhouse-json",
    "clickhouse-json-view",
    "clickhouse-legacy",
    "clickhouse-map",
    "clickhouse-map-view",
)
_databases = itertools.count()


@functools.cache
def chdb_client() -> Any:
    """The process's one chDB engine (in memory); each store gets a database of its own."""
    import clickhouse_connect

    return clickhouse_connect.get_client(dsn="chdb://memory")


def decode(payload: dict[str, Any]) -> list[ReadableSpan]:
    return _otlp.decode_json(json.dumps(payload).encode())


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def _session(
    number: int,
    start: int,
    *,
    tags: tuple[str, ...] = (),
    state: str | None = "Success",
    model: str = "gpt-4o-mini",
    agent: str = "planner",
    cost: float | None = 0.001,
    prompt: str = "",
    name: str | None = None,
    calls: int = 1,
) -> list[dict[str, Any]]:
    """A session: its root span (absent while it runs), an agent, ``calls`` LLM calls."""
    trace = f"{number + 0x1000:032x}"
    sid = f"sess-{number:04d}"
    base = {A.SESSION_ID: sid}
    spans = []
    if state is not None:
        root = {
            **base,
            A.SPAN_KIND: A.KIND_SESSION,
            A.SESSION_NAME: name or f"job {number}",
            A.SESSION_END_STATE: state,
        }
        if tags:
            root[A.SESSION_TAGS] = list(tags)
        spans.append(
            json_span(
                trace, 1, f"session job {number}", root, start_ns=start, end_ns=start + 5 * 10**9
            )
        )
    spans.append(
        json_span(
            trace,
            2,
            f"invoke_agent {agent}",
            {**base, A.SPAN_KIND: A.KIND_AGENT, A.AGENT_NAME: agent},
            parent=1,
            start_ns=start + 10**6,
            end_ns=start + 4 * 10**9,
        )
    )
    for call in range(calls):
        attrs = {
            **base,
            A.SPAN_KIND: A.KIND_LLM,
            A.AGENT_NAME: agent,
            A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_REQUEST_MODEL: model,
            A.GEN_AI_USAGE_INPUT_TOKENS: 100 + number,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 10 + call,
            A.GEN_AI_INPUT_MESSAGES: _messages("user", prompt or f"question {number}"),
            A.GEN_AI_OUTPUT_MESSAGES: _messages("assistant", f"answer {number}"),
        }
        if cost is not None:
            attrs[A.COST_USD] = cost
        spans.append(
            json_span(
                trace,
                10 + call,
                f"chat {model}",
                attrs,
                parent=2,
                start_ns=start + (call + 1) * 10**7,
                end_ns=start + (call + 2) * 10**7,
            )
        )
    return spans


def dataset(now: int | None = None) -> list[ReadableSpan]:
    """Sessions over 400 days (so every look-back window is used), in each state, with tags,
    three models, two agents, calls priced by the sender and calls left to the store to price,
    a running session, a session without agentops ids, words to search for, and HTML."""
    now = now or time.time_ns()
    spans: list[dict[str, Any]] = []
    ages = [0, 1, 2, 3, 5, 8, 12, 20, 30, 45, 60, 90, 150, 240, 400]
    for i, hours in enumerate(ages * 4):
        start = now - hours * DAY_NS // 24 - i * 10**9 - (DAY_NS * 3 if i >= 30 else 0)
        spans += _session(
            i,
            start,
            tags=("nightly",) if i % 3 == 0 else ("adhoc", "eu") if i % 3 == 1 else (),
            state=("Success", "Fail", "Indeterminate")[i % 3] if i != 7 else None,
            model=("gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5")[i % 3],
            agent=("planner", "writer")[i % 2],
            cost=None if i % 5 == 0 else 0.0001 * (i + 1),
            prompt=f"please refund order {i} invoice" if i % 4 == 0 else f"weather in city {i}",
            calls=1 + i % 3,
        )
    # a session without agentops ids: grouped by trace, named after its root span
    trace = "f" * 32
    spans.append(
        json_span(trace, 1, "handle request", {}, start_ns=now - 10**10, end_ns=now - 9 * 10**9)
    )
    spans.append(
        json_span(
            trace,
            2,
            "chat gpt-4o",
            {
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 1000,
            },
            parent=1,
            start_ns=now - 10**10 + 10**6,
            end_ns=now - 9 * 10**9 - 10**6,
        )
    )
    # HTML in names, keys and prompts
    html = "<img src=x onerror=alert('xss-img')>"
    spans += _session(900, now - 7 * 10**9, name=html, prompt=f"Summarise {html}", agent=html)
    return decode(json_request(spans)) + decode(unpriced_request())


def demo_spans(home: Path) -> list[ReadableSpan]:
    """The CLI demo's session (the openai SDK against the fake LLM server), as OTLP/JSON."""
    return decode(run_demo(home))


def sqlite_store(path: Path, spans: list[ReadableSpan]) -> Path:
    writer = StoreWriter(path)
    for at in range(0, len(spans), 50):  # batches, as the export worker writes them
        writer.write(spans[at : at + 50])
    writer.close()
    return path


def clickhouse_store(kind: str, spans: list[ReadableSpan]) -> ClickHouseStore:
    """A fresh database holding ``spans`` as the exporter writes them; for a ``-view`` kind the
    view is applied halfway, so it is filled both by its backfill and by live inserts."""
    mode, index, view = CLICKHOUSE_KINDS[kind]
    client = chdb_client()
    database = f"t{next(_databases)}_{kind.replace('-', '_')}"
    exporter.create_tables(client, database, mode=mode, index=index)
    where = Location("chdb://memory", database, "otel_traces")
    half = len(spans) // 2 if view else len(spans)
    for at in range(0, half, 50):
        exporter.insert(client, database, spans[at : min(at + 50, half)], mode=mode)
    if view:
        for statement in views_ddl(ClickHouseStore(client, where)):
            client.command(statement)
        for at in range(half, len(spans), 50):
            exporter.insert(client, database, spans[at : at + 50], mode=mode)
    return ClickHouseStore(client, where)
