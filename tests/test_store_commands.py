"""The CLI's commands and the dashboard's pages over the local store and every ClickHouse table the
Collector's clickhouseexporter creates (``_stores.CLICKHOUSE_KINDS``), run in-process (``main``,
Starlette's test client) on the process's one chDB engine.

Two data sets: the store tests' sessions, whose commands print the same in every store; and a
table of unreadable values (``abc``, ``12abc``, ``inf``, ``1e999``, ``NaN``, empty strings,
non-JSON and non-string tags), each on the keys of one session, next to a good session: no value
fails a command or a page, each unreadable value is left out with one debug log per key, and
the good session reads the same everywhere.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from _dashboard_support import UNPRICED_SESSION, json_request, json_span
from _stores import CLICKHOUSE_KINDS, SHAPES, clickhouse_store, dataset, decode, sqlite_store
from opentelemetry.sdk.trace import ReadableSpan
from starlette.testclient import TestClient

from agentops_otel import semconv as A
from agentops_otel.cli import main
from agentops_otel.dashboard._app import create_app
from agentops_otel.store import _rows

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _wide_plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide enough for the sessions table's tag column (110+), no colour."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """One command, in-process: its output; it must succeed."""
    status = main(list(args))
    out, err = capsys.readouterr()
    assert status == 0, (args, err)
    return out


def _strict_json(text: str) -> Any:
    """JSON as every parser reads it: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


def _url(database: str) -> str:
    return f"chdb://memory?database={database}"


def _stores(spans: list[ReadableSpan], local: Path, kinds: list[str]) -> dict[str, str]:
    """Where each kind's copy of ``spans`` is: the local store's path, ClickHouse URLs."""
    found = {"sqlite": str(sqlite_store(local, spans))}
    for kind in kinds:
        found[kind] = _url(clickhouse_store(kind, spans).where.database)
    return found


# --- the session pages over every table variant -------------------------------------------------
IMPLICIT = "f" * 32  # the session without agentops ids
SHOWN = [IMPLICIT, UNPRICED_SESSION, "sess-0007"]  # no ids, priced by the store, running


@pytest.fixture(scope="module")
def every_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _stores(
        dataset(), tmp_path_factory.mktemp("sqlite") / "traces.db", sorted(CLICKHOUSE_KINDS)
    )


