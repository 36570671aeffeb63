"""The local store's word index and compressed content (schema version 5): search by words,
prefixes and phrases whether a span is indexed yet or not, a version-3 file upgraded in place,
retention, trace joins and log records keeping the index right, and the writer process
indexing what it left when idle."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from agentops_otel import semconv as A
from agentops_otel._otlp_codec import LogEvent
from agentops_otel.store import Store, StoreWriter
from agentops_otel.store._content import after_delete, dumps, joined, unindex_spans
from agentops_otel.store._db import SCHEMA_VERSION
from agentops_otel.store._logs import LogContent
from agentops_otel.store._process import ProcessStoreExporter

NOW = time.time_ns() - 3_600 * 10**9

TEXTS = {
    "s-dup": "A duplicate payment was refunded to the customer",
    "s-zur": "Weather in Zürich: drizzle, 4 degrees",
    "s-pay": "payment duplicate? no: one payment only",
    "s-ok": "status ok_done at 100%",
    "s-tool": "lookup_order(order_id=12)",
}
QUERIES = {
    "dupl": {"s-dup", "s-pay"},
    '"duplicate payment"': {"s-dup"},
    '"payment duplicate"': {"s-pay"},
    '"duplicat payment"': set(),  # a phrase holds whole words
    "upli": set(),  # the start of a word, not any substring
    "zurich": {"s-zur"},
    "ZÜRICH drizzle": {"s-zur"},
    "zurich refund": set(),
    "refund* OR drizzle": {"s-dup", "s-zur"},
    "nothing OR ok_done": {"s-ok"},
    "ok_d": {"s-ok"},
    "100%": {"s-ok"},
    "lookup_order 12": {"s-tool"},
    "order_id=12": {"s-tool"},
    '"12"': {"s-tool"},
    "%": set(),
    "OR": {"s-tool"},  # alone, a word: "order"
    "planner": set(TEXTS),  # the agent's name
}


def _record(trace: int, span: int, sid: str | None, text: str, **extra: Any) -> tuple:
    attrs: dict[str, Any] = {
        A.SPAN_KIND: A.KIND_LLM,
        A.AGENT_NAME: "planner",
        A.GEN_AI_OPERATION_NAME: A.OP_CHAT,
        A.GEN_AI_REQUEST_MODEL: "gpt-4o",
        A.GEN_AI_USAGE_INPUT_TOKENS: 10,
        A.GEN_AI_INPUT_MESSAGES: json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": text}]}]
        ),
        **extra,
    }
    if sid is not None:
        attrs[A.SESSION_ID] = sid
    start = NOW + span * 10**6
    return (
        trace,
        span,
        0,
        "chat",
        "CLIENT",
        start,
        start + 10,
        "UNSET",
        None,
        attrs,
        [],
        "svc",
        "t",
    )


def _records() -> list[tuple]:
    return [_record(i + 1, i + 1, sid, text) for i, (sid, text) in enumerate(TEXTS.items())]


def _found(path: Path) -> dict[str, set[str]]:
    with Store.open(path) as store:
        return {q: {s.id for s in store.list_sessions(q=q, limit=100)} for q in QUERIES}


def _finished(path: Path) -> tuple[int, int]:
    """(last finished rowid, spans)."""
    with sqlite3.connect(path) as conn:
        (last,) = conn.execute("SELECT COALESCE(MAX(last_rowid), 0) FROM text_indexed").fetchone()
        (spans,) = conn.execute("SELECT COUNT(*) FROM spans").fetchone()
    return last, spans


@pytest.mark.parametrize("unfinished", [0, 100], ids=["indexed", "tail"])
def test_words_prefixes_phrases_and_or(tmp_path: Path, unfinished: int) -> None:
    """The same answers from the index and from the unindexed tail (read from the rows)."""
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=unfinished)
    assert writer.write_records(_records()) == len(TEXTS)
    assert _finished(path) == ((len(TEXTS), len(TEXTS)) if unfinished == 0 else (0, len(TEXTS)))
    assert _found(path) == QUERIES
    assert writer.finish_pending() == (len(TEXTS) if unfinished else 0)
    assert _finished(path) == (len(TEXTS), len(TEXTS))
    assert _found(path) == QUERIES
    writer.close()


@pytest.mark.parametrize("unfinished", [0, 100], ids=["indexed", "tail"])
def test_content_is_kept_compressed_and_reads_back_whole(tmp_path: Path, unfinished: int) -> None:
    """Content waits as text in span_pending until its span is finished, then compressed."""
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=unfinished)
    writer.write_records(_records())
    for finished in (False, True):
        if finished:
            writer.finish_pending()
        with Store.open(path) as store:
            (span,) = store.session_spans("s-dup")
        assert span.attributes == _records()[0][9]  # what was sent, content included
        with sqlite3.connect(path) as conn:
            attributes, content = conn.execute("SELECT attributes, content FROM spans").fetchone()
            (waiting,) = conn.execute("SELECT COUNT(*) FROM span_pending").fetchone()
        assert A.GEN_AI_INPUT_MESSAGES not in json.loads(attributes)  # kept apart
        assert json.loads(attributes)[A.AGENT_NAME] == "planner"  # what SQL filters read stays
        if unfinished and not finished:
            assert content is None and waiting == len(TEXTS)
        else:
            assert isinstance(content, bytes) and b"duplicate" not in content and waiting == 0
    writer.close()


def _as_version_3(path: Path) -> None:
    """What version 3 wrote: the content inside the attributes, no content column, a trigram
    index with its copy of the text and its session rows."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT rowid, attributes, content, session_id FROM spans").fetchall()
        conn.executescript("""
            DROP TABLE span_text; DROP TABLE text_indexed; DROP TABLE span_pending;
            CREATE VIRTUAL TABLE span_text USING fts5 (
                text, session_id UNINDEXED, tokenize = 'trigram');
            CREATE TABLE span_text_rows (session_id TEXT NOT NULL, text_rowid INTEGER NOT NULL,
                PRIMARY KEY (session_id, text_rowid)) WITHOUT ROWID;""")
        for rowid, attributes, content, sid in rows:
            whole = joined(attributes, content)
            conn.execute("UPDATE spans SET attributes = ? WHERE rowid = ?", (dumps(whole), rowid))
            text = conn.execute(
                "INSERT INTO span_text (text, session_id) VALUES (?, ?)", ("old words", sid)
            ).lastrowid
            conn.execute("INSERT INTO span_text_rows VALUES (?, ?)", (sid, text))
        conn.executescript("""
            ALTER TABLE spans DROP COLUMN content;
            UPDATE schema_version SET version = 3;""")
        conn.commit()
    finally:
        conn.close()


