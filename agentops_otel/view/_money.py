"""Where the money went: the LLM calls of one session (or of many) as a cost tree
agent → operation → model, each level sorted by cost, and the most expensive calls."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agentops_otel import semconv as A
from agentops_otel.accounting import NO_AGENT
from agentops_otel.store import SpanRow
from agentops_otel.view._format import unpriced
from agentops_otel.view._model import llm_spans

NO_OPERATION = "(no operation)"
UNKNOWN_MODEL = "(unknown model)"
LEVELS = ("agent", "operation", "model")


@dataclass
class CostNode:
    """One agent, operation (within an agent) or model (within an operation)."""

    key: str
    calls: int = 0
    priced_calls: int = 0
    unpriced: int = 0  # calls that should have a price and have none (see _format.unpriced)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    children: dict[str, CostNode] = field(default_factory=dict)

    def add(self, span: SpanRow) -> None:
        self.calls += 1
        self.priced_calls += span.cost_usd is not None
        self.unpriced += unpriced(span.cost_usd, span.attributes, priced=True)
        self.input_tokens += span.input_tokens or 0
        self.output_tokens += span.output_tokens or 0
        self.cost_usd += span.cost_usd or 0.0

    @property
    def per_call(self) -> float | None:
        """The average cost of a priced call."""
        return self.cost_usd / self.priced_calls if self.priced_calls else None


@dataclass(frozen=True)
class CostRow:
    """A :class:`CostNode` placed in the sorted, flattened tree: its level (0 agent,
    1 operation, 2 model), its share of the total, and its bar's length (0..1) on one scale
    for every level: the costliest agent's cost is 1."""

    node: CostNode
    level: int
    share: float
    bar: float

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


@dataclass(frozen=True)
class MoneyView:
    """The cost tree flattened depth first, the total, and the costliest calls."""

    rows: list[CostRow]
    total: CostNode
    top_calls: list[SpanRow]


def _keys(span: SpanRow) -> tuple[str, str, str]:
    attrs = span.attributes
    model = span.model or attrs.get(A.GEN_AI_REQUEST_MODEL) or UNKNOWN_MODEL
    return (
        str(attrs.get(A.AGENT_NAME) or NO_AGENT),
        str(attrs.get(A.OPERATION_NAME) or NO_OPERATION),
        str(model),
    )


def _ranked(nodes: Iterable[CostNode]) -> list[CostNode]:
    return sorted(nodes, key=lambda n: (-n.cost_usd, -n.calls, n.key))


def money_view(spans: Iterable[SpanRow], top: int = 10) -> MoneyView:
    """The LLM calls among ``spans`` grouped agent → operation → model, costliest first."""
    calls = llm_spans(spans)
    total = CostNode("total")
    for span in calls:
        total.add(span)
        node = total
        for key in _keys(span):
            node = node.children.setdefault(key, CostNode(key))
            node.add(span)
    rows: list[CostRow] = []
    widest = max((n.cost_usd for n in total.children.values()), default=0.0)

    def walk(node: CostNode, level: int) -> None:
        for child in _ranked(node.children.values()):
            share = child.cost_usd / total.cost_usd if total.cost_usd else 0.0
            rows.append(CostRow(child, level, share, child.cost_usd / widest if widest else 0.0))
            walk(child, level + 1)

    walk(total, 0)
    costly = sorted(
        (s for s in calls if s.cost_usd), key=lambda s: (-(s.cost_usd or 0.0), s.start_ns)
    )
    return MoneyView(rows, total, costly[:top])
