"""What the viewer shows, computed from stored spans (no rendering here, no rich).

The tree follows ``parent_span_id`` inside one session; LLM spans carry their own usage and
cost, enclosing spans the roll-ups the processor wrote; breakdowns and replay steps are derived
from the LLM and tool spans as stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from agentops_otel import accounting
from agentops_otel import semconv as A
from agentops_otel.accounting import NO_AGENT, NO_MODEL
from agentops_otel.store import SpanRow
from agentops_otel.view._format import call_cost, tokens

SHORT_ID = 8
RUNNING_PARENT = "(running, not ended yet)"


def short_id(session_id: str) -> str:
    """The abbreviated id shown to users; any unique prefix resolves back."""
    return session_id[:SHORT_ID]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


@dataclass
class Node:
    """One span in the session tree with the numbers shown beside it."""

    span: SpanRow
    children: list[Node] = field(default_factory=list)
    placeholder: bool = False  # a parent that has not ended yet (see build_tree)

    @property
    def kind(self) -> str:
        return self.span.agentops_kind or "span"

    @property
    def is_llm(self) -> bool:
        return self.span.agentops_kind == A.KIND_LLM

    @property
    def label(self) -> str:
        """The span's own name: ``email-assistant`` for ``invoke_agent email-assistant``."""
        name = self.span.name
        if self.span.agentops_kind in A.AGGREGATING_KINDS and " " in name:
            return name.split(" ", 1)[1]
        return name

    @cached_property
    def cost_usd(self) -> float | None:
        """An LLM call's cost; an enclosing span's roll-up, or (a foreign span, which has
        none) the sum of its children's known costs. Kept once read (a tree is complete once
        :func:`build_tree` returns): a foreign parent's sum is not redone per reader."""
        if self.is_llm:
            return self.span.cost_usd
        rolled = _float(self.span.attributes.get(A.TOTAL_COST_USD))
        if rolled is not None or not self.children:
            return rolled
        known = [c for c in (child.cost_usd for child in self.children) if c is not None]
        return sum(known) if known else None

    @property
    def cost_text(self) -> str:
        """The cost as shown: "no price" for an LLM call that should have one (see
        :func:`agentops_otel.view._format.call_cost`)."""
        return call_cost(self.cost_usd, self.span.attributes, self.is_llm)

    @property
    def tokens_text(self) -> str:
        """Tokens in / out with cached and reasoning tokens, as shown."""
        return tokens(self.input_tokens, self.output_tokens, self.span.attributes)

    @property
    def input_tokens(self) -> int | None:
        if self.is_llm:
            return self.span.input_tokens
        return _int(self.span.attributes.get(A.TOTAL_INPUT_TOKENS))

    @property
    def output_tokens(self) -> int | None:
        if self.is_llm:
            return self.span.output_tokens
        return _int(self.span.attributes.get(A.TOTAL_OUTPUT_TOKENS))

    @property
    def llm_calls(self) -> int | None:
        return None if self.is_llm else _int(self.span.attributes.get(A.LLM_CALLS))

    @property
    def error(self) -> str | None:
        """Why the span failed (status message, else ``error.type``), or ``None``."""
        if self.span.status_code != "ERROR":
            return None
        return self.span.status_message or self.span.attributes.get(A.ERROR_TYPE) or "error"

    @property
    def flags(self) -> list[str]:
        attrs = self.span.attributes
        found = []
        if attrs.get(A.LOOP_DETECTED):
            found.append("loop detected")
        if attrs.get(A.BUDGET_EXCEEDED):
            found.append("budget exceeded")
        if attrs.get(A.COST_UNKNOWN_MODEL):
            found.append("unpriced model")
        if attrs.get(A.USAGE_INVALID):
            found.append("invalid usage (not counted)")
        return found


def build_tree(spans: Iterable[SpanRow], live: bool = False) -> list[Node]:
    """Roots (spans whose parent is not in the session) with children in start order.

    With ``live`` (the session still runs), a parent that has not arrived yet (spans are
    exported when they end) is stood in for by a running placeholder node that holds its
    children, instead of the children floating to the top level."""
    nodes = {s.span_id: Node(s) for s in spans}
    roots: list[Node] = []
    for node in list(nodes.values()):  # insertion order is start order
        parent_id = node.span.parent_span_id or ""
        parent = nodes.get(parent_id)
        if parent is None and live and parent_id:
            parent = nodes[parent_id] = Node(_running_parent(node.span), placeholder=True)
            roots.append(parent)
        (parent.children if parent is not None else roots).append(node)
    return roots


def _running_parent(child: SpanRow) -> SpanRow:
    """A stand-in for the not yet ended parent of ``child``: unnamed, no end time."""
    return SpanRow(
        trace_id=child.trace_id,
        span_id=child.parent_span_id or "",
        parent_span_id=None,
        session_id=child.session_id,
        name=RUNNING_PARENT,
        kind=None,
        agentops_kind=None,
        start_ns=child.start_ns,
        end_ns=None,
        status_code=None,
        status_message=None,
        model=None,
        provider=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        cost_source=None,
        service=child.service,
        scope=None,
    )


