"""The store writer's cheaper content path (issue 19 item 2, "storecontent") stores and indexes
exactly what it did: the searchable text read through the JSON scanner is the text
``json.loads`` and a walk of every value gave (a span's row in the word index is deleted with
the text recomputed from its stored attributes, so the two must never differ), the store's JSON
is the ``JSONEncoder``'s, and a batch written at once (rows prepared first, inserted together,
session rows folded when written) leaves the rows, totals and index that one span at a time
leaves."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from test_storecost import _index  # the words the index holds for each span, in order

from agentops_otel import semconv as A
from agentops_otel.store import StoreWriter
from agentops_otel.store._content import CONTENT_KEYS, dumps, split, stored_text, unindex_spans
from agentops_otel.store._search import SEARCH_CHARS, SEARCHED_KEYS, search_text, words_of

NOW = time.time_ns() - 3_600 * 10**9


def _reference_text(attrs: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> str:
    """The searchable text as defined before the scanner: ``json.loads`` of a value that looks
    like JSON (kept as it is when it is not), then every string leaf, in order; a lone
    surrogate (no UTF-8 form) escaped as ``\\ud800``."""

    def leaves(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, (dict, list, tuple)):
            for item in value.values() if isinstance(value, dict) else value:
                yield from leaves(item)
        elif not isinstance(value, (int, float, type(None))):
            yield str(value)

    def decoded(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(("[", "{")):
            try:
                return json.loads(value)
            except ValueError:
                pass
        return value

    sources = [attrs, *(event.get("attributes") or {} for event in events)]
    values = [decoded(s[k]) for s in sources for k in SEARCHED_KEYS if s.get(k) is not None]
    text = "\n".join(text for value in values for text in leaves(value))[:SEARCH_CHARS]
    return text.encode("utf-8", "backslashreplace").decode()


def _messages(*parts: dict[str, Any], role: str = "user", **dump: Any) -> str:
    return json.dumps([{"role": role, "parts": list(parts)}], **dump)


_TOOL_CALL = {
    "type": "tool_call",
    "id": "call_1",
    "name": "lookup",
    "arguments": {"city": "Zürich", "days": 3, "deep": {"a": [{"b": ["leaf", 1.5, None]}]}},
}
# Values of the searched keys, each as the shapes a span may carry.
VALUES: dict[str, Any] = {
    "text message": _messages({"type": "text", "content": "refund the invoice"}),
    "compact, non-ASCII kept": _messages(
        {"type": "text", "content": "Zürich, 東京 and 😀"},
        ensure_ascii=False,
        separators=(",", ":"),
    ),
    "non-ASCII escaped": _messages({"type": "text", "content": "Zürich, 東京 and 😀"}),
    "escapes": _messages({"type": "text", "content": 'a "quote"\n\ttab \\ slash / end'}),
    "escaped slash and lone surrogate": '[{"content": "a\\/b \\ud800 c"}]',
    "tool call and reply": json.dumps(
        [
            {"role": "assistant", "parts": [_TOOL_CALL], "finish_reason": "tool_calls"},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c", "response": 7}]},
        ]
    ),
    "object of arguments": '{"order": 12, "ok": true, "note": null, "tags": ["a", "b"]}',
    "deep nesting": '[[[[["five"]]], {"k": {"k": {"k": ["deeper"]}}}]]',
    "numbers, booleans, nulls, NaN": '[1, -2.5e3, true, false, null, NaN, Infinity, "x"]',
    "empty containers": '[[], {}, "", [""]]',
    "duplicate keys": '{"a": "first", "b": "middle", "a": "last"}',
    "trailing whitespace": '["kept"] \n',
    "text after the value": '["not"] json',
    "two values": '{"a": "b"}{"c": "d"}',
    "broken": "[broken json",
    "broken object": '{"a": "unterminated}',
    "raw control character": '["a\x01b"]',
    "invalid escape": '["a\\xb"]',
    "plain text": "just some words",
    "looks like JSON after a space": ' ["spaced"]',
    "a JSON string": '"quoted"',
    "empty": "",
    "a list value": ["one", "two", 3, None, ("tuple", True)],
    "an int": 42,
    "a float": 0.5,
    "a bool": True,
    "an object value": object,
    "huge prompt": _messages({"type": "text", "content": "word " * (SEARCH_CHARS // 4)}),
}


@pytest.mark.parametrize("key", [A.GEN_AI_INPUT_MESSAGES, A.OUTPUT, A.SESSION_NAME])
@pytest.mark.parametrize("name", list(VALUES))
def test_the_searchable_text_is_the_decoded_values_text(key: str, name: str) -> None:
    attrs = {A.SPAN_KIND: A.KIND_LLM, key: VALUES[name], A.AGENT_NAME: "planner"}
    text = search_text(attrs, [])
    assert text == _reference_text(attrs, [])
    assert text.endswith("planner") or len(text) == SEARCH_CHARS


def test_the_searchable_text_of_every_shape_together_and_in_events() -> None:
    """All values in one span (several keys) and in its events, cut at SEARCH_CHARS."""
    attrs = dict(zip(SEARCHED_KEYS, VALUES.values(), strict=False))
    events = [
        {"name": "e", "time_ns": 1, "attributes": dict(zip(SEARCHED_KEYS, values, strict=False))}
        for values in (list(VALUES.values())[9:], list(VALUES.values())[18:])
    ] + [{"name": "no attributes", "time_ns": 2, "attributes": None}]
    text = search_text(attrs, events)
    assert text == _reference_text(attrs, events)
    assert "refund the invoice" in text and "Zürich" in text and "first" not in text
    short = {A.INPUT: VALUES["tool call and reply"], A.OUTPUT: VALUES["duplicate keys"]}
    assert search_text(short, []).split("\n") == [
        "assistant", "tool_call", "call_1", "lookup", "Zürich", "leaf", "tool_calls",
        "tool", "tool_call_response", "c", "last", "middle",
    ]  # fmt: skip


def test_the_store_json_is_the_json_encoders() -> None:
    encode = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":")).encode
    values = [
        {"a": 1, "b": [1.5, None, True], "c": {"d": "Zürich 😀"}, "e": ("t", 2)},
        {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
        {"inf": float("inf"), "nan": float("nan"), "big": 10**30, "obj": object},
        [{"name": "event", "time_ns": 1, "attributes": {"x": 'quote " and \n'}}],
        "a string",
        [],
    ]
    for value in values:
        assert dumps(value) == encode(value)


def test_split_keeps_every_key_in_order() -> None:
    attrs = {
        A.SPAN_KIND: A.KIND_LLM,
        A.GEN_AI_OUTPUT_MESSAGES: VALUES["text message"],
        A.SESSION_NAME: "named",
        A.GEN_AI_INPUT_MESSAGES: VALUES["escapes"],
        A.COST_USD: 1e-05,
    }
    others, content = split(attrs)
    assert list(json.loads(others)) == [A.SPAN_KIND, A.SESSION_NAME, A.COST_USD]
    assert content is not None
    assert list(json.loads(content)) == [
        k for k in CONTENT_KEYS if k in (A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES)
    ]
    assert {**json.loads(others), **json.loads(content)} == attrs
    assert split({A.SPAN_KIND: A.KIND_AGENT}) == (dumps({A.SPAN_KIND: A.KIND_AGENT}), None)


def _record(span: int, session: int, trace: int = 7, **attrs: Any) -> tuple:
    start = NOW + span * 10**6
    attrs.setdefault(A.SPAN_KIND, A.KIND_LLM)
    attrs.setdefault(A.SESSION_ID, f"s-{session}")
    if attrs[A.SPAN_KIND] == A.KIND_LLM:
        attrs.setdefault(A.GEN_AI_REQUEST_MODEL, f"model-{span % 2}")
        attrs.setdefault(A.GEN_AI_USAGE_INPUT_TOKENS, 10 + span)
        attrs.setdefault(A.GEN_AI_USAGE_OUTPUT_TOKENS, span)
        attrs.setdefault(A.COST_USD, 0.1 + span * 1e-07)
    status = "ERROR" if span % 5 == 0 else "UNSET"
    return (trace, span, 0, "chat", "CLIENT", start, start + 5, status, None, attrs, [], "svc", "t")


def _batch() -> list[tuple]:
    """Three sessions interleaved: names that change, tags, a session span with its end, an
    unpriced call, every value shape as content, a span sent twice."""
    shapes = list(VALUES.values())
    records = [
        _record(
            i,
            i % 3,
            **{
                A.GEN_AI_INPUT_MESSAGES: shapes[i % len(shapes)],
                A.OUTPUT: shapes[(i + 7) % len(shapes)],
                A.AGENT_NAME: f"agent {i % 2}",
            },
        )
        for i in range(1, 40)
    ]
    records[4][9][A.SESSION_NAME] = "first name"
    records[13][9][A.SESSION_NAME] = "second name"
    records[5][9][A.SESSION_TAGS] = ["a", "b"]
    del records[8][9][A.COST_USD]  # priced by the store, or unpriced
    records.append(records[10])  # the same span again in the batch
    records.append(_record(50, 1, **{A.SPAN_KIND: A.KIND_SESSION, A.SESSION_END_STATE: "Success"}))
    records.append(_record(51, 9, trace=11, **{A.SESSION_ID: None}))  # no session: by trace
    return records


def _contents(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        return {
            "spans": conn.execute("SELECT rowid, * FROM spans ORDER BY rowid").fetchall(),
            "sessions": conn.execute("SELECT * FROM sessions ORDER BY id").fetchall(),
            "usage": conn.execute("SELECT * FROM usage_hourly ORDER BY 1, 2, 3").fetchall(),
        }


def _stored_words(path: Path) -> dict[int, list[str]]:
    """Each span's words as recomputed from its stored row (what deleting it removes)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT rowid, attributes, events, content FROM spans").fetchall()
    return {r[0]: list(w) for r in rows if (w := words_of(stored_text(*r[1:])))}


