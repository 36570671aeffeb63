"""Rewrite README.md's table of settings from ``agentops_otel._config.OPTIONS``.

The table sits between ``<!-- settings:start -->`` and ``<!-- settings:end -->``; run
``python3 scripts/sync_readme.py`` after changing an option (``tests/test_config.py`` fails
while the README is stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- settings:start -->\n", "<!-- settings:end -->\n"


def render(text: str) -> str:
    """``text`` (the README) with the table between the markers rewritten."""
    sys.path.insert(0, str(ROOT))
    from agentops_otel._config import markdown_table

    head, sep, rest = text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"README.md lacks the lines {START.strip()} / {END.strip()}")
    return head + START + markdown_table() + END + tail


if __name__ == "__main__":
    old = README.read_text(encoding="utf-8")
    new = render(old)
    if new != old:
        README.write_text(new, encoding="utf-8")
        print("README.md: settings table updated")
