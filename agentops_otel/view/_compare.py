"""Two sessions side by side, step by step (their LLM and tool calls in start order), with the
first step where they differ: "what changed between the run that worked and the one that
burned money"."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest

from agentops_otel.store import SpanRow
from agentops_otel.view._model import Message, Node, Step, replay_steps
from agentops_otel.view._steps import named_arguments


def messages_text(messages: list[Message] | None) -> str:
    """Messages as plain text, one ``role: text`` block per message."""
    if not messages:
        return ""
    return "\n\n".join(
        f"{m.role}: "
        + "\n".join(text if label == "text" else f"[{label}] {text}" for label, text in m.blocks)
        for m in messages
    )


@dataclass(frozen=True)
class Side:
    """One session's step as compared: what it did and what it used."""

    step: Step

    @property
    def node(self) -> Node:
        return Node(self.step.span)

    @property
    def kind(self) -> str:
        return "LLM" if self.step.is_llm else "tool"

    @property
    def input_text(self) -> str:
        """The prompt, or the tool's arguments with their names."""
        if self.step.is_llm:
            return messages_text(self.step.prompt)
        return _value_text(self.step.tool_input)

    @property
    def output_text(self) -> str:
        """The completion, or the tool's result."""
        if self.step.is_llm:
            return messages_text(self.step.completion)
        return _value_text(self.step.tool_output)

    def signature(self) -> tuple[object, ...]:
        span = self.step.span
        return (
            self.kind,
            span.name,
            span.model,
            span.status_code,
            self.input_text,
            self.output_text,
        )


def _value_text(value: object) -> str:
    if value is None:
        return ""
    named = named_arguments(value)
    if named is not None:
        return "\n".join(f"{k}: {v}" for k, v in named)
    return str(value)


@dataclass(frozen=True)
class Pair:
    """Step ``index`` (0-based) of each session; a side is ``None`` past that session's end.
    ``differs`` names what differs: ``kind``, ``name``, ``model``, ``status``, ``input``,
    ``output``."""

    index: int
    a: Side | None
    b: Side | None
    differs: frozenset[str]

    @property
    def same(self) -> bool:
        return not self.differs


_FIELDS = ("kind", "name", "model", "status", "input", "output")


def compare_steps(a: list[SpanRow], b: list[SpanRow]) -> tuple[list[Pair], int | None]:
    """The two sessions' steps paired by position, and the index of the first pair that
    differs (``None`` when the runs did the same steps with the same content)."""
    pairs = []
    first = None
    steps = zip_longest(replay_steps(a), replay_steps(b))
    for index, (left, right) in enumerate(steps):
        side_a = Side(left) if left is not None else None
        side_b = Side(right) if right is not None else None
        if side_a is None or side_b is None:
            differs = frozenset(_FIELDS)
        else:
            differs = frozenset(
                name
                for name, x, y in zip(_FIELDS, side_a.signature(), side_b.signature(), strict=True)
                if x != y
            )
        if differs and first is None:
            first = index
        pairs.append(Pair(index, side_a, side_b, differs))
    return pairs, first
