"""A prompt of JSON nested deeper than the interpreter's recursion limit (a foreign span's,
say) no longer fails its whole batch with ``RecursionError``: Python 3.11 cannot decode it, and
it is searched as the text it is; 3.12+ decodes it, and its strings are walked without
recursion."""

from __future__ import annotations

from pathlib import Path

from test_storecontent import _record
from test_storecost import _index

from agentops_otel import semconv as A
from agentops_otel.store import StoreWriter
from agentops_otel.store._content import unindex_spans
from agentops_otel.store._search import _json_strings, search_text

DEEP = "[" * 5_000 + '"kestrel"' + "]" * 5_000


def test_deep_json_is_searched_as_its_text_or_its_strings() -> None:
    assert search_text({A.INPUT: DEEP}, []) in (DEEP, "kestrel")
    assert search_text({A.INPUT: DEEP, A.OUTPUT: '["ok"]'}, []).endswith("\nok")


def test_the_walk_reaches_strings_past_the_recursion_limit() -> None:
    deep: list = ["kestrel", {"a": "owl"}]
    for i in range(5_000):
        deep = [deep, f"level {i}"] if i % 1000 == 0 else [deep]
    found: list[str] = []
    _json_strings(deep, found)
    assert found == ["kestrel", "owl", *(f"level {i}" for i in range(0, 5_000, 1000))]


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
