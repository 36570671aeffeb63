"""The store writer's cheaper paths (issue 19 item 2) index and store exactly what the plain
paths do: finishing from the text kept at write time, a kept text that no longer fits its row
(a log record attached, the row deleted and its rowid reused) read back from the row instead,
and the writer process's small batches finished in their own transaction."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from agentops_otel import semconv as A
from agentops_otel._otlp_codec import LogEvent
from agentops_otel.store import Store, StoreWriter
from agentops_otel.store._content import KeptText, after_delete, stored_text, unindex_spans
from agentops_otel.store._logs import LogContent
from agentops_otel.store._search import words_of

NOW = time.time_ns() - 3_600 * 10**9


def _record(span: int, text: str, *, events: list[Any] | None = None, **extra: Any) -> tuple:
    """An LLM span of session ``s-<span>`` whose prompt says ``text``."""
    attrs: dict[str, Any] = {
        A.SPAN_KIND: A.KIND_LLM,
        A.SESSION_ID: f"s-{span}",
        A.AGENT_NAME: "planner",
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_USAGE_INPUT_TOKENS: 12,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 3,
        A.COST_USD: 1e-06,
        A.GEN_AI_INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": text}]}]
        ),
        **extra,
    }
    start = NOW + span * 10**6
    return (
        9,
        span,
        0,
        "chat",
        "CLIENT",
        start,
        start + 5,
        "UNSET",
        None,
        attrs,
        events or [],
        "svc",
        "t",
    )


def _records() -> list[tuple]:
    """Spans whose text comes from content, names, events and values JSON cannot hold."""
    event = ("gen_ai.choice", NOW, {A.OUTPUT: "an albatross answer", "other": "unsearched"})
    return [
        _record(1, "Zürich weather, duplicate payment"),
        _record(2, "tool call", **{A.GEN_AI_TOOL_CALL_ARGUMENTS: '{"order": 12, "ok": true}'}),
        _record(3, "with an event", events=[event]),
        _record(4, "not json [", **{A.INPUT: "[broken json", A.OUTPUT: "{also broken"}),
        _record(5, "", **{A.SESSION_NAME: "named session"}),
        (9, 6, 0, "plain", "INTERNAL", NOW, NOW + 1, "UNSET", None, {"x": 1}, [], "svc", "t"),
    ]


def _index(path: Path) -> dict[int, list[str]]:
    """The words the full-text index holds for each span, in order."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, span_text, instance)")
        rows = conn.execute("SELECT doc, term FROM temp.words ORDER BY doc, offset").fetchall()
    index: dict[int, list[str]] = {}
    for rowid, term in rows:
        index.setdefault(rowid, []).append(term)
    return index


