"""Full-text search: what a span's searchable text is and its index rows (the writer, the log
attacher, the schema migration; the ClickHouse reader searches the same keys), and the search
box's small language, shared by the SQLite and the ClickHouse readers.

Text is searched by words: a word is a run of letters and digits (anything else separates
words), compared without case and without diacritics (``zurich`` finds "Zürich"). A bare word
matches the start of a word (``dupl`` finds "duplicate"; a trailing ``*`` says the same), and
a bare term of several words (``ok_do``) those words in a row, the last one as a prefix;
``"a phrase"`` matches whole words in that order; ``OR`` between terms separates
alternatives, and the terms of one alternative must all match in the same span. Characters
that are not part of a word are never syntax of the database's own query language, and a
term with no word in it (``%``) finds nothing by itself.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentops_otel import semconv as A

# What full-text search looks in (on the span and on its events), and how much of it per span:
# a conversation repeats its history in every call, so the first part of each is enough.
SEARCHED_KEYS = (
    A.GEN_AI_INPUT_MESSAGES,
    A.GEN_AI_OUTPUT_MESSAGES,
    A.GEN_AI_SYSTEM_INSTRUCTIONS,
    A.GEN_AI_TOOL_CALL_ARGUMENTS,
    A.GEN_AI_TOOL_CALL_RESULT,
    A.INPUT,
    A.OUTPUT,
    A.SESSION_NAME,
    A.AGENT_NAME,
)
SEARCH_CHARS = 100_000

# The index: one row per stored span (its rowid is the span's rowid in ``spans``), words only
# (no copy of the text: it is recomputed from the stored attributes to delete a row).
INDEX_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS span_text USING fts5 (text, content = '', "
    "columnsize = 0, tokenize = 'unicode61 remove_diacritics 2')"
)
_PLAIN = (int, float, type(None))  # bool is an int


def _strings(values: Iterable[Any], out: list[str]) -> None:
    """The string leaves of decoded attribute values (JSON keys left out: they match
    everything). A value JSON cannot hold counts as its ``str``, as the stored JSON has it, so
    the text recomputed from the stored attributes is the text that was indexed."""
    for value in values:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            _strings(value.values(), out)
        elif isinstance(value, (list, tuple)):
            _strings(value, out)
        elif not isinstance(value, _PLAIN):
            out.append(str(value))


def _json_strings(value: Any, out: list[str], calls: int = 0) -> None:
    """:func:`_strings` of a decoded JSON list or object (nothing but lists, objects,
    strings, numbers, booleans and nulls in it): the same leaves, fewer checks, two levels a
    call (a message list is a list of objects of lists of objects); past 32 calls deep, the
    walk goes on without recursion (:func:`_deep_json_strings`)."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is str:
            out.append(item)
        elif kind is dict or kind is list:
            for inner in item.values() if kind is dict else item:
                inner_kind = type(inner)
                if inner_kind is str:
                    out.append(inner)
                elif inner_kind is dict or inner_kind is list:
                    if calls < 32:
                        _json_strings(inner, out, calls + 1)
                    else:
                        _deep_json_strings(inner, out)


def _deep_json_strings(value: Any, out: list[str]) -> None:
    """:func:`_json_strings` with a stack of its own: JSON nested deeper than the
    interpreter's recursion limit (which Python 3.12+ decodes) is walked all the same."""
    stack = [iter(value.values() if type(value) is dict else value)]
    while stack:
        for item in stack[-1]:
            kind = type(item)
            if kind is str:
                out.append(item)
            elif kind is dict or kind is list:
                stack.append(iter(item.values() if kind is dict else item))
                break
        else:
            stack.pop()


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # json.loads, no wrappers


