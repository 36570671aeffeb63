"""The ledger: running totals of every open aggregating span, with budgets and loop detection.

Each open session, agent, workflow, operation, task and tool span has an :class:`Account`; an
ending span adds what :func:`agentops_otel.accounting.call_of` says it counts (a model call's
tokens and cost, an error where it happened) to the accounts of every open ancestor. Identity
(session / agent / operation) is copied from the parent span onto each new span, so every span
beneath a session carries it, whoever created it.

Spans reach the ledger through :meth:`Ledger.span_started` / :meth:`Ledger.span_ended`, called by
:class:`agentops_otel.processor.AgentOpsSpanProcessor` for every span of a provider it is added
to; the GenAI helper gives its own model-call spans their identity at creation and settles them
directly (:meth:`Ledger.add_call`), so the processor skips them and budgets and loops see them
even on a provider without our processor. Ended spans are immutable, so
roll-ups are written onto a span by :meth:`Ledger.write_rollups` just before our code ends it.
"""

from __future__ import annotations

import logging
import threading
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context, create_key, get_value
from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.trace import StatusCode

from agentops_otel import accounting
from agentops_otel import semconv as A

_log = logging.getLogger(__name__)

_IDENTITY_GROUPS = (
    (A.SESSION_ID, A.SESSION_NAME),
    (A.AGENT_NAME, A.AGENT_ROLE, A.AGENT_ID),
    (A.OPERATION_NAME,),
)
_IDENTITY_KEYS = frozenset(key for group in _IDENTITY_GROUPS for key in group)
MAX_OPEN = 200_000  # spans that never end must not grow memory without bound
_MAX_FINGERPRINTS = 10_000

# Set in the context while one of our LLM spans runs the SDK call (see agentops_otel.genai).
ACTIVE_LLM_KEY = create_key("agentops-llm-call-active")
# True while the GenAI helper starts a span it settles itself (identity given at creation).
SELF_SETTLED: ContextVar[bool] = ContextVar("agentops_otel_self_settled", default=False)


class Account:
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
        self, span: Any, session_id: str | None = None, limit_usd: float | None = None
    ) -> None:
        self.span = span
        self.totals = accounting.Totals()
        self.session_id = session_id
        self.limit_usd = limit_usd
        self.budget_exceeded = False
        self.fingerprints: dict[int, int] = {}
        self.loop_count = 0


class Node:
    """An open span the ledger knows: the accounts it adds to (its own last), and its session."""

    __slots__ = ("_identity", "chain", "session", "span")

    def __init__(self, span: Any, chain: tuple[Account, ...], session: Account | None) -> None:
        self.span = span
        self.chain = chain
        self.session = session
        self._identity: tuple[int, dict[str, Any]] | None = None

    def identity(self) -> dict[str, Any]:
        """The span's session / agent / operation attributes (not to be modified): read once,
        and again only when the span's attribute count has changed since."""
        attrs = self.span.attributes
        size = len(attrs) if attrs else 0
        cached = self._identity
        if cached is None or cached[0] != size:
            cached = self._identity = (size, _identity_of(attrs))
        return cached[1]


def _identity_of(attrs: Any) -> dict[str, Any]:
    if not attrs:
        return {}
    # one pass over the attributes: a missing key costs a KeyError in a Mapping's get()
    return {
        key: value for key, value in attrs.items() if key in _IDENTITY_KEYS and value is not None
    }


def inherited_identity(parent: Any, own: Any, node: Node | None = None) -> dict[str, Any]:
    """The session / agent / operation attributes a child of ``parent`` takes over: each
    group the child does not set itself. Instrumentors may pass them at span creation.
    ``node`` (the ledger's node of ``parent``) caches them. The dict is not to be modified."""
    if node is not None:
        found = node.identity()
    else:
        found = _identity_of(getattr(parent, "attributes", None))
    if found and not _IDENTITY_KEYS.isdisjoint(own):
        found = dict(found)
        for group in _IDENTITY_GROUPS:
            if any(key in own for key in group):
                for key in group:
                    found.pop(key, None)
    return found


