"""The one number formatter (``agentops_otel.view._format``) both viewers use, and the search
box's small language (``agentops_otel.store._search``)."""

from __future__ import annotations

from functools import reduce
from operator import add

import pytest

from agentops_otel import semconv as A
from agentops_otel.store._search import parse_search
from agentops_otel.view import _format


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (0, "$0"),
        (8e-8, "$0.00000008"),  # an embedding: not $0.000000
        (0.0052185, "$0.00522"),
        (0.005218, "$0.00522"),  # the tree's and the table's sums of one cost read the same
        (0.0052185 + 1e-18, "$0.00522"),
        (0.000605, "$0.000605"),
        (0.0999, "$0.0999"),
        (0.099999, "$0.10"),
        (0.5, "$0.50"),
        (0.999, "$0.999"),
        (0.9996, "$1.00"),
        (12.345, "$12.35"),
        (1234.5, "$1,234.50"),
        (-0.0031, "-$0.0031"),
        (1e-14, "<$0.000000000001"),
    ],
)
def test_costs_keep_three_significant_digits_below_a_dollar(value, shown) -> None:
    assert _format.cost(value) == shown


def test_costs_summed_in_another_order_read_the_same() -> None:
    parts = [0.1, 0.2, 0.3, 0.000845, 0.001]
    # a plain left fold: sum() compensates its rounding on Python 3.12 and later
    forward, backward = reduce(add, parts), reduce(add, reversed(parts))
    assert forward != backward  # float sums depend on the order ...
    assert _format.cost(forward) == _format.cost(backward)  # ... what is shown does not


def test_no_price_only_for_a_call_that_should_have_one() -> None:
    used = {A.GEN_AI_USAGE_INPUT_TOKENS: 1200, A.GEN_AI_USAGE_OUTPUT_TOKENS: 34}
    assert _format.call_cost(None, used, priced=True) == "no price"  # unknown model, tokens
    assert _format.call_cost(None, {A.COST_UNKNOWN_MODEL: True}, priced=True) == "no price"
    assert _format.call_cost(None, {}, priced=True) == "—"  # failed, used nothing
    assert _format.call_cost(None, used, priced=False) == "—"  # a tool or an agent span
    assert _format.call_cost(0.0000182, used, priced=True) == "$0.0000182"
    assert not _format.unpriced(None, {A.GEN_AI_USAGE_INPUT_TOKENS: 0}, priced=True)


def test_tokens_show_cached_and_reasoning_and_only_known_sides() -> None:
    attrs = {
        A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 800,
        A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 12,
    }
    assert _format.tokens(1200, 34, attrs) == "1,200 in (800 cached) / 34 out (12 reasoning)"
    assert _format.tokens(4, None) == "4 in"  # an embedding: no "4 /"
    assert _format.tokens(None, None) == "—"  # a failed call: no " / tokens"
    assert _format.tokens(5, 0, {A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 0}) == "5 in / 0 out"


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(None, "running"), (0.07, "0.07 ms"), (230, "230 ms"), (1250, "1.25 s"), (125_000, "2m05s")],
)
def test_durations(ms, shown) -> None:
    assert _format.duration(ms) == shown


@pytest.mark.parametrize(
    ("query", "groups"),
    [  # each term as (its words, whether the last word may begin a longer one)
        ('"duplicate payment"', [[("duplicate payment", False)]]),
        ("dupl*", [[("dupl", True)]]),
        ("dupl", [[("dupl", True)]]),  # a bare word is a prefix, with or without "*"
        ("invoice OR order", [[("invoice", True)], [("order", True)]]),
        (
            "refund invoice OR city 3",
            [[("refund", True), ("invoice", True)], [("city", True), ("3", True)]],
        ),
        ("OR", [[("or", True)]]),  # alone it is a word ...
        ("x OR", [[("x", True), ("or", True)]]),  # ... and at either end
        ("or this", [[("or", True), ("this", True)]]),  # lower case is a word
        ("Zürich", [[("zurich", True)]]),  # case and accents folded as the index folds them
        ("*", []),  # nothing to find: punctuation only separates words
        ('""', []),
        ('" OR "', [[("or", False)]]),
        ("NEAR(zanzibar", [[("near zanzibar", True)]]),  # never the index's own syntax
    ],
)
def test_the_search_language(query: str, groups: list[list[tuple[str, bool]]]) -> None:
    parsed = [[(" ".join(t.words), t.prefix) for t in group] for group in parse_search(query)]
    assert parsed == groups