def _decoded(text: str) -> Any:
    """``json.loads(text)``, else ``text`` (not JSON, or nested too deep to decode). The
    scanner alone when it reads all of ``text``; anything else (an error, text after the
    value) goes the way of ``json.loads``."""
    try:
        value, end = _scan(text, 0)
    except Exception:  # noqa: BLE001 - json.loads below says what it is
        end = -1
    if end == len(text):
        return value
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def search_text(attrs: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> str:
    """The searchable text of a span: the string values inside its prompts, completions,
    system instructions and tool payloads (JSON-encoded or not), cut to SEARCH_CHARS."""
    found: list[str] = []
    for source in (attrs, *(e.get("attributes") or {} for e in events)):
        for key in SEARCHED_KEYS:
            value = source.get(key)
            if value is None:
                continue
            if isinstance(value, str):
                if value[:1] in ("[", "{"):
                    value = _decoded(value)
                    if type(value) is not str:  # a list or an object
                        _json_strings(value, found)
                        continue
                found.append(value)
            else:
                _strings((value,), found)
    text = "\n".join(found)[:SEARCH_CHARS]
    return text if text.isascii() else utf8_text(text)


def utf8_text(text: str) -> str:
    """``text`` as SQLite can take it: a lone surrogate (a string decoded with
    ``surrogateescape``, a JSON ``\\ud800`` escape) has no UTF-8 form and is escaped as
    ``\\ud800``; any other text is returned as it is."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def index_text(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """Index spans given as ``(rowid in spans, searchable text)`` (empty texts are skipped)."""
    conn.executemany("INSERT INTO span_text (rowid, text) VALUES (?, ?)", (r for r in rows if r[1]))


def unindex_text(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> None:
    """Take spans out of the index: ``(rowid, the text they were indexed with)``."""
    conn.executemany(
        "INSERT INTO span_text (span_text, rowid, text) VALUES ('delete', ?, ?)",
        (r for r in rows if r[1]),
    )


# --- the search language ---------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    """Words that must follow each other (lowercase, without diacritics); with ``prefix``,
    the last one may be the start of a longer word."""

    words: tuple[str, ...]
    prefix: bool


_WORD = re.compile(r"[^\W_]+")  # letters and digits
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def words_of(text: str) -> tuple[str, ...]:
    """``text``'s words as the index keeps them: lowercase, diacritics removed."""
    folded = text.lower()
    if not folded.isascii():
        folded = _MARKS.sub("", unicodedata.normalize("NFD", folded))
    return tuple(_WORD.findall(folded))


def _has(words: tuple[str, ...], term: Term) -> bool:
    *head, last = term.words
    n = len(head)
    for i in range(len(words) - n):
        word = words[i + n]
        found = word.startswith(last) if term.prefix else word == last
        if found and list(words[i : i + n]) == head:
            return True
    return False


def matches(groups: list[list[Term]], text: str) -> bool:
    """Whether ``text`` matches parsed alternatives as the index would (for spans that are not
    in the index yet)."""
    words = words_of(text)
    return any(all(_has(words, term) for term in group) for group in groups)


_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def parse_search(q: str) -> list[list[Term]]:
    """``q`` as alternatives (``OR``), each a list of terms that must all match; empty when
    ``q`` has no word to find.

    ``OR`` is an operator only between two terms; alone, first or last it is a word. Terms
    without a word are left out (and an alternative left with none)."""
    tokens: list[tuple[str, bool]] = []  # (text, quoted)
    for match in _TOKEN.finditer(q):
        quoted = match.group(1) is not None
        tokens.append((match.group(1) if quoted else match.group(2), quoted))
    groups: list[list[Term]] = [[]]
    for i, (text, quoted) in enumerate(tokens):
        if not quoted and text == "OR" and 0 < i < len(tokens) - 1:
            groups.append([])
        elif words := words_of(text):
            groups[-1].append(Term(words, not quoted))
    return [group for group in groups if group]


def fts_query(groups: list[list[Term]]) -> str:
    """The FTS5 query for parsed alternatives: quoted words only, never user syntax."""
    return " OR ".join(
        "("
        + " AND ".join(f'"{" ".join(t.words)}"' + (" *" if t.prefix else "") for t in group)
        + ")"
        for group in groups
    )


_NOT_WORD = r"[^\p{L}\p{N}\p{Co}]"


def term_pattern(term: Term) -> str:
    """A regular expression (RE2) for ``term`` in text folded like the index's words
    (lowercase, combining marks removed): the same matches as :func:`fts_query`'s."""
    body = f"{_NOT_WORD}+".join(re.escape(w) for w in term.words)
    return f"(?:^|{_NOT_WORD}){body}" + ("" if term.prefix else f"(?:{_NOT_WORD}|$)")
