"""Checks that every provider instrumentor's tests make, written once.

span = only_llm(capture)
assert output_parts(span) == [{"type": "text", "content": text}]
check_chaining_theirs_over_ours(MyInstrumentor(), Models, "_generate_content", call)
check_counted_once_when_nested(capture, call)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.testing.spans import SpanCapture


def only_llm(cap: SpanCapture) -> Any:
    """The one LLM span captured (fails when there are none or several)."""
    spans = cap.of_kind(A.KIND_LLM)
    assert len(spans) == 1, [s.name for s in cap.spans]
    return spans[0]


def output_parts(span: Any) -> list[dict[str, Any]]:
    """The parts of the one assistant message recorded as the span's output."""
    messages = json.loads(span.attributes[A.GEN_AI_OUTPUT_MESSAGES])
    assert len(messages) == 1 and messages[0]["role"] == "assistant"
    return messages[0]["parts"]


def check_chaining_theirs_over_ours(
    instrumentor: Any, owner: type, name: str, call: Callable[[], Any]
) -> None:
    """Another vendor wraps ``owner.name`` over ours: both run; once ours is uninstrumented,
    theirs still runs and ours records nothing. ``owner.name`` is restored afterwards."""
    import wrapt

    original = owner.__dict__[name]
    cap, calls = SpanCapture(), []

    def theirs(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        calls.append("theirs")
        return wrapped(*args, **kwargs)

    instrumentor.instrument(tracer_provider=cap.provider)
    try:
        wrapt.wrap_function_wrapper(owner, name, theirs)
        call()
        assert calls == ["theirs"] and len(cap.of_kind(A.KIND_LLM)) == 1
        instrumentor.uninstrument()
        call()
        assert calls == ["theirs", "theirs"] and len(cap.of_kind(A.KIND_LLM)) == 1
    finally:
        instrumentor.uninstrument()
        setattr(owner, name, original)


def check_counted_once_when_nested(cap: SpanCapture, call: Callable[[], Any]) -> None:
    """A framework's LLM span already current: the SDK call adds no second LLM span."""
    from agentops_otel.genai import start_llm_call

    outer = start_llm_call(
        cap.provider.get_tracer("framework"), operation="chat", provider="framework", model="m"
    )
    assert outer is not None
    with outer:
        call()
    outer.end()
    assert len(cap.of_kind(A.KIND_LLM)) == 1
