"""Rich renderables for the viewer: the sessions table, the session tree and breakdowns, and
one replay step. Imported only by commands that draw (rich is the ``cli`` extra)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from agentops_otel.store import SessionRow, SpanRow
from agentops_otel.view import _format
from agentops_otel.view._model import (
    Breakdown,
    Message,
    Node,
    Step,
    breakdown,
    build_tree,
    short_id,
)

_KIND_STYLES = {
    "session": "bold magenta",
    "workflow": "bold blue",
    "agent": "bold cyan",
    "operation": "bold green",
    "task": "bold green",
    "tool": "bold yellow",
    "llm": "bold white",
}
_STATE_STYLES = {"Success": "green", "Fail": "red", "Indeterminate": "yellow"}
_ROLE_STYLES = {"system": "magenta", "user": "cyan", "assistant": "green", "tool": "yellow"}


# --- formatting (numbers from the one formatter the dashboard uses too) -----------------------
def fmt_time(ns: int | None, *, short: bool = False) -> str:
    """Local time; ``short``: the time alone today, else month-day and minutes."""
    if ns is None:
        return "—"
    when = datetime.fromtimestamp(ns / 1e9)
    if not short:
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return when.strftime("%H:%M:%S" if when.date() == datetime.now().date() else "%m-%d %H:%M")


def _state(session: SessionRow) -> Text:
    if session.running:
        return Text("running", style="yellow")
    state = session.end_state or "?"
    return Text(state, style=_STATE_STYLES.get(state, ""))


def _session_flags(session: SessionRow) -> str:
    flags = []
    if session.loop_detected:
        flags.append("loop")
    if session.budget_exceeded:
        flags.append("budget")
    return ", ".join(flags)


# --- sessions ----------------------------------------------------------------------------------
def sessions_table(sessions: Sequence[SessionRow], width: int = 120) -> Table:
    """Recent sessions, newest first. Loop / budget flags go under the state; tags get a
    column when the terminal is ``width`` >= 110 and some session has them."""
    with_tags = width >= 110 and any(s.tags for s in sessions)
    table = Table(
        title="Sessions",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    # Numbers never shrink; on a narrow terminal the text columns wrap instead.
    table.add_column("ID", style="bold", no_wrap=True, min_width=8)
    table.add_column("Name", max_width=24)
    table.add_column("Started")
    for name in ("Took", "State", "Calls", "Tokens", "Cost", "Err"):
        table.add_column(name, justify="left" if name == "State" else "right", no_wrap=True)
    if with_tags:
        table.add_column("Tags", max_width=24)
    for s in sessions:
        state = _state(s)
        if _session_flags(s):
            state.append(f"\n{_session_flags(s)}", style="red")
        row: list[RenderableType] = [
            short_id(s.id),
            s.name or "",
            fmt_time(s.start_ns, short=True),
            _format.duration(s.duration_ms),
            state,
            str(s.llm_calls),
            f"{s.input_tokens:,}/{s.output_tokens:,}",
            _format.cost(s.cost_usd),
            Text(str(s.errors), style="red" if s.errors else ""),
        ]
        if with_tags:
            row.append(", ".join(s.tags))
        table.add_row(*row)
    return table


# --- show ----------------------------------------------------------------------------------------
def _node_label(node: Node) -> Text:
    text = Text()
    style = _KIND_STYLES.get(node.kind, "dim")
    text.append(f"{node.kind} ", style=f"{style} dim" if node.kind == "llm" else style)
    text.append(node.label, style="red bold" if node.error else style)
    details = []
    if node.is_llm and node.span.model and node.span.model not in node.label:
        details.append(node.span.model)
    if node.llm_calls:
        details.append(f"{node.llm_calls} call{'s' if node.llm_calls != 1 else ''}")
    if node.input_tokens is not None or node.output_tokens is not None:
        details.append(node.tokens_text)
    if node.cost_usd is not None or node.is_llm:
        details.append(node.cost_text)
    details.append(_format.duration(node.span.duration_ms))
    text.append("  " + " · ".join(details), style="dim" if not node.is_llm else "")
    if node.error:
        text.append(f"  ✗ {node.error}", style="red")
    for flag in node.flags:
        text.append(f"  ⚠ {flag}", style="yellow")
    return text


def _add(tree: Tree, node: Node) -> None:
    branch = tree.add(_node_label(node))
    for child in node.children:
        _add(branch, child)


def session_tree(session: SessionRow, spans: Sequence[SpanRow]) -> Tree:
    """session → workflow / agent → operation / task / tool → LLM call."""
    roots = build_tree(spans)
    # The session span is normally the only root; anything else hangs under the session line.
    session_root = next((r for r in roots if r.kind == "session"), None)
    if session_root is not None and len(roots) == 1:
        tree = Tree(_node_label(session_root), guide_style="dim")
        children = session_root.children
    else:
        tree = Tree(
            Text(f"session {session.name or ''}", style=_KIND_STYLES["session"]), guide_style="dim"
        )
        children = roots
    for child in children:
        _add(tree, child)
    return tree


def _summary(session: SessionRow) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row(
        "Session", Text(f"{session.id}  ", style="bold").append(session.name or "", style="magenta")
    )
    grid.add_row(
        "Started", f"{fmt_time(session.start_ns)}  ({_format.duration(session.duration_ms)})"
    )
    state = _state(session)
    if session.end_reason:
        state.append(f"  {session.end_reason}", style="dim")
    grid.add_row("End state", state)
    if session.tags:
        grid.add_row("Tags", ", ".join(session.tags))
    grid.add_row("LLM calls", str(session.llm_calls))
    grid.add_row("Tokens", _format.tokens(session.input_tokens, session.output_tokens))
    grid.add_row("Cost", Text(_format.cost(session.cost_usd), style="bold"))
    grid.add_row("Errors", Text(str(session.errors), style="red bold" if session.errors else ""))
    if _session_flags(session):
        grid.add_row("Flags", Text(_session_flags(session), style="red bold"))
    return grid


def _breakdown_table(title: str, column: str, rows: Sequence[Breakdown]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(column)
    for name in ("Calls", "Errors", "Input tokens", "Output tokens", "Cost"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row.key,
            str(row.calls),
            Text(str(row.errors), style="red" if row.errors else ""),
            f"{row.input_tokens:,}",
            f"{row.output_tokens:,}",
            _format.cost(row.cost_usd),
        )
    return table


def session_view(session: SessionRow, spans: Sequence[SpanRow]) -> RenderableType:
    """Summary, the tree, then cost by agent and by model."""
    parts: list[RenderableType] = [_summary(session), Text(), session_tree(session, spans)]
    for by, title, column in (
        ("agent", "Cost by agent", "Agent"),
        ("model", "Cost by model", "Model"),
    ):
        rows = breakdown(spans, by)
        if rows:
            parts += [Text(), _breakdown_table(title, column, rows)]
    return Group(*parts)


# --- replay --------------------------------------------------------------------------------------
def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def _messages(title: str, messages: list[Message] | None) -> list[RenderableType]:
    out: list[RenderableType] = [Text(title, style="bold underline")]
    if messages is None:
        return [*out, Padding(Text("(content not captured)", style="dim"), (0, 0, 0, 2))]
    for message in messages:
        head = Text(f"{message.role}", style=f"bold {_ROLE_STYLES.get(message.role, '')}")
        if message.finish_reason:
            head.append(f"  (finish: {message.finish_reason})", style="dim")
        out.append(Padding(head, (0, 0, 0, 2)))
        for label, body in message.blocks or [("text", "")]:
            prefix = {"call": "→ tool call ", "result": "← tool result "}.get(label, "")
            out.append(Padding(Text(prefix, style="yellow").append(body, style=""), (0, 0, 0, 4)))
    return out


def replay_step(step: Step, index: int, total: int) -> RenderableType:
    """One step: header, then prompt and completion, or tool input and output."""
    span = step.span
    head = Text(f"Step {index + 1}/{total}", style="bold reverse")
    head.append("  ")
    kind = "llm" if step.is_llm else "tool"
    head.append(f"{kind} ", style=_KIND_STYLES[kind])
    head.append(span.name, style="bold")
    if step.where:
        head.append(f"  in {step.where}", style="cyan")
    facts = [f"+{_format.duration(step.offset_ms)}", f"took {_format.duration(span.duration_ms)}"]
    node = Node(span)
    if step.is_llm:
        if span.model:
            facts.append(span.model)
        facts += [node.tokens_text, node.cost_text]
    parts: list[RenderableType] = [head, Text(" · ".join(facts), style="dim")]
    error = node.error
    if error:
        parts.append(Text(f"✗ failed: {error}", style="red bold"))
    parts.append(Text())
    if step.is_llm:
        parts += _messages("Prompt", step.prompt)
        parts.append(Text())
        if step.completion is not None or not error:
            parts += _messages("Completion", step.completion)
    else:
        for title, value in (("Input", step.tool_input), ("Output", step.tool_output)):
            body = "(not captured)" if value is None else _pretty(value)
            parts += [
                Text(title, style="bold underline"),
                Padding(Text(body), (0, 0, 0, 2)),
                Text(),
            ]
    return Group(*parts)
