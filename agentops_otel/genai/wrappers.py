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

from agentops_otel.errors import BudgetExceededError, LoopDetectedError
from agentops_otel.genai import LLMCall, capture_content, contain

__all__ = ["Finish", "Start", "method_wrappers", "server_of"]

Start = Callable[[Any, tuple, dict, bool], "LLMCall | None"]
Finish = Callable[[LLMCall, Any, tuple, dict, bool], Any]
Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]


def _start(start: Start, what: str, instance: Any, args: tuple, kwargs: dict,
           content: bool) -> LLMCall | None:
    try:
        return start(instance, args, kwargs, content)
    except (BudgetExceededError, LoopDetectedError):
        raise
    except Exception:  # noqa: BLE001
        contain(f"reading a {what} request")
        return None


def _finish(finish: Finish, what: str, call: LLMCall, result: Any, args: tuple, kwargs: dict,
            content: bool) -> Any:
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

    def sync_call(wrapped: Callable[..., Any], instance: Any, args: tuple,
                  kwargs: dict) -> Any:
        content = capture_content()
        call = _start(start, what, instance, args, kwargs, content)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            result = wrapped(*args, **kwargs)
        return _finish(finish, what, call, result, args, kwargs, content)

    async def async_call(wrapped: Callable[..., Any], instance: Any, args: tuple,
                         kwargs: dict) -> Any:
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
