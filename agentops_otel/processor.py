"""``AgentOpsSpanProcessor``: identity on start; cost roll-ups, budgets and loops on end.

Identity (session / agent / operation) is copied from the parent span onto each new span, so
every span beneath a session carries it, whoever created it. Each open session, agent,
workflow, operation, task and tool span gets a :class:`_Ledger`; an ending span adds what
:func:`agentops_otel.accounting.call_of` says it counts (a model call's tokens and cost, an error
where it happened) to the ledgers of every open ancestor. Ended spans are immutable, so roll-ups
are written onto a span by :func:`write_rollups` just before our own code ends it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context, create_key, get_value
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from agentops_otel import _config, accounting
from agentops_otel import semconv as A

_log = logging.getLogger(__name__)

_IDENTITY_GROUPS = (
    (A.SESSION_ID, A.SESSION_NAME),
    (A.AGENT_NAME, A.AGENT_ROLE, A.AGENT_ID),
    (A.OPERATION_NAME,),
)
_MAX_OPEN = 200_000  # spans that never end must not grow memory without bound
_MAX_FINGERPRINTS = 10_000


class _Ledger:
    """Running totals of one open aggregating span (and, for sessions, budget and loop state)."""

    __slots__ = (
        "budget_exceeded",
        "fingerprints",
        "limit_usd",
        "loop_count",
        "session_id",
        "span",
        "totals",
    )

    def __init__(
        self, span: Span, session_id: str | None = None, limit_usd: float | None = None
    ) -> None:
        self.span = span
        self.totals = accounting.Totals()
        self.session_id = session_id
        self.limit_usd = limit_usd
        self.budget_exceeded = False
        self.fingerprints: dict[int, int] = {}
        self.loop_count = 0


class _Node:
    __slots__ = ("chain", "session", "span")

    def __init__(self, span: Span, chain: tuple[_Ledger, ...], session: _Ledger | None) -> None:
        self.span = span
        self.chain = chain
        self.session = session


# Set in the context while one of our LLM spans runs the SDK call (see agentops_otel.genai).
ACTIVE_LLM_KEY = create_key("agentops-llm-call-active")

_open: dict[int, _Node] = {}
_lock = threading.Lock()


def _node_of(span: Any) -> _Node | None:
    ctx = span.get_span_context() if span is not None else None
    return _open.get(ctx.span_id) if ctx is not None else None


def inherited_identity(parent: Any, own: Any) -> dict[str, Any]:
    """The session / agent / operation attributes a child of ``parent`` takes over: each
    group the child does not set itself. Instrumentors may pass them at span creation."""
    parent_attrs = getattr(parent, "attributes", None)
    if not parent_attrs:
        return {}
    inherited = {}
    for group in _IDENTITY_GROUPS:
        if any(key in own for key in group):
            continue
        for key in group:
            value = parent_attrs.get(key)
            if value is not None:
                inherited[key] = value
    return inherited


def session_ledger(span: Any) -> _Ledger | None:
    """The ledger of the session enclosing ``span`` (an open span), if any."""
    node = _node_of(span)
    return node.session if node is not None else None


def write_rollups(span: Any) -> None:
    """Write the span's roll-up totals as attributes; call just before ending it.

    Sessions always get totals; other spans only once something happened beneath them
    (absent totals read as zero), which keeps plain decorated calls cheap.
    """
    node = _node_of(span)
    if node is None or not node.chain or node.chain[-1].span is not span:
        return
    ledger = node.chain[-1]
    totals = ledger.totals
    if not (totals.llm_calls or totals.errors or ledger is node.session):
        return
    span.set_attributes(totals.attributes())


def note_request(session: _Ledger, fingerprint: int) -> int:
    """Count a model request in its session; returns how many times it has now been seen.

    The session span is flagged (attributes and one event) the first time any request
    reaches the loop threshold, and its count raised when a loop goes on past it.
    """
    with _lock:
        seen = session.fingerprints
        count = seen.get(fingerprint, 0) + 1
        if count == 1 and len(seen) >= _MAX_FINGERPRINTS:
            seen.pop(next(iter(seen)))
        seen[fingerprint] = count
        threshold = _config.current().loop_threshold
        if not threshold or count < threshold or count <= session.loop_count:
            return count
        first = session.loop_count == 0
        session.loop_count = count
    try:
        session.span.set_attributes({A.LOOP_DETECTED: True, A.LOOP_COUNT: count})
        if first:
            session.span.add_event(A.EVENT_LOOP_DETECTED, {A.LOOP_COUNT: count})
    except Exception:  # noqa: BLE001 - the session span may have ended meanwhile
        pass
    return count


class AgentOpsSpanProcessor(SpanProcessor):
    """Copies identity onto new spans and rolls LLM usage and cost up to their ancestors."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._start(span, parent_context)
        except Exception:  # noqa: BLE001 - never break span creation
            _log.debug("agentops processor on_start failed", exc_info=True)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._end(span)
        except Exception:  # noqa: BLE001
            _log.debug("agentops processor on_end failed", exc_info=True)

    def _start(self, span: Span, parent_context: Context | None) -> None:
        parent = trace.get_current_span(parent_context)
        parent_node = _node_of(parent) if parent.get_span_context().is_valid else None
        if parent_node is not None and not isinstance(parent, Span):
            # A framework handed us a placeholder (NonRecordingSpan) for one of our open spans.
            parent = parent_node.span
        own = span.attributes or {}
        if (
            A.SPAN_KIND not in own
            and own.get(A.GEN_AI_OPERATION_NAME) in A.INFERENCE_OPERATIONS
            and get_value(ACTIVE_LLM_KEY, parent_context)
        ):
            span.set_attribute(A.LLM_DUPLICATE, True)  # another vendor's span inside ours
        inherited = inherited_identity(parent, own)
        if inherited:
            span.set_attributes(inherited)
        chain = parent_node.chain if parent_node else ()
        session = parent_node.session if parent_node else None
        kind = own.get(A.SPAN_KIND)
        if kind in A.AGGREGATING_KINDS:
            if kind == A.KIND_SESSION:
                limit = own.get(A.BUDGET_LIMIT_USD)
                ledger = _Ledger(
                    span,
                    str(own.get(A.SESSION_ID, "")),
                    float(limit) if isinstance(limit, (int, float)) else None,
                )
                session = ledger
            else:
                ledger = _Ledger(span)
            chain = (*chain, ledger)
        if not chain:
            return
        with _lock:
            if len(_open) >= _MAX_OPEN:
                _open.pop(next(iter(_open)))
            _open[span.get_span_context().span_id] = _Node(span, chain, session)

    def _end(self, span: ReadableSpan) -> None:
        with _lock:
            # an SDK span always has its context (typed Optional on ReadableSpan)
            node = _open.pop(span.get_span_context().span_id, None)  # type: ignore[union-attr]
        if node is None:
            return
        ancestors = node.chain
        if ancestors and ancestors[-1].span is span:
            ancestors = ancestors[:-1]
        if not ancestors:
            return
        call = accounting.call_of(
            span.attributes or {}, span.status.status_code is StatusCode.ERROR
        )
        if call is accounting.NOTHING:
            return
        with _lock:
            for ledger in ancestors:
                ledger.totals.add(call)
        session = node.session
        if call.llm_calls and session is not None and session.limit_usd is not None:
            self._check_budget(session, session.limit_usd)

    @staticmethod
    def _check_budget(session: _Ledger, limit_usd: float) -> None:
        cost = session.totals.cost_usd
        if session.budget_exceeded or cost <= limit_usd:
            return
        session.budget_exceeded = True
        session.span.set_attribute(A.BUDGET_EXCEEDED, True)
        session.span.add_event(
            A.EVENT_BUDGET_EXCEEDED, {A.TOTAL_COST_USD: cost, A.BUDGET_LIMIT_USD: limit_usd}
        )
        _log.warning(
            "agentops-otel: session %s spent $%.6f, over its budget of $%.6f",
            session.session_id,
            cost,
            limit_usd,
        )

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
