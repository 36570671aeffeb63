"""Stream proxies chosen by the entry point, not by the stream's shape.

``CustomStreamWrapper`` implements both ``__next__`` and ``__anext__``, so the core's
``LLMCall.wrap_stream`` (which picks the async proxy for anything async-iterable) would hand a
``completion(stream=True)`` caller an async proxy whose sync iteration bypasses us. litellm's async
streams also close with ``aclose()``, which the core proxy does not intercept. Both belong in the
core; until then this module reuses its proxies.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from agentops_otel.genai import LLMCall, StreamAccumulator
from agentops_otel.genai._stream import AsyncStream, SyncStream

_log = logging.getLogger(__name__)


class _AsyncStream(AsyncStream):
    """The core async proxy plus ``aclose()``, which ends the span like ``close()``."""

    async def aclose(self) -> Any:
        try:
            result = self.__wrapped__.aclose()
            if inspect.isawaitable(result):
                result = await result
            return result
        finally:
            self._self_done()


def wrap(call: LLMCall, stream: Any, accumulator: StreamAccumulator, asynchronous: bool) -> Any:
    """``stream`` behind the sync or async proxy; on failure the bare stream, span ended."""
    try:
        return (_AsyncStream if asynchronous else SyncStream)(stream, call, accumulator)
    except Exception:  # noqa: BLE001
        _log.debug("agentops-otel: wrapping a litellm stream failed", exc_info=True)
        call.end()
        return stream