@dataclass
class Breakdown:
    """LLM calls, tokens and cost for one agent or one model."""

    key: str
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, span: SpanRow) -> None:
        self.calls += 1
        self.errors += accounting.counts_error(span.agentops_kind, span.status_code == "ERROR")
        self.input_tokens += span.input_tokens or 0
        self.output_tokens += span.output_tokens or 0
        self.cost_usd += span.cost_usd or 0.0


def llm_spans(spans: Iterable[SpanRow]) -> list[SpanRow]:
    return [s for s in spans if s.agentops_kind == A.KIND_LLM]


def breakdown(spans: Iterable[SpanRow], by: str) -> list[Breakdown]:
    """LLM spans grouped ``by`` ``"agent"`` or ``"model"``, most expensive first."""
    groups: dict[str, Breakdown] = {}
    for span in llm_spans(spans):
        if by == "agent":
            key = span.attributes.get(A.AGENT_NAME) or NO_AGENT
        else:
            key = span.model or span.attributes.get(A.GEN_AI_REQUEST_MODEL) or NO_MODEL
        groups.setdefault(str(key), Breakdown(str(key))).add(span)
    return sorted(groups.values(), key=lambda b: (-b.cost_usd, -b.calls, b.key))


# --- replay ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    """One chat message as text blocks: ``(label, text)`` where label is ``text``, ``call``, ..."""

    role: str
    blocks: list[tuple[str, str]]
    finish_reason: str | None = None


@dataclass(frozen=True)
class Step:
    """One replay step: an LLM call (prompt, completion) or a tool call (input, output)."""

    span: SpanRow
    offset_ms: float
    prompt: list[Message] | None = None
    completion: list[Message] | None = None
    tool_input: Any = None
    tool_output: Any = None

    @property
    def is_llm(self) -> bool:
        return self.span.agentops_kind == A.KIND_LLM

    @property
    def where(self) -> str:
        """The agent and operation the step ran in, e.g. ``email-assistant › classify``."""
        return where(self.span)

    @property
    def error(self) -> str | None:
        """Why the step's call failed, or ``None``."""
        return Node(self.span).error


def where(span: SpanRow) -> str:
    """The agent and operation a span ran in, e.g. ``email-assistant › classify``."""
    parts = [span.attributes.get(A.AGENT_NAME), span.attributes.get(A.OPERATION_NAME)]
    return " › ".join(str(p) for p in parts if p)


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _part_block(part: Any) -> tuple[str, str]:
    if not isinstance(part, dict):
        return "text", _compact(part)
    kind = part.get("type")
    if kind == "text" or kind == "reasoning":
        return kind, str(part.get("content", ""))
    if kind == "tool_call":
        return "call", f"{part.get('name')}({_compact(part.get('arguments', {}))})"
    if kind == "tool_call_response":
        return "result", _compact(part.get("response", ""))
    return str(kind or "part"), _compact({k: v for k, v in part.items() if k != "type"})


def parse_messages(value: Any) -> list[Message] | None:
    """GenAI-convention messages (a JSON string or a list) as :class:`Message` s, else None."""
    data = _loads(value)
    if not isinstance(data, list):
        return None
    messages = []
    for item in data:
        if not isinstance(item, dict):
            messages.append(Message("?", [("text", _compact(item))]))
            continue
        parts = item.get("parts")
        blocks = [_part_block(p) for p in parts] if isinstance(parts, list) else []
        messages.append(Message(str(item.get("role", "?")), blocks, item.get("finish_reason")))
    return messages


def replay_steps(spans: list[SpanRow]) -> list[Step]:
    """The session's LLM and tool calls in start order, with their content decoded."""
    start = min((s.start_ns for s in spans), default=0)
    steps = []
    for span in spans:
        offset = (span.start_ns - start) / 1e6
        attrs = span.attributes
        if span.agentops_kind == A.KIND_LLM:
            prompt = parse_messages(attrs.get(A.GEN_AI_INPUT_MESSAGES))
            system = _loads(attrs.get(A.GEN_AI_SYSTEM_INSTRUCTIONS))
            if system:  # instructions kept apart from the messages: a list of parts
                parts = system if isinstance(system, list) else [system]
                prompt = [Message("system", [_part_block(p) for p in parts]), *(prompt or [])]
            steps.append(
                Step(
                    span,
                    offset,
                    prompt=prompt,
                    completion=parse_messages(attrs.get(A.GEN_AI_OUTPUT_MESSAGES)),
                )
            )
        elif span.agentops_kind == A.KIND_TOOL:
            steps.append(
                Step(
                    span,
                    offset,
                    tool_input=_loads(attrs.get(A.GEN_AI_TOOL_CALL_ARGUMENTS)),
                    tool_output=_loads(attrs.get(A.GEN_AI_TOOL_CALL_RESULT)),
                )
            )
    return steps
