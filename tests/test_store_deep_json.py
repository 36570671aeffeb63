"""A prompt of JSON nested deeper than Python's decoder goes (a foreign span's, say) is
searched as the text it is, instead of failing its whole batch with ``RecursionError``."""

from __future__ import annotations

from pathlib import Path

from test_storecontent import _record
from test_storecost import _index

from agentops_otel import semconv as A
from agentops_otel.store import StoreWriter
from agentops_otel.store._content import unindex_spans
from agentops_otel.store._search import search_text

DEEP = "[" * 5_000 + '"kestrel"' + "]" * 5_000  # deeper than the decoder goes


def test_deep_json_is_searched_as_text() -> None:
    assert search_text({A.INPUT: DEEP}, []) == DEEP
    assert search_text({A.INPUT: DEEP, A.OUTPUT: '["ok"]'}, []) == DEEP + "\nok"


def test_a_batch_with_deep_json_is_kept_indexed_and_unindexed(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    writer = StoreWriter(path, unfinished=0)
    records = [_record(1, 1, **{A.INPUT: DEEP}), _record(2, 1, **{A.INPUT: "heron"})]
    assert writer.write_records(records) == 2
    words = _index(path)
    assert words[1] == ["kestrel"] and words[2] == ["heron"]
    writer.update(lambda conn: unindex_spans(conn, "1"))
    writer.close()
    assert _index(path) == {}
