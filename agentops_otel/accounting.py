"""The one accounting rule: what a model call is, what it used and cost, what an error is, and
what adds up where. The span processor, the local store's writer, the ClickHouse reader, the CLI
and the dashboard all take their numbers from here, so a session reads the same everywhere.

- **A model call** is a span of kind ``llm`` (ours, or another instrumentation's mapped to our
  model at ingest, see :mod:`agentops_otel.store._normalize`), or a span of no kind whose
  ``gen_ai.operation.name`` is an inference operation; never one flagged
  ``agentops.llm.duplicate`` (a vendor's span inside one of ours describing the same request).
- **Its tokens** follow the OpenTelemetry GenAI convention: input tokens include cache reads and
  cache writes, output tokens include reasoning. Counts that are negative, not whole numbers,
  not numbers at all, infinite or above :data:`MAX_TOKENS` make the call's usage invalid: the
  call still counts as a call, its keys are named in ``agentops.usage.invalid``, and none of
  its tokens or cost is summed.
- **Its cost** is the ``agentops.cost.usd`` it carries (priced by our GenAI helper when it
  ended) or, for a call that arrived without one, the bundled price table applied to every
  token kind it reports (uncached input, cache read, cache write, output).
- **Unpriced** ("no price") is a model call with no cost that should have one: it used tokens
  (input or output above 0) or its model has no known price (``agentops.cost.unknown_model``).
  A call that used nothing (a failed request) cost nothing anyone can know: it is not unpriced.
  The views show it and the stores' roll-ups count it by :func:`unpriced` and
  :func:`unpriced_sql`, one rule in Python and SQL.
- **An error** is counted once, where it happened: on a model call or a tool call whose status is
  ERROR. The agents, operations and session it propagated through are not counted again.
- **Totals** of a span are the sums over the model calls and errors beneath it. Spans of other
  kinds (agents, workflows, a framework's wrapper around a model call that repeats its usage)
  add nothing of their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentops_otel import semconv as A

# No model takes or writes this many tokens in one call: a larger count is a broken sender.
MAX_TOKENS = 100_000_000
# The span kinds on which a failure is counted (where it happened).
ERROR_KINDS = frozenset({A.KIND_LLM, A.KIND_TOOL})
# The same kinds as an SQL list, for the stores that count errors in SQL (SQLite, ClickHouse).
ERROR_KINDS_SQL = ", ".join(f"'{kind}'" for kind in sorted(ERROR_KINDS))
# usage grouped by model and by agent (the store's hourly table, the views): calls with none
NO_MODEL = "(unknown)"
NO_AGENT = "(no agent)"
# Every usage key of the span model, read in this order.
USAGE_KEYS = (
    A.GEN_AI_USAGE_INPUT_TOKENS,
    A.GEN_AI_USAGE_OUTPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
)
# The values that set a flag attribute: a bool, or its text from a store that keeps text.
FLAG_VALUES = (True, "true", "1")
# The same values as an SQL list, for a flag read as text ('1' is how SQLite casts JSON true).
FLAG_VALUES_SQL = ", ".join(f"'{v}'" for v in FLAG_VALUES if isinstance(v, str))
_INVALID = object()


@dataclass(frozen=True, slots=True)
class Usage:
    """One model call's tokens: input includes cache reads and writes, output reasoning."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Call:
    """What one ended span adds to the totals of every span enclosing it."""

    llm_calls: int = 0
    errors: int = 0
    usage: Usage | None = None  # None: no usage reported, or invalid (then ``invalid`` says)
    cost_usd: float | None = None  # None: not priced (no usage, unknown model, invalid usage)
    cost_source: str | None = None
    invalid: tuple[str, ...] = ()  # usage keys whose values could not be used

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens if self.usage is not None else 0

    @property
    def output_tokens(self) -> int:
        return self.usage.output_tokens if self.usage is not None else 0


NOTHING = Call()


def is_llm_call(attrs: Mapping[str, Any]) -> bool:
    """Whether a span with these attributes is a model call to count."""
    if attrs.get(A.LLM_DUPLICATE) in (True, "true", "1"):
        return False
    kind = attrs.get(A.SPAN_KIND)
    if kind:
        return kind == A.KIND_LLM
    return attrs.get(A.GEN_AI_OPERATION_NAME) in A.INFERENCE_OPERATIONS


def span_kind(attrs: Mapping[str, Any]) -> str | None:
    """The span's kind in our model: its ``agentops.span.kind``, ``llm`` for a counted model
    call of no kind, else ``None`` (a plain span)."""
    kind = attrs.get(A.SPAN_KIND)
    if kind:
        return str(kind)
    return A.KIND_LLM if is_llm_call(attrs) else None


def counts_error(kind: str | None, failed: bool) -> bool:
    """Whether a span of ``kind`` that ``failed`` is where an error happened."""
    return failed and kind in ERROR_KINDS


def token_count(value: Any) -> Any:
    """A token count as an int, ``None`` when absent, or an invalid marker (see module doc).
    Numeric strings are accepted: some stores keep every value as text."""
    if type(value) is int:  # the common case, first (a bool is not of type int)
        return value if 0 <= value <= MAX_TOKENS else _INVALID
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        number: float = value
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return _INVALID
    else:
        return _INVALID
    if not math.isfinite(number) or number < 0 or number > MAX_TOKENS or number != int(number):
        return _INVALID
    return int(number)


