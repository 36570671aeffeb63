"""A lone surrogate (a string decoded with ``surrogateescape``, a JSON ``\\ud800`` escape in an
LLM's output) has no UTF-8 form and SQLite takes UTF-8 only: the store keeps the whole batch,
with such strings escaped, indexes the text and takes it out of the index again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_storecontent import _record
from test_storecost import _index

from agentops_otel import semconv as A
from agentops_otel.store import StoreWriter
from agentops_otel.store._content import joined, unindex_spans

SHAPES = {
    "escape in prompt JSON": (
        A.GEN_AI_INPUT_MESSAGES,
        '[{"role": "user", "parts": [{"type": "text", "content": "kestrel \\ud800 owl"}]}]',
    ),
    "raw in a searched string": (A.OUTPUT, "kestrel \ud800 owl"),
    "raw in a plain attribute": ("app.note", "kestrel \udc80 owl"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_batch_is_kept_and_its_text_indexed_and_unindexed(tmp_path: Path, shape: str) -> None:
    key, value = SHAPES[shape]
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=0)
    bad = _record(1, 1, **{key: value, A.AGENT_NAME: "falcon \udcff"})
    good = _record(2, 1, **{A.INPUT: "heron"})
    assert writer.write_records([bad, good]) == 2
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT span_id, attributes, content FROM spans ORDER BY rowid")
        stored = {span: joined(attributes, content) for span, attributes, content in rows}
    assert stored[format(2, "016x")][A.INPUT] == "heron"
    attrs = stored[format(1, "016x")]
    assert attrs[A.AGENT_NAME] == "falcon \\udcff"  # a raw surrogate is stored escaped
    assert attrs[key] == value.encode("utf-8", "backslashreplace").decode()
    words = _index(path)
    assert words[2] == ["heron"]
    searched = " ".join(words[1])
    assert "falcon udcff" in searched
    assert ("kestrel u" in searched) == (key != "app.note")  # not a searched key
    writer.update(lambda conn: unindex_spans(conn, "1"))
    writer.close()
    assert _index(path) == {}
