"""Content rendering stays valid JSON and bounded however long the conversation or the text."""

from __future__ import annotations

import json

from agentops_otel import _content


def test_long_conversation_keeps_recent_messages_and_converts_only_those():
    converted = []

    def convert(message):
        converted.append(message)
        return {"role": "user", "parts": [{"type": "text", "content": message}]}

    history = [f"message {i}" for i in range(10_000)]
    rendered = json.loads(_content.messages_json(_content.Converted(history, convert), "k"))
    assert len(rendered) == _content._MAX_MESSAGES + 1
    assert rendered[-1]["parts"][0]["content"] == "message 9999"
    assert "earlier messages omitted" in rendered[0]["parts"][0]["content"]
    assert len(converted) <= _content._MAX_MESSAGES + 1  # the rest were never converted


def test_huge_messages_are_cut_within_the_character_budget():
    history = [{"role": "user", "content": "x" * 1_000_000} for _ in range(20)]
    text = _content.messages_json(history, "k", limit=1_000)
    rendered = json.loads(text)
    assert len(text) < 5 * 1_000 + 500
    assert "truncated" in rendered[-1]["content"]