def amount(value: Any) -> float | None:
    """A finite, non-negative amount (a cost) from an attribute value, else ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def read_usage(attrs: Mapping[str, Any]) -> tuple[Usage | None, tuple[str, ...]]:
    """A model call's usage and the usage keys whose values are invalid. The usage is ``None``
    when the call reports no input or output count, or when any count is invalid."""
    counts = {}
    invalid = []
    flagged = attrs.get(A.USAGE_INVALID)  # a reader that left unreadable values out flags them
    flagged = flagged if isinstance(flagged, (list, tuple)) else ()
    for key in USAGE_KEYS:
        value = attrs.get(key)
        if value is None and not flagged:  # absent, the usual case for most keys
            continue
        count = token_count(value)
        if count is _INVALID or key in flagged:
            invalid.append(key)
        elif count is not None:
            counts[key] = count
    if invalid:
        return None, tuple(invalid)
    inp = counts.get(A.GEN_AI_USAGE_INPUT_TOKENS)
    out = counts.get(A.GEN_AI_USAGE_OUTPUT_TOKENS)
    if inp is None and out is None:
        return None, ()
    cache_write = counts.get(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)
    if cache_write is None:
        cache_write = counts.get(A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, 0)
    return Usage(
        inp or 0,
        out or 0,
        counts.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0),
        cache_write,
        counts.get(A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0),
    ), ()


def model_of(attrs: Mapping[str, Any]) -> str | None:
    """The model that served the call (the response's), else the one requested."""
    model = attrs.get(A.GEN_AI_RESPONSE_MODEL) or attrs.get(A.GEN_AI_REQUEST_MODEL)
    return str(model) if model else None


def provider_of(attrs: Mapping[str, Any]) -> str | None:
    provider = attrs.get(A.GEN_AI_PROVIDER_NAME) or attrs.get(A.GEN_AI_SYSTEM)
    return str(provider) if provider else None


def price(
    provider: str | None,
    model: str | None,
    usage: Usage | None,
) -> tuple[float | None, str | None]:
    """Cost and source (``store:<table source>``) of a call that arrived unpriced, from the
    bundled price table and every token kind it reports; ``(None, None)`` without a price."""
    if not model or usage is None:
        return None, None
    from agentops_otel.pricing import cost_for  # loaded on first use: keeps imports light

    cost = cost_for(
        provider,
        model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    if cost is None:
        return None, None
    return float(cost.total_usd), f"store:{cost.source}"


def call_of(attrs: Mapping[str, Any], failed: bool, *, reprice: bool = True) -> Call:
    """What an ended span with these attributes (``failed``: status ERROR) adds to every span
    enclosing it. ``reprice=False`` leaves an unpriced call unpriced (hot paths that price
    later, or never)."""
    kind = span_kind(attrs)
    if kind != A.KIND_LLM:
        return Call(errors=1) if counts_error(kind, failed) else NOTHING
    return model_call(attrs, failed, reprice=reprice)


def model_call(attrs: Mapping[str, Any], failed: bool, *, reprice: bool = True) -> Call:
    """:func:`call_of` for a span known to be a model call (its kind need not be read)."""
    errors = 1 if counts_error(A.KIND_LLM, failed) else 0
    usage, invalid = read_usage(attrs)
    cost = source = None
    if not invalid:
        cost = amount(attrs.get(A.COST_USD))
        if cost is not None:
            source = attrs.get(A.COST_SOURCE)
            source = str(source) if source is not None else None
        elif reprice and usage is not None:
            cost, source = price(provider_of(attrs), model_of(attrs), usage)
    return Call(1, errors, usage, cost, source, invalid)


def needs_price(usage: Usage | None, attrs: Mapping[str, Any]) -> bool:
    """Whether a model call should have a price: it used tokens (``usage``, as
    :func:`read_usage` reads it: ``None`` when absent or invalid) or its model has none."""
    if usage is not None and (usage.input_tokens > 0 or usage.output_tokens > 0):
        return True
    return attrs.get(A.COST_UNKNOWN_MODEL) in FLAG_VALUES


def unpriced(cost: float | None, usage: Usage | None, attrs: Mapping[str, Any]) -> bool:
    """Whether a model call is unpriced ("no price"): it has no ``cost`` and
    :func:`needs_price`."""
    return cost is None and needs_price(usage, attrs)


def needs_price_sql(input_tokens: str, output_tokens: str, unknown_model: str) -> str:
    """:func:`needs_price` in SQL (SQLite and ClickHouse), over expressions for the call's
    token counts (NULL when absent or invalid) and its unknown-model flag read as text."""
    return (
        f"(COALESCE({input_tokens}, 0) > 0 OR COALESCE({output_tokens}, 0) > 0 "
        f"OR COALESCE({unknown_model}, '') IN ({FLAG_VALUES_SQL}))"
    )


def unpriced_sql(cost: str, input_tokens: str, output_tokens: str, unknown_model: str) -> str:
    """:func:`unpriced` in SQL, over expressions as :func:`needs_price_sql` takes them and the
    call's cost (NULL when it has none)."""
    return f"(({cost}) IS NULL AND {needs_price_sql(input_tokens, output_tokens, unknown_model)})"


@dataclass(slots=True)
class Totals:
    """Running totals over the calls and errors beneath one span (or a session)."""

    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    errors: int = 0

    def add(self, call: Call) -> None:
        self.llm_calls += call.llm_calls
        self.errors += call.errors
        if call.usage is not None:
            self.input_tokens += call.usage.input_tokens
            self.output_tokens += call.usage.output_tokens
        if call.cost_usd is not None:
            self.cost_usd += call.cost_usd

    def attributes(self) -> dict[str, Any]:
        """The roll-up attributes written on an enclosing span."""
        return {
            A.TOTAL_COST_USD: round(self.cost_usd, 10),
            A.TOTAL_INPUT_TOKENS: self.input_tokens,
            A.TOTAL_OUTPUT_TOKENS: self.output_tokens,
            A.LLM_CALLS: self.llm_calls,
            A.ERRORS: self.errors,
        }
