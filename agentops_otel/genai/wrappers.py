"""Wrapper factories for provider SDK methods: one LLM span around each model request.

An instrumentor describes a method with two functions: ``start(instance, args, kwargs,
content)`` reads the request and returns :func:`~agentops_otel.genai.start_llm_call`'s result,
and ``finish(call, result, args, kwargs, content)`` records the response and ends the span (or
hands back the result with its stream wrapped by :meth:`LLMCall.wrap_stream`). The factories
run the SDK call inside the span, contain our failures (a failing ``start`` lets the call run
bare, a failing ``finish`` ends the span and hands back the SDK's result) and let the SDK's own
exceptions pass through unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import Tracer

from agentops_otel import semconv as A
from agentops_otel.errors import BudgetExceededError, LoopDetectedError
from agentops_otel.genai import LLMCall, StreamAccumulator, capture_content, contain, start_llm_call
from agentops_otel.genai import openai_shapes as S

__all__ = [
    "COMMON_NUMBERS",
    "Finish",
    "Start",
    "method_wrappers",
    "numbers",
    "openai_chat_attributes",
    "openai_chat_wrappers",
    "server_of",
    "start_chat",
    "stop_sequences",
]

Start = Callable[[Any, tuple, dict, bool], "LLMCall | None"]
Finish = Callable[[LLMCall, Any, tuple, dict, bool], Any]
Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]


def _start(
    start: Start, what: str, instance: Any, args: tuple, kwargs: dict, content: bool
) -> LLMCall | None:
    try:
        return start(instance, args, kwargs, content)
    except (BudgetExceededError, LoopDetectedError):
        raise
    except Exception:  # noqa: BLE001
        contain(f"reading a {what} request")
        return None


def _finish(
    finish: Finish, what: str, call: LLMCall, result: Any, args: tuple, kwargs: dict, content: bool
) -> Any:
    try:
        return finish(call, result, args, kwargs, content)
    except Exception:  # noqa: BLE001
        contain(f"recording a {what} response")
        call.end()
        return result


def method_wrappers(start: Start, finish: Finish, what: str) -> tuple[Wrapper, Wrapper]:
    """``(sync wrapper, async wrapper)`` for a method and its ``async def`` twin.

    The sync wrapper also suits a method that returns an async iterator without awaiting
    (an async generator function): ``finish`` wraps it. ``what`` names the call in logs.
    """

    def sync_call(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        content = capture_content()
        call = _start(start, what, instance, args, kwargs, content)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            result = wrapped(*args, **kwargs)
        return _finish(finish, what, call, result, args, kwargs, content)

    async def async_call(
        wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict
    ) -> Any:
        content = capture_content()
        call = _start(start, what, instance, args, kwargs, content)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            result = await wrapped(*args, **kwargs)
        return _finish(finish, what, call, result, args, kwargs, content)

    return sync_call, async_call


@functools.lru_cache(maxsize=64)
def _split(url: str) -> tuple[str | None, int | None]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or None, port


def server_of(url: Any) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of a base URL (a string or an ``httpx.URL``)."""
    if url is None:
        return None, None
    try:
        return _split(str(url))
    except ValueError:
        return None, None


# Numeric request parameters most chat APIs name alike: (parameter, attribute) pairs.
COMMON_NUMBERS: tuple[tuple[str, str], ...] = (
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
    ("max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("frequency_penalty", A.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", A.GEN_AI_REQUEST_PRESENCE_PENALTY),
)


def numbers(source: Any, table: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``{attribute: value}`` for the numeric parameters of ``source`` (keyword arguments or an
    options object) named in ``table`` (``(parameter, attribute)`` pairs); SDK sentinels for
    "not given" are skipped."""
    out: dict[str, Any] = {}
    for name, key in table:
        value = S.field(source, name)
        if type(value) in (int, float):
            out[key] = value
    return out


def stop_sequences(value: Any) -> list[str] | None:
    """``gen_ai.request.stop_sequences`` from a ``stop`` parameter (a string or a list)."""
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, (list, tuple)) else None


def openai_chat_attributes(
    kwargs: dict[str, Any], table: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """Request attributes of an OpenAI-shaped chat call: the numbers in ``table``, ``stop``,
    ``n`` (when not 1) and a JSON ``response_format``."""
    attrs = numbers(kwargs, table)
    attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(kwargs.get("stop"))
    n = kwargs.get("n")
    if type(n) is int and n != 1:
        attrs[A.GEN_AI_REQUEST_CHOICE_COUNT] = n
    if S.field(kwargs.get("response_format"), "type") in ("json_object", "json_schema"):
        attrs[A.GEN_AI_OUTPUT_TYPE] = "json"
    return attrs


def start_chat(
    tracer: Tracer,
    provider: str,
    kwargs: dict[str, Any],
    server: tuple[str | None, int | None],
    attributes: dict[str, Any],
    content: bool,
) -> LLMCall | None:
    """Open ``chat {model}`` for a request with OpenAI-shaped ``model``, ``messages`` and
    ``tools`` keyword arguments; with ``content``, record the messages and tool definitions."""
    model = kwargs.get("model")
    messages = kwargs.get("messages")
    call = start_llm_call(
        tracer,
        operation=A.OP_CHAT,
        provider=provider,
        model=model if isinstance(model, str) else None,
        server_address=server[0],
        server_port=server[1],
        attributes=attributes,
        fingerprint=(provider, model, messages),
    )
    if call is not None and content:
        tools = kwargs.get("tools")
        call.set_input(
            S.chat_input_messages(messages) if isinstance(messages, (list, tuple)) else None,
            tools=tools if isinstance(tools, (list, tuple)) else None,
        )
    return call


def openai_chat_wrappers(
    tracer: Tracer,
    provider: str,
    *,
    server: Callable[[Any], tuple[str | None, int | None]],
    attributes: Callable[[dict[str, Any]], dict[str, Any]],
    accumulator: Callable[[bool], StreamAccumulator],
    stream: bool | None = None,
) -> tuple[Wrapper, Wrapper]:
    """Wrappers for the chat method of an OpenAI-compatible SDK (Groq, Mistral): the reply is
    an OpenAI ``chat.completion``, or a stream read by ``accumulator(content)``. ``server``
    gives the address from the method's instance, ``attributes`` the request parameters from
    its keyword arguments; ``stream`` says whether the method streams (``None``: when called
    with ``stream=True``). A ``with_raw_response`` call is recorded from the body the SDK
    parsed; a raw stream is the caller's to read, and its span ends without usage."""

    def start(instance: Any, args: tuple, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        return start_chat(tracer, provider, kwargs, server(instance), attributes(kwargs), content)

    def finish(
        call: LLMCall, result: Any, args: tuple, kwargs: dict[str, Any], content: bool
    ) -> Any:
        streamed = stream if stream is not None else kwargs.get("stream") is True
        raw = callable(getattr(result, "parse", None)) and hasattr(result, "http_response")
        if streamed and not raw:
            return call.wrap_stream(result, accumulator(content))
        if not streamed:  # a ``with_raw_response`` result: its parse() is cached by the SDK
            S.record_chat_completion(call, result.parse() if raw else result, content)
        call.end()
        return result

    return method_wrappers(start, finish, f"{provider} chat")
