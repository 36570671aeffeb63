"""``agentops-otel replay``: the session's LLM and tool calls in time order.

In a terminal it shows one step at a time (next / previous / quit keys); otherwise, or with
``--no-interactive``, it prints every step one after the other.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from agentops_otel.cli._render import replay_step
from agentops_otel.view._model import Step

NEXT, PREV, FIRST, LAST, QUIT = "next", "prev", "first", "last", "quit"
_KEYS = {
    "n": NEXT,
    "j": NEXT,
    " ": NEXT,
    "\r": NEXT,
    "\n": NEXT,
    "\x1b[C": NEXT,
    "\x1b[B": NEXT,
    "p": PREV,
    "k": PREV,
    "b": PREV,
    "\x1b[D": PREV,
    "\x1b[A": PREV,
    "g": FIRST,
    "\x1b[H": FIRST,
    "G": LAST,
    "\x1b[F": LAST,
    "q": QUIT,
    "\x1b": QUIT,
    "\x03": QUIT,
    "\x04": QUIT,
}
HELP = "n/→/space next · p/← previous · g first · G last · q quit"


def can_interact() -> bool:
    """Both ends are a terminal and we can read single keys from it."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        import termios  # noqa: F401
        import tty  # noqa: F401
    except ImportError:  # Windows: plain output
        return False
    return True


def print_all(console: Console, steps: Sequence[Step]) -> None:
    for index, step in enumerate(steps):
        console.print(Rule(style="dim"))
        console.print(replay_step(step, index, len(steps)))


def _read_key(fd: int) -> str:
    """One key press (an arrow key arrives as one escape sequence); end of input quits."""
    return os.read(fd, 8).decode("utf-8", "replace") or "\x04"


def interact(console: Console, steps: Sequence[Step]) -> None:
    """Show one step at a time until the user quits."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    index = 0
    try:
        while True:
            console.clear()
            console.print(replay_step(steps[index], index, len(steps)))
            footer = Text(HELP, style="dim")
            if index == len(steps) - 1:
                footer = Text("end of session · ", style="bold").append(HELP, style="dim")
            console.print(Rule(style="dim"))
            console.print(footer)
            action = _KEYS.get(_read_key(fd))
            if action == QUIT:
                break
            if action == NEXT:
                index = min(index + 1, len(steps) - 1)
            elif action == PREV:
                index = max(index - 1, 0)
            elif action == FIRST:
                index = 0
            elif action == LAST:
                index = len(steps) - 1
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
