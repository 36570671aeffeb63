"""The store writer's cheaper path (issue 19 item 2) stores and indexes exactly what the others
do: the writer process finishes a small batch in its own transaction when no older span waits
(a large one, or one behind waiting spans, is left for idle time as before)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.store import StoreWriter
from agentops_otel.store._content import stored_text
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


def _store(path: Path, *, unfinished: int = 0) -> list[tuple]:
    writer = StoreWriter(path, unfinished=unfinished)
    writer.write_records(_records())
    while writer.finish_pending():
        pass
    writer.close()
    words, rows = _rows(path)
    assert _index(path) == words  # every span indexed with the text of its row
    return rows


def test_the_paths_store_and_index_the_same(tmp_path: Path) -> None:
    """Finished in the transaction or later (read back from the rows): the same rows, byte
    for byte, and each span indexed with the text of its row."""
    assert _store(tmp_path / "inline.db") == _store(tmp_path / "later.db", unfinished=100)
    assert _index(tmp_path / "inline.db") == _index(tmp_path / "later.db")
    assert _index(tmp_path / "inline.db")[1][2:5] == ["zurich", "weather", "duplicate"]


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