def _rows(path: Path) -> tuple[dict[int, list[str]], list[tuple]]:
    """The words of each span's text recomputed from its stored row (what it must be indexed
    with), and every stored row as it is (content compressed)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT rowid, * FROM spans ORDER BY rowid").fetchall()
        names = [d[0] for d in conn.execute("SELECT rowid, * FROM spans LIMIT 0").description]
        (waiting,) = conn.execute("SELECT COUNT(*) FROM span_pending").fetchone()
    assert waiting == 0
    at = {name: names.index(name) for name in ("attributes", "events", "content")}
    words = {
        r[0]: list(w)
        for r in rows
        if (w := words_of(stored_text(r[at["attributes"]], r[at["events"]], r[at["content"]])))
    }
    return words, rows


def _finished(path: Path) -> tuple[int, int, int]:
    """(last finished rowid, spans, spans whose content waits)."""
    with sqlite3.connect(path) as conn:
        (last,) = conn.execute("SELECT COALESCE(MAX(last_rowid), 0) FROM text_indexed").fetchone()
        (spans,) = conn.execute("SELECT COUNT(*) FROM spans").fetchone()
        (waiting,) = conn.execute("SELECT COUNT(*) FROM span_pending").fetchone()
    return last, spans, waiting


def _store(path: Path, *, unfinished: int = 0, budget: int | None = None) -> list[tuple]:
    writer = StoreWriter(path, unfinished=unfinished)
    if budget is not None:
        writer.kept = KeptText(budget)
    writer.write_records(_records())
    while writer.finish_pending():
        pass
    writer.close()
    words, rows = _rows(path)
    assert _index(path) == words  # every span indexed with the text of its row
    return rows


def test_finishing_from_the_kept_text_indexes_and_stores_what_the_rows_say(tmp_path: Path) -> None:
    inline = _store(tmp_path / "inline.db")
    kept = _store(tmp_path / "kept.db", unfinished=100)
    read_back = _store(tmp_path / "read.db", unfinished=100, budget=0)  # nothing kept
    part = _store(tmp_path / "part.db", unfinished=100, budget=60)  # the first few kept
    assert kept == inline == read_back == part  # the same rows, byte for byte
    assert _index(tmp_path / "kept.db") == _index(tmp_path / "inline.db")
    assert _index(tmp_path / "kept.db")[1][2:5] == ["zurich", "weather", "duplicate"]


def test_a_log_record_attached_since_the_write_is_indexed_from_the_row(tmp_path: Path) -> None:
    """Another process (``serve``) adds a log record's words to a span still waiting: the
    text kept by the writer that wrote the span is stale and must not be used."""
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=100)
    writer.write_records([_record(1, "first question")])
    other = StoreWriter(path)  # serve's writer on the same file
    body = json.dumps({"message": {"role": "assistant", "content": "narwhal answer"}})
    LogContent(other).add([LogEvent(9, 1, "gen_ai.choice", NOW, {"body": body})])
    other.close()
    assert writer.finish_pending() == 1
    writer.close()
    words, _ = _rows(path)
    assert _index(path) == words and "narwhal" in words[1]
    with Store.open(path) as store:
        assert [s.id for s in store.list_sessions(q="narwhal")] == ["s-1"]


def test_a_reused_rowid_is_indexed_with_its_new_span(tmp_path: Path) -> None:
    """The waiting spans deleted and their rowids given to other spans (by another writer)
    before this writer finishes them: its kept texts belong to the old spans."""
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=100)
    writer.write_records([_record(1, "vanished pelican"), _record(2, "vanished heron")])
    other = StoreWriter(path, unfinished=100)
    other.update(
        lambda conn: (
            unindex_spans(conn, "1"),
            conn.execute("DELETE FROM spans"),
            after_delete(conn),
        )
    )
    other.write_records([_record(3, "present gannet"), _record(4, "present puffin")])
    other.close()
    assert writer.finish_pending() == 2
    writer.close()
    words, _ = _rows(path)
    assert _index(path) == words
    assert sorted(words) == [1, 2] and "gannet" in words[1] and "puffin" in words[2]
    with Store.open(path) as store:
        assert store.list_sessions(q="vanished") == []
        assert [s.id for s in store.list_sessions(q="gannet")] == ["s-3"]


def test_spans_finished_by_another_writer_are_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=100)
    writer.write_records(_records()[:3])
    other = StoreWriter(path)  # finishes the tail it finds before its own spans
    other.write_records(_records()[3:])
    other.close()
    assert _finished(path) == (6, 6, 0)
    assert writer.finish_pending() == 0
    writer.write_records([_record(7, "after the others")])
    assert writer.finish_pending() == 1
    writer.close()
    words, _ = _rows(path)
    assert _index(path) == words and sorted(words) == [1, 2, 3, 4, 5, 7]


def test_the_writer_process_finishes_a_small_batch_in_its_transaction(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    records = _records()
    writer = StoreWriter(path, unfinished=100, finish_below=4)
    writer.write_records(records[:1])  # small, nothing waits: finished now
    assert _finished(path) == (1, 1, 0)
    writer.write_records(records[1:5])  # not small: left waiting (all four have content)
    assert _finished(path) == (1, 5, 4)
    writer.write_records(records[5:])  # small, but older spans wait: waits too
    assert _finished(path) == (1, 6, 4)
    assert writer.finish_pending() == 5
    writer.close()
    words, rows = _rows(path)
    assert _index(path) == words
    assert rows == _store(tmp_path / "inline.db")
