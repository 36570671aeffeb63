"""The search box's phrases, prefixes and OR, over prompts, completions, session names and agent
names, and the case-insensitive model / agent / tag filters: the same sessions from the local
store and from ClickHouse (chDB), and through the sessions page."""

from __future__ import annotations

import pytest
from test_clickhouse_store import built, local, shape, spans  # noqa: F401 (shared fixtures)

from agentops_otel.store import Store
from agentops_otel.store._clickhouse import ClickHouseStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _ids(store, **query) -> list[str]:
    return [s.id for s in store.list_sessions(limit=1000, **query)]


@pytest.mark.parametrize(
    ("query", "includes", "excludes"),
    [
        ('"refund order 4 invoice"', {"sess-0004"}, {"sess-0008", "sess-0005"}),
        ('"order 4 refund"', set(), {"sess-0004"}),  # a phrase keeps its word order
        ("refu*", {"sess-0004", "sess-0008"}, {"sess-0005"}),
        ("invoice OR city", {"sess-0004", "sess-0005"}, set()),
        ("nowhere-to-be-found OR city 5", {"sess-0005"}, {"sess-0004"}),
        ('"job 12"', {"sess-0012"}, {"sess-0013"}),  # a session's name
        ("WRITER", {"sess-0001"}, {"sess-0002"}),  # an agent's name, any case
        ("writer OR planner", {"sess-0001", "sess-0002"}, set()),
    ],
    ids=repr,
)
def test_search_language_in_sqlite(
    local: Store,  # noqa: F811 (a fixture)
    query: str,
    includes: set,
    excludes: set,
) -> None:
    found = set(_ids(local, q=query))
    assert includes <= found and not excludes & found, sorted(found)[:20]


@pytest.mark.parametrize(
    "query",
    [
        {"q": '"refund order 4 invoice"'},
        {"q": "refu*"},
        {"q": "invoice OR city"},
        {"q": "nowhere-to-be-found OR city 5"},
        {"q": '"job 12"'},
        {"q": "WRITER"},
        {"q": "zz OR refund"},  # an alternative that finds nothing
        {"model": "GPT-4O"},
        {"agent": "Writer"},
        {"tag": "NIGHTLY"},
    ],
    ids=repr,
)
def test_clickhouse_gives_the_same_sessions(
    local: Store,  # noqa: F811 (a fixture)
    shape: ClickHouseStore,  # noqa: F811 (a fixture)
    query: dict,
) -> None:
    expected = _ids(local, **query)
    assert expected, query  # the data set has sessions for every search and filter
    assert _ids(shape, **query) == expected


def test_filters_ignore_case(local: Store) -> None:  # noqa: F811 (a fixture)
    for key, value in (("model", "gpt-4o"), ("agent", "writer"), ("tag", "nightly")):
        exact = _ids(local, **{key: value})
        assert exact and _ids(local, **{key: value.upper()}) == exact, key