def _exported(text: str) -> dict[tuple[str, str], Any]:
    """An export's spans as ``{(span id, attribute key): value}``."""
    found = {}
    for resource in _strict_json(text)["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for item in span["attributes"]:
                    found[span["spanId"], item["key"]] = item["value"]
    return found


@pytest.mark.parametrize("kind", sorted(CLICKHOUSE_KINDS))
def test_commands_print_the_same_over_every_table(
    every_store: dict[str, str], kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    local, store = every_store["sqlite"], every_store[kind]
    table = run(capsys, "sessions", "--limit", "100", "--store", store)
    assert table == run(capsys, "sessions", "--limit", "100", "--store", local)
    assert "adhoc, eu" in table  # the tags column of a wide terminal
    listed = _strict_json(run(capsys, "sessions", "--json", "--limit", "100", "--store", store))
    expected = _strict_json(run(capsys, "sessions", "--json", "--limit", "100", "--store", local))
    assert [{**s, "cost_usd": 0} for s in listed] == [{**s, "cost_usd": 0} for s in expected]
    assert [s["cost_usd"] for s in listed] == pytest.approx([s["cost_usd"] for s in expected])
    for session in SHOWN:
        for command in (["show", session], ["replay", "--no-interactive", session]):
            assert run(capsys, *command, "--store", store) == run(
                capsys, *command, "--store", local
            ), command
        found = _exported(run(capsys, "export", session, "--store", store))
        wanted = _exported(run(capsys, "export", session, "--store", local))
        assert found.keys() == wanted.keys()
        declared = A.INT_KEYS | A.FLOAT_KEYS | A.BOOL_KEYS  # typed by key, as sent
        assert {k: v for k, v in found.items() if k[1] in declared} == {
            k: v for k, v in wanted.items() if k[1] in declared
        }


# --- unreadable values ----------------------------------------------------------------------------
BAD = ["abc", "12abc", "inf", "1e999", "NaN", ""]
ROOT_KEYS = (
    A.LLM_CALLS,
    A.ERRORS,
    A.TOTAL_COST_USD,
    A.TOTAL_INPUT_TOKENS,
    A.TOTAL_OUTPUT_TOKENS,
    A.LOOP_DETECTED,
    A.BUDGET_LIMIT_USD,
)
CALL_KEYS = (
    A.GEN_AI_USAGE_INPUT_TOKENS,
    A.COST_USD,
    A.GEN_AI_REQUEST_TEMPERATURE,
    A.GEN_AI_REQUEST_STREAM,
)
TAGS = {"tags-mixed": '[1,{"a":2},null]', "tags-text": "[abc", "tags-ints": [1, 2]}
BAD_SESSIONS = [*(f"bad-{i}" for i in range(len(BAD))), *TAGS, "good"]


def _bad_session(
    number: int, sid: str, start: int, root: dict[str, Any], call: dict[str, Any]
) -> list[dict[str, Any]]:
    trace = f"{number + 0xB00:032x}"
    return [
        json_span(
            trace,
            1,
            f"session {sid}",
            {
                A.SESSION_ID: sid,
                A.SPAN_KIND: A.KIND_SESSION,
                A.SESSION_END_STATE: "Success",
                **root,
            },
            start_ns=start,
            end_ns=start + 10**9,
        ),
        json_span(
            trace,
            2,
            "chat gpt-4o",
            {
                A.SESSION_ID: sid,
                A.SPAN_KIND: A.KIND_LLM,
                A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
                A.GEN_AI_PROVIDER_NAME: "openai",
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_USAGE_OUTPUT_TOKENS: 5,
                **call,
            },
            parent=1,
            start_ns=start + 10**6,
            end_ns=start + 10**8,
        ),
        json_span(
            trace,
            3,
            "tool lookup",
            {
                A.SESSION_ID: sid,
                A.SPAN_KIND: A.KIND_TOOL,
                A.GEN_AI_TOOL_CALL_ARGUMENTS: "{}",
                A.LLM_CALLS: root.get(A.LLM_CALLS, 0),
            },
            parent=1,
            start_ns=start + 2 * 10**8,
            end_ns=start + 3 * 10**8,
        ),
    ]


def bad_values() -> list[ReadableSpan]:
    """One session per unreadable value (on every typed key of its root and LLM call), one
    per kind of odd tags, and a good session whose doubles are whole (``0.0``)."""
    now = time.time_ns()
    spans = []
    for number, value in enumerate(BAD):
        spans += _bad_session(
            number,
            f"bad-{number}",
            now - (number + 10) * 10**10,
            dict.fromkeys(ROOT_KEYS, value),
            dict.fromkeys(CALL_KEYS, value),
        )
    for number, (sid, tags) in enumerate(TAGS.items(), start=20):
        spans += _bad_session(
            number,
            sid,
            now - number * 10**10,
            {A.SESSION_TAGS: tags},
            {A.GEN_AI_USAGE_INPUT_TOKENS: 10},
        )
    spans += _bad_session(
        99,
        "good",
        now - 10**10,
        {A.TOTAL_COST_USD: 0.0, A.LLM_CALLS: 1, A.SESSION_TAGS: ["ok"]},
        {A.GEN_AI_USAGE_INPUT_TOKENS: 10, A.COST_USD: 0.0, A.GEN_AI_REQUEST_TEMPERATURE: 1.0},
    )
    return decode(json_request(spans))


@pytest.fixture(scope="module")
def bad_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _stores(bad_values(), tmp_path_factory.mktemp("bad") / "traces.db", list(SHAPES))


@pytest.fixture(params=["sqlite", *SHAPES])
def bad_store(
    request: pytest.FixtureRequest, bad_stores: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setattr(_rows, "_skipped", set())  # a fresh process: each key logs once
    return bad_stores[request.param]


def _skip_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "skipped unreadable" in r.getMessage()]


def test_unreadable_values_never_fail_a_command(
    bad_store: str, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentops_otel.store")
    table = run(capsys, "sessions", "--store", bad_store)
    assert all(sid[:8] in table for sid in BAD_SESSIONS), table
    listed = {
        s["id"]: s for s in _strict_json(run(capsys, "sessions", "--json", "--store", bad_store))
    }
    assert sorted(listed) == sorted(BAD_SESSIONS)
    good = listed["good"]
    assert (good["llm_calls"], good["input_tokens"], good["output_tokens"]) == (1, 10, 5)
    assert good["cost_usd"] == 0.0 and good["tags"] == ["ok"]
    assert listed["tags-mixed"]["tags"] in (['[1,{"a":2},null]'], [])  # as sent, or no strings
    assert listed["tags-ints"]["tags"] == []  # strings only
    for number in range(len(BAD)):
        session = listed[f"bad-{number}"]
        assert session["llm_calls"] == 1 and session["input_tokens"] == 0, session
    clickhouse = bad_store.startswith("chdb:")
    for sid in BAD_SESSIONS:
        run(capsys, "show", sid, "--store", bad_store)
        run(capsys, "replay", "--no-interactive", sid, "--store", bad_store)
        spans = _exported(run(capsys, "export", sid, "--store", bad_store))
        call = {key: value for (span, key), value in spans.items() if span == f"{2:016x}"}
        value = BAD[int(sid[4:])] if sid.startswith("bad-") else None
        # an unreadable count makes the call's usage invalid (an empty one is absent)
        invalid = {"arrayValue": {"values": [{"stringValue": A.GEN_AI_USAGE_INPUT_TOKENS}]}}
        assert (call.get(A.USAGE_INVALID) == invalid) == bool(value), (sid, call)
        if clickhouse:  # each value as its key's declared type, the unreadable ones left out
            assert not set(CALL_KEYS) & call.keys() if value is not None else call
            for (_, key), typed in spans.items():
                kind = (
                    "intValue"
                    if key in A.INT_KEYS
                    else "doubleValue"
                    if key in A.FLOAT_KEYS
                    else "boolValue"
                    if key in A.BOOL_KEYS
                    else None
                )
                assert kind is None or list(typed) == [kind], (sid, key, typed)
    good = _exported(run(capsys, "export", "good", "--store", bad_store))
    assert good[f"{1:016x}", A.TOTAL_COST_USD] == {"doubleValue": 0.0}  # a double stays one
    assert good[f"{2:016x}", A.COST_USD] == {"doubleValue": 0.0}
    logs = _skip_logs(caplog)
    assert sum(A.SESSION_TAGS in m for m in logs) == 1, logs
    if clickhouse:
        for key in (*ROOT_KEYS, *CALL_KEYS):
            assert sum(f"values of {key} " in m for m in logs) == 1, (key, logs)


def test_unreadable_values_never_fail_a_page(bad_store: str) -> None:
    with TestClient(create_app(bad_store), base_url="http://127.0.0.1") as client:
        pages = ["/", "/api/sessions", "/overview?range=24h", "/?tag=ok", "/?q=lookup"]
        for sid in BAD_SESSIONS:
            pages += [
                f"/sessions/{sid}",
                f"/sessions/{sid}/replay",
                *(f"/sessions/{sid}/spans/{n:016x}" for n in (1, 2, 3)),
            ]
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, (page, response.text[:300])
        listed = client.get("/api/sessions").json()
        assert sorted(s["id"] for s in listed) == sorted(BAD_SESSIONS)
        assert [s["id"] for s in client.get("/api/sessions?tag=ok").json()] == ["good"]


def test_export_spells_non_finite_doubles_as_the_json_mapping_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Doubles are OTLP values too: the protobuf JSON mapping writes them as strings."""
    doubles = {"x.high": float("inf"), "x.low": float("-inf"), "x.nan": float("nan")}
    store = str(
        sqlite_store(
            tmp_path / "traces.db",
            decode(
                json_request(
                    [
                        json_span(
                            "d" * 32,
                            1,
                            "tool t",
                            {A.SESSION_ID: "doubles", A.SPAN_KIND: A.KIND_TOOL, **doubles},
                        )
                    ]
                )
            ),
        )
    )
    exported = _exported(run(capsys, "export", "doubles", "--store", store))
    assert {key: value for (_, key), value in exported.items() if key in doubles} == {
        "x.high": {"doubleValue": "Infinity"},
        "x.low": {"doubleValue": "-Infinity"},
        "x.nan": {"doubleValue": "NaN"},
    }
