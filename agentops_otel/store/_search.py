"""The search box's small language, shared by the SQLite and the ClickHouse readers: words
(each a case-insensitive substring), ``"a phrase"`` (one substring, spaces included), ``word*``
(a prefix: matched as a substring, like every word) and ``OR`` between alternatives. Everything
else is text to find, never syntax of the database's own query language."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def parse_search(q: str) -> list[list[str]]:
    """``q`` as alternatives (``OR``), each a list of terms that must all match.

    ``OR`` is an operator only between two terms; alone, first or last it is a word. A
    trailing ``*`` is dropped (``dupl*`` finds "duplicate"); ``*`` alone is a character to
    find. Empty phrases are ignored; a query of nothing else is searched for as it is."""
    tokens: list[tuple[str, bool]] = []  # (text, quoted)
    for match in _TOKEN.finditer(q):
        if match.group(1) is not None:
            if match.group(1).strip():
                tokens.append((match.group(1), True))
        else:
            word = match.group(2)
            tokens.append((word[:-1] if len(word) > 1 and word.endswith("*") else word, False))
    groups: list[list[str]] = [[]]
    for i, (text, quoted) in enumerate(tokens):
        operator = not quoted and text == "OR" and 0 < i < len(tokens) - 1
        if operator and groups[-1]:
            groups.append([])
        elif not operator:
            groups[-1].append(text)
    return [group for group in groups if group] or [[q.strip()]]