def _comparable(sessions: list[tuple]) -> list[tuple]:
    """Session rows without when they were written (``updated_ns``), costs to 12 digits (a
    batch adds its folded sum to the stored one: the same sum in another order)."""
    return [(*row[:9], round(row[9], 12), *row[10:-1]) for row in sessions]


@pytest.mark.parametrize("unfinished", [0, 1000])
def test_a_batch_leaves_what_one_span_a_batch_leaves(tmp_path: Path, unfinished: int) -> None:
    """Rows, session totals, usage and index: the same whether a batch is written at once or
    span by span (each span then its own upsert), with spans stored already in it."""
    records = _batch()
    once = StoreWriter(tmp_path / "once.db", unfinished=unfinished)
    assert once.write_records(records[:3]) == 3
    assert once.write_records(records) == len(records) - 4  # 3 stored before, 1 sent twice
    while once.finish_pending():
        pass
    once.close()
    single = StoreWriter(tmp_path / "single.db", unfinished=unfinished)
    written = [single.write_records([record]) for record in records[:3] + records]
    while single.finish_pending():
        pass
    single.close()
    assert written.count(1) == len(records) - 1
    at_once, one_by_one = _contents(tmp_path / "once.db"), _contents(tmp_path / "single.db")
    assert at_once["spans"] == one_by_one["spans"]
    assert at_once["usage"] == one_by_one["usage"]
    assert _comparable(at_once["sessions"]) == _comparable(one_by_one["sessions"])
    names = {row[0]: row[1] for row in at_once["sessions"]}
    assert names == {"s-0": None, "s-1": None, "s-2": "second name", f"{11:032x}": "chat"}
    for path in (tmp_path / "once.db", tmp_path / "single.db"):
        assert _index(path) == _stored_words(path)  # indexed with the text of its row


def test_every_span_leaves_the_index_with_the_text_of_its_row(tmp_path: Path) -> None:
    """Deleting rows (retention, a log record adding text) recomputes their text from the
    stored attributes: after every span is taken out, no word is left in the index."""
    path = tmp_path / "traces.db"
    writer = StoreWriter(path)
    writer.write_records(_batch())
    assert len(_index(path)) > 30
    writer.update(lambda conn: unindex_spans(conn, "1"))
    writer.close()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, span_text, row)")
        assert conn.execute("SELECT term, doc FROM temp.terms").fetchall() == []