def test_a_version_3_file_is_readable_and_upgraded_by_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    writer = StoreWriter(path)
    writer.write_records(_records())
    writer.close()
    with Store.open(path) as store:
        spans = {sid: store.session_spans(sid) for sid in TEXTS}
    _as_version_3(path)
    with Store.open(path) as store:  # readable as it is; search needs the upgrade
        assert {sid: store.session_spans(sid) for sid in TEXTS} == spans
        with pytest.raises(Exception, match="version"):
            store.list_sessions(q="dupl")
    StoreWriter(path).write_records([])  # the writer upgrades the file
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        kinds = conn.execute("SELECT DISTINCT typeof(content) FROM spans").fetchall()
    assert version == SCHEMA_VERSION == 5 and "span_text_rows" not in tables
    assert kinds == [("blob",)]  # every span's content moved out and compressed
    assert _finished(path) == (len(TEXTS), len(TEXTS))
    assert _found(path) == QUERIES
    with Store.open(path) as store:
        assert {sid: store.session_spans(sid) for sid in TEXTS} == spans
        assert store.list_sessions(q="old words") == []  # the trigram rows are gone


def test_retention_takes_words_out_and_keeps_the_tail_right(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    old = _record(1, 1, "s-old", "ancient pelican")
    old = (*old[:5], NOW - 40 * 86_400 * 10**9, NOW - 40 * 86_400 * 10**9 + 10, *old[7:])
    writer = StoreWriter(path, retention_days=0)
    writer.write_records([old, _record(2, 2, "s-new", "recent pelican")])
    writer.close()
    writer = StoreWriter(path, retention_days=7, unfinished=10)
    writer.write_records([])  # opening applies retention: the old session goes
    with Store.open(path) as store:
        assert [s.id for s in store.list_sessions(q="pelican")] == ["s-new"]
    with sqlite3.connect(path) as conn:
        words = {
            w: conn.execute("SELECT COUNT(*) FROM span_text(?)", (w,)).fetchone()[0]
            for w in ("ancient", "recent", "pelican")
        }
    assert words == {"ancient": 0, "recent": 1, "pelican": 1}
    # the newest span deleted: a span written later must not count as finished
    writer.update(
        lambda conn: (
            unindex_spans(conn, "1"),
            conn.execute("DELETE FROM spans"),
            conn.execute("DELETE FROM sessions"),
            after_delete(conn),
        )
    )
    writer.write_records([_record(3, 3, "s-later", "later pelican")])
    assert _finished(path) == (0, 1)  # in the tail, not taken for finished
    with Store.open(path) as store:
        assert [s.id for s in store.list_sessions(q="pelican")] == ["s-later"]
    writer.close()


def test_spans_joined_to_a_session_are_found_under_it(tmp_path: Path) -> None:
    """An MCP server's spans (no session id, the client's trace) join the client's session;
    their words find that session, whichever arrived first."""
    path = tmp_path / "traces.db"
    writer = StoreWriter(path)
    server = _record(7, 70, None, "tool result: walrus")
    root = (
        7,
        71,
        0,
        "session",
        "INTERNAL",
        NOW,
        NOW + 10**9,
        "UNSET",
        None,
        {A.SESSION_ID: "s-client", A.SPAN_KIND: A.KIND_SESSION},
        [],
        "svc",
        "t",
    )
    writer.write_records([server])
    with Store.open(path) as store:
        assert [s.id for s in store.list_sessions(q="walrus")] == [f"{7:032x}"]
    writer.write_records([root])
    writer.close()
    with Store.open(path) as store:
        assert [s.id for s in store.list_sessions(q="walrus")] == ["s-client"]


@pytest.mark.parametrize("unfinished", [0, 100], ids=["indexed", "tail"])
def test_log_records_add_their_words_to_the_span(tmp_path: Path, unfinished: int) -> None:
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=unfinished)
    record = _record(5, 50, "s-log", "first question")
    del record[9][A.GEN_AI_INPUT_MESSAGES]
    record[9][A.INPUT] = "first question"
    writer.write_records([record])
    logs = LogContent(writer)
    logs.add(
        [
            LogEvent(
                5,
                50,
                "gen_ai.choice",
                NOW,
                {
                    "body": json.dumps(
                        {"message": {"role": "assistant", "content": "narwhal answer"}}
                    )
                },
            ),
        ]
    )
    writer.finish_pending()
    with Store.open(path) as store:
        for query in ("narwhal", "first question", "answer"):
            assert [s.id for s in store.list_sessions(q=query)] == ["s-log"], query
        (span,) = store.session_spans("s-log")
    assert "narwhal" in json.dumps(span.events)
    with sqlite3.connect(path) as conn:
        (content,) = conn.execute("SELECT content FROM spans").fetchone()
        (first,) = conn.execute("SELECT COUNT(*) FROM span_text('first')").fetchone()
    assert isinstance(content, bytes) and first == 1  # once: the old row replaced


def test_the_writer_process_indexes_what_it_left_when_idle(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from agentops_otel.export import BoundedExportProcessor

    path = tmp_path / "traces.db"
    exporter = ProcessStoreExporter(path)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BoundedExportProcessor(exporter, name="s", max_queue_size=5000))
    tracer = provider.get_tracer("t")
    for i in range(1500):
        rec = _record(1, i + 1, "s-idle", f"gannet number{i}")
        tracer.start_span("chat", attributes=rec[9]).end()
    provider.force_flush()
    with Store.open(path) as store:  # found at once, indexed or not
        assert [s.id for s in store.list_sessions(q="number1499")] == ["s-idle"]
    deadline = time.monotonic() + 30
    while _finished(path)[0] < 1500 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _finished(path) == (1500, 1500)  # indexed while the app did nothing
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM span_text('gannet')").fetchone()[0] == 1500
    provider.shutdown()
