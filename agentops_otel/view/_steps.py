"""Replay steps as the viewers show them: tool arguments by name, a call's usage in one line
(only the parts that are known), and the running cost and tokens up to each step."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agentops_otel.view import _format
from agentops_otel.view._model import Node, Step


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def named_arguments(value: Any) -> list[tuple[str, str]] | None:
    """A tool's arguments as ``(name, value)``: the keys of a JSON object; for our decorators'
    ``{"args": [...], "kwargs": {...}}`` the positional ones as ``#0``, ``#1`` then the named.
    ``None`` when the arguments are not an object (shown as they are)."""
    if not isinstance(value, dict):
        return None
    if set(value) == {"args", "kwargs"} and isinstance(value["kwargs"], dict):
        positional = value["args"] if isinstance(value["args"], list) else [value["args"]]
        return [(f"#{i}", _text(v)) for i, v in enumerate(positional)] + [
            (str(k), _text(v)) for k, v in value["kwargs"].items()
        ]
    return [(str(k), _text(v)) for k, v in value.items()]


def call_usage(step: Step) -> str:
    """``62 in (15 cached) / 3 out · $0.00000998`` for an LLM call, the known parts only:
    empty for a failed call that used nothing, no ``/`` for an embedding without output."""
    if not step.is_llm:
        return ""
    node = Node(step.span)
    parts = [node.tokens_text, node.cost_text]
    return " · ".join(p for p in parts if p != _format.NO_VALUE)


@dataclass(frozen=True)
class Progress:
    """A step with the session's cost and tokens so far (this step included)."""

    step: Step
    cost_usd: float
    input_tokens: int
    output_tokens: int


def running_totals(steps: list[Step]) -> list[Progress]:
    """Each step with the cost and tokens of the LLM calls up to it."""
    cost, tokens_in, tokens_out = 0.0, 0, 0
    out = []
    for step in steps:
        if step.is_llm:
            cost += step.span.cost_usd or 0.0
            tokens_in += step.span.input_tokens or 0
            tokens_out += step.span.output_tokens or 0
        out.append(Progress(step, cost, tokens_in, tokens_out))
    return out
