"""Streamed Chat Completions content joined by ``ChatStreamAccumulator``: the text-only fast
path and the full path give the same messages, for SDK models and for plain dicts."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk

from agentops_otel.genai.openai_shapes import ChatStreamAccumulator


def _chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


CHUNKS = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Hel"}),
    _chunk({"content": "lo "}),
    _chunk({"content": "wörld"}),
    _chunk({"refusal": "no"}),
    _chunk({"tool_calls": [{"index": 0, "id": "t1", "function": {"name": "f", "arguments": ""}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": '}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
    _chunk({"content": "!"}, finish="tool_calls"),
    _chunk({"role": "assistant", "content": "second"}, finish="stop", index=1),
]
EXPECTED = [
    {
        "role": "assistant",
        "parts": [
            {"type": "text", "content": "Hello wörld!"},
            {"type": "text", "content": "no"},
            {"type": "tool_call", "id": "t1", "name": "f", "arguments": {"a": 1}},
        ],
        "finish_reason": "tool_calls",
    },
    {
        "role": "assistant",
        "parts": [{"type": "text", "content": "second"}],
        "finish_reason": "stop",
    },
]


@pytest.mark.parametrize("kind", ["dict", "model"])
def test_deltas_join_alike_for_dicts_and_models(kind: str) -> None:
    acc = ChatStreamAccumulator(content=True)
    for chunk in CHUNKS:
        acc.add(chunk if kind == "dict" else ChatCompletionChunk.model_validate(chunk))
    assert acc.output_messages() == EXPECTED


def test_a_model_delta_with_a_role_midway_takes_the_role() -> None:
    acc = ChatStreamAccumulator(content=True)
    for delta in ({"content": "a"}, {"role": "developer", "content": "b"}):
        acc.add(ChatCompletionChunk.model_validate(_chunk(delta)))
    assert acc.output_messages() == [
        {"role": "developer", "parts": [{"type": "text", "content": "ab"}], "finish_reason": ""}
    ]


def test_content_off_keeps_no_text() -> None:
    acc = ChatStreamAccumulator(content=False)
    for chunk in CHUNKS:
        acc.add(ChatCompletionChunk.model_validate(chunk))
    assert acc.output_messages() == []