class Ledger:
    """The open spans beneath a session, agent or other aggregating span, and their accounts."""

    def __init__(self) -> None:
        self._open: dict[int, Node] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def node_of(self, span: Any) -> Node | None:
        """The node of an open span (or of a placeholder with its context), if the ledger has it."""
        ctx = span.get_span_context() if span is not None else None
        return self._open.get(ctx.span_id) if ctx is not None else None

    def session_of(self, span: Any) -> Account | None:
        """The account of the session enclosing ``span`` (an open span), if any."""
        node = self.node_of(span)
        return node.session if node is not None else None

    # -- spans -------------------------------------------------------------------------------
    def span_started(self, span: Span, parent_context: Context | None) -> None:
        """Copy identity onto a new span; open its account if it aggregates."""
        if SELF_SETTLED.get():
            return
        parent = trace.get_current_span(parent_context)
        parent_node = self._open.get(parent.get_span_context().span_id)
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
        inherited = inherited_identity(parent, own, parent_node)
        if inherited:
            span.set_attributes(inherited)
        chain = parent_node.chain if parent_node else ()
        session = parent_node.session if parent_node else None
        kind = own.get(A.SPAN_KIND)
        if kind in A.AGGREGATING_KINDS:
            if kind == A.KIND_SESSION:
                limit = own.get(A.BUDGET_LIMIT_USD)
                account = Account(
                    span,
                    str(own.get(A.SESSION_ID, "")),
                    float(limit) if isinstance(limit, (int, float)) else None,
                )
                session = account
            else:
                account = Account(span)
            chain = (*chain, account)
        if chain:
            self._remember(span, Node(span, chain, session))

    def _remember(self, span: Any, node: Node) -> None:
        with self._lock:
            if len(self._open) >= MAX_OPEN:
                self._open.pop(next(iter(self._open)))
            self._open[span.get_span_context().span_id] = node

    def span_ended(self, span: ReadableSpan) -> None:
        """Add what an ended span counts to the accounts of its open ancestors."""
        # an SDK span always has its context (typed Optional on ReadableSpan)
        span_id = span.get_span_context().span_id  # type: ignore[union-attr]
        if span_id not in self._open:  # most spans (our LLM spans, plain spans): no lock taken
            return
        with self._lock:
            node = self._open.pop(span_id, None)
        if node is None:
            return
        call = accounting.call_of(
            span.attributes or {}, span.status.status_code is StatusCode.ERROR
        )
        if call is not accounting.NOTHING:
            self.add_call(node, call)

    def add_call(self, node: Node, call: accounting.Call) -> None:
        """Add ``call`` (of the span of ``node``, ending) to its open ancestors' accounts."""
        ancestors = node.chain
        if ancestors and ancestors[-1].span is node.span:
            ancestors = ancestors[:-1]
        self.add_to(ancestors, node.session, call)

    def add_to(
        self, ancestors: tuple[Account, ...], session: Account | None, call: accounting.Call
    ) -> None:
        """Add ``call`` to the accounts of ``ancestors`` (open spans beneath ``session``), and
        flag the session once it is over its budget."""
        if not ancestors:
            return
        with self._lock:
            for account in ancestors:
                account.totals.add(call)
        if call.llm_calls and session is not None and session.limit_usd is not None:
            _check_budget(session)

    def write_rollups(self, span: Any) -> None:
        """Write the span's roll-up totals as attributes; call just before ending it.

        Sessions always get totals; other spans only once something happened beneath them
        (absent totals read as zero), which keeps plain decorated calls cheap.
        """
        node = self.node_of(span)
        if node is None or not node.chain or node.chain[-1].span is not span:
            return
        account = node.chain[-1]
        totals = account.totals
        if not (totals.llm_calls or totals.errors or account is node.session):
            return
        attributes = totals.attributes()
        if account.loop_count:  # a session's loop, flagged when it began: its final count
            attributes[A.LOOP_COUNT] = account.loop_count
        span.set_attributes(attributes)

    def note_request(self, session: Account, fingerprint: int, threshold: int) -> int:
        """Count a model request in its session; returns how many times it has now been seen.

        The session span is flagged (attributes and one event) the first time any request
        reaches the loop threshold; the count of a loop that goes on past it is kept in the
        session's account and written with its roll-ups (one attribute write, not one a call).
        """
        with self._lock:
            seen = session.fingerprints
            count = seen.get(fingerprint, 0) + 1
            if count == 1 and len(seen) >= _MAX_FINGERPRINTS:
                seen.pop(next(iter(seen)))
            seen[fingerprint] = count
            if not threshold or count < threshold or count <= session.loop_count:
                return count
            first = session.loop_count == 0
            session.loop_count = count
        if not first:
            return count
        try:
            session.span.set_attributes({A.LOOP_DETECTED: True, A.LOOP_COUNT: count})
            session.span.add_event(A.EVENT_LOOP_DETECTED, {A.LOOP_COUNT: count})
        except Exception:  # noqa: BLE001 - the session span may have ended meanwhile
            pass
        return count


def _check_budget(session: Account) -> None:
    cost = session.totals.cost_usd
    if session.budget_exceeded or session.limit_usd is None or cost <= session.limit_usd:
        return
    session.budget_exceeded = True
    session.span.set_attribute(A.BUDGET_EXCEEDED, True)
    session.span.add_event(
        A.EVENT_BUDGET_EXCEEDED, {A.TOTAL_COST_USD: cost, A.BUDGET_LIMIT_USD: session.limit_usd}
    )
    _log.warning(
        "agentops-otel: session %s spent $%.6f, over its budget of $%.6f",
        session.session_id,
        cost,
        session.limit_usd,
    )


LEDGER = Ledger()  # one per process: every provider's spans may sit beneath one session
