"""Stream proxies: the SDK's stream object, unchanged to the user, with the span ended once."""

from __future__ import annotations

import inspect
import weakref
from typing import Any

import wrapt

from agentops_otel import semconv as A
from agentops_otel.genai._contain import contain


def _finish(
    call: Any, accumulator: Any, exc: BaseException | None = None, abandoned: bool = False
) -> None:
    try:
        accumulator.finish(call)
    except Exception:  # noqa: BLE001
        contain("reading a streamed response")
    if exc is not None:
        call.fail(exc)
    elif abandoned:
        try:
            call.span.set_attribute(A.STREAM_ABANDONED, True)
        except Exception:  # noqa: BLE001
            pass
    call.end()


class _StreamProxy(wrapt.ObjectProxy):
    def __init__(self, wrapped: Any, call: Any, accumulator: Any) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_acc = accumulator
        self._self_add = accumulator.add
        self._self_finalizer = weakref.finalize(self, _finish, call, accumulator, None, True)
        self._self_iterator: Any = None
        self._self_waiting = True  # for the first chunk

    def _self_chunk(self, chunk: Any) -> None:
        if self._self_waiting:
            self._self_waiting = False
            self._self_call.chunk_received()
        try:
            self._self_add(chunk)
        except Exception:  # noqa: BLE001
            contain("reading a stream chunk")

    def _self_done(self, exc: BaseException | None = None) -> None:
        if self._self_finalizer.detach() is not None:
            _finish(self._self_call, self._self_acc, exc)


class SyncStream(_StreamProxy):
    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._self_iterator or self._self_start())
        except StopIteration:
            self._self_done()
            raise
        except BaseException as exc:
            self._self_done(exc)
            raise
        self._self_chunk(chunk)
        return chunk

    def _self_start(self) -> Any:
        self._self_iterator = iter(self.__wrapped__)
        return self._self_iterator

    def __enter__(self) -> SyncStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_done(exc)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_done()


class AsyncStream(_StreamProxy):
    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            if self._self_iterator is None:
                self._self_iterator = self.__wrapped__.__aiter__()
            chunk = await self._self_iterator.__anext__()
        except StopAsyncIteration:
            self._self_done()
            raise
        except BaseException as exc:
            self._self_done(exc)
            raise
        self._self_chunk(chunk)
        return chunk

    async def __aenter__(self) -> AsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_done(exc)

    async def close(self) -> Any:
        return await self._self_close("close")

    async def aclose(self) -> Any:
        return await self._self_close("aclose")

    async def _self_close(self, method: str) -> Any:
        try:
            result = getattr(self.__wrapped__, method)()
            if inspect.isawaitable(result):
                result = await result
            return result
        finally:
            self._self_done()


def wrap(stream: Any, call: Any, accumulator: Any, asynchronous: bool | None = None) -> Any:
    """Proxy a sync or async stream; anything else is returned as is, with the span ended.

    ``asynchronous`` picks the proxy for streams that support both kinds of iteration;
    by default an async-iterable stream gets the async proxy.
    """
    if asynchronous is None:
        asynchronous = hasattr(stream, "__anext__") or hasattr(stream, "__aiter__")
    if asynchronous:
        return AsyncStream(stream, call, accumulator)
    if hasattr(stream, "__next__") or hasattr(stream, "__iter__"):
        return SyncStream(stream, call, accumulator)
    _finish(call, accumulator)
    return stream
