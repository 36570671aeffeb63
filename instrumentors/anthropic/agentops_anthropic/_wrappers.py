"""Wrappers of messages `create` / `parse` / `stream` (sync, async, beta); the SDK span stand-in."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Tracer

from agentops_anthropic import _convert
from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, capture_content, start_llm_call

PROVIDER = "anthropic"
_SDK_SPAN_NAME = "anthropic.messages.create"
_NUMBERS = (
    ("max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
    ("top_k", A.GEN_AI_REQUEST_TOP_K),
)

Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]


# -- starting a call ------------------------------------------------------------------------------
def _request_attributes(kwargs: dict[str, Any], stream: bool) -> dict[str, Any]:
    # Unset parameters may arrive as the SDK's `omit` / `NOT_GIVEN` sentinels: keep real values.
    # anthropic 2.x dropped temperature / top_p / top_k from the signature: they go in extra_body.
    extra = kwargs.get("extra_body")
    params = {**extra, **kwargs} if isinstance(extra, dict) else kwargs
    attrs: dict[str, Any] = {}
    for key, name in _NUMBERS:
        value = params.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[name] = value
    stop = params.get("stop_sequences")
    if isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)
    if stream:
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    return attrs


def _client_info(instance: Any) -> tuple[str, str | None, int | None]:
    """Provider name (Bedrock and Vertex clients share these resources), host and port."""
    try:
        client = instance._client
        provider = getattr(client, "_gen_ai_provider_name", None) or PROVIDER  # anthropic >= 2
        url = client.base_url
        return provider, url.host, url.port or (443 if url.scheme == "https" else 80)
    except Exception:  # noqa: BLE001 - a client without base_url still gets a span
        return PROVIDER, None, None


def _start(tracer: Tracer, instance: Any, kwargs: dict[str, Any], stream: bool) -> LLMCall | None:
    model = kwargs.get("model")
    model = model if isinstance(model, str) else None
    messages = kwargs.get("messages")
    provider, host, port = _client_info(instance)
    call = start_llm_call(
        tracer,
        operation=A.OP_CHAT,
        provider=provider,
        model=model,
        server_address=host,
        server_port=port,
        attributes=_request_attributes(kwargs, stream),
        fingerprint=(provider, model, messages),
    )
    if call is not None and capture_content():
        try:
            call.set_input(
                _convert.input_messages(messages),
                system=_convert.system_instructions(kwargs.get("system")),
                tools=_convert.tool_definitions(kwargs.get("tools")),
            )
        except Exception:  # noqa: BLE001 - odd input shapes only lose the content
            pass
    return call


# -- recording a response ------------------------------------------------------------------------
def _set_usage(call: LLMCall, usage: Any) -> None:
    """Anthropic's ``input_tokens`` excludes cache reads and writes; the convention's includes
    them."""
    if usage is None:
        return
    fresh = _convert.get(usage, "input_tokens")
    read = _convert.get(usage, "cache_read_input_tokens")
    write = _convert.get(usage, "cache_creation_input_tokens")
    counts = [v for v in (fresh, read, write) if isinstance(v, int) and not isinstance(v, bool)]
    details = _convert.get(usage, "output_tokens_details")
    call.set_usage(
        sum(counts) if counts else None,
        _convert.get(usage, "output_tokens"),
        cache_read=read,
        cache_write=write,
        reasoning=_convert.get(details, "thinking_tokens") if details else None,
    )


def _record_message(call: LLMCall, message: Any) -> None:
    stop_reason = _convert.get(message, "stop_reason")
    call.set_response(
        response_id=_convert.get(message, "id"),
        model=_convert.get(message, "model"),
        finish_reasons=(stop_reason,) if isinstance(stop_reason, str) else None,
    )
    _set_usage(call, _convert.get(message, "usage"))
    if capture_content():
        call.set_output(_convert.output_messages(_convert.get(message, "content"), stop_reason))


def _message_of(result: Any) -> Any:
    """The Message in ``result``; for ``with_raw_response`` its parsed body, when already read
    (anthropic 2.x) or cached by ``parse()`` (the legacy raw response of anthropic < 2)."""
    http = getattr(result, "http_response", None)
    if http is None:
        return result
    if http.is_closed:
        return http.json()
    if type(result).__name__ == "LegacyAPIResponse":
        return result.parse()
    return None  # with_streaming_response: the body is the user's to read


def _finish(call: LLMCall, result: Any) -> None:
    try:
        message = _message_of(result)
        if message is not None:
            _record_message(call, message)
    except Exception:  # noqa: BLE001 - a response we cannot read still ends the span
        pass
    call.end()


class _Accumulator:
    """Collects raw message events: ids, stop reason, usage, and (capture on) content."""

    __slots__ = ("_blocks", "_delta_usage", "_id", "_model", "_start_usage", "_stop_reason")

    def __init__(self) -> None:
        self._id = self._model = self._stop_reason = None
        self._start_usage: Any = None
        self._delta_usage: Any = None
        self._blocks: dict[int, list[Any]] | None = {} if capture_content() else None

    def add(self, event: Any) -> None:
        kind = event.type
        if kind == "content_block_delta":
            if self._blocks is not None:
                self._delta(event.index, event.delta)
        elif kind == "message_start":
            message = event.message
            self._id, self._model = message.id, message.model
            self._start_usage = getattr(message, "usage", None)
        elif kind == "message_delta":
            self._stop_reason = getattr(event.delta, "stop_reason", None)
            self._delta_usage = getattr(event, "usage", None)
        elif kind == "content_block_start" and self._blocks is not None:
            self._blocks[event.index] = [event.content_block]

    def _delta(self, index: int, delta: Any) -> None:
        block = self._blocks.get(index) if self._blocks is not None else None
        if block is None:
            return
        kind = delta.type
        if kind == "text_delta":
            block.append(delta.text)
        elif kind == "input_json_delta":
            block.append(delta.partial_json)
        elif kind == "thinking_delta":
            block.append(delta.thinking)

    def _usage(self) -> dict[str, Any] | None:
        """message_start's counts, overridden by message_delta's (cumulative) where it has them."""
        if self._start_usage is None and self._delta_usage is None:
            return None
        usage: dict[str, Any] = {}
        for source in (self._start_usage, self._delta_usage):
            if source is None:
                continue
            for key in (
                "input_tokens",
                "output_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
                "output_tokens_details",
            ):
                value = getattr(source, key, None)
                if value is not None:
                    usage[key] = value
        return usage

    def _content(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for index in sorted(self._blocks or ()):
            # _blocks is a dict here: its keys are what the loop walks
            start, *pieces = self._blocks[index]  # type: ignore[index]
            text = "".join(pieces)
            kind = getattr(start, "type", None)
            if kind == "text":
                blocks.append({"type": "text", "text": text})
            elif kind == "thinking":
                blocks.append({"type": "thinking", "thinking": text})
            elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
                try:
                    arguments = json.loads(text) if text else getattr(start, "input", None)
                except ValueError:
                    arguments = text  # a stream cut short leaves partial JSON
                blocks.append(
                    {
                        "type": kind,
                        "id": getattr(start, "id", None),
                        "name": getattr(start, "name", None),
                        "input": arguments,
                    }
                )
            else:
                blocks.append(start)
        return blocks

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            response_id=self._id,
            model=self._model,
            finish_reasons=(self._stop_reason,) if self._stop_reason else None,
        )
        _set_usage(call, self._usage())
        if self._blocks is not None:
            call.set_output(_convert.output_messages(self._content(), self._stop_reason))


# -- messages.create / parse -----------------------------------------------------------------
def create(tracer: Tracer) -> Wrapper:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        stream = kwargs.get("stream") is True
        call = _start(tracer, instance, kwargs, stream)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            result = wrapped(*args, **kwargs)
        if stream:
            return call.wrap_stream(result, _Accumulator())
        _finish(call, result)
        return result

    return wrapper


def async_create(tracer: Tracer) -> Wrapper:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        stream = kwargs.get("stream") is True
        call = _start(tracer, instance, kwargs, stream)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            result = await wrapped(*args, **kwargs)
        if stream:
            return call.wrap_stream(result, _Accumulator())
        _finish(call, result)
        return result

    return wrapper


# -- messages.stream ---------------------------------------------------------------------------
def _adopt(call: LLMCall, message_stream: Any, is_async: bool) -> Any:
    """Put our stream proxy between the SDK's (Async)MessageStream and the raw event stream.

    MessageStream reads ``_raw_stream`` lazily (its ``_iterator`` is a generator not yet started)
    and closes it on ``close()``, so every path — ``text_stream``, ``get_final_message()``,
    ``until_done()``, iteration, early close, abandonment — goes through our proxy, which ends
    the span exactly once. ``_iterator`` is guarded too: an error raised by the SDK's own
    accumulation (not by the raw stream) still fails the span. Returns the proxy, or ``None``
    (span ended) if the SDK changed shape.
    """
    try:
        proxy = call.wrap_stream(message_stream._raw_stream, _Accumulator())
        iterator = message_stream._iterator
        message_stream._raw_stream = proxy
        message_stream._iterator = (_aguard if is_async else _guard)(iterator, proxy)
        return proxy
    except Exception:  # noqa: BLE001
        call.end()
        return None


def _guard(iterator: Any, proxy: Any) -> Any:
    try:
        yield from iterator
    except Exception as exc:
        _close_failed(proxy, exc)
        raise


async def _aguard(iterator: Any, proxy: Any) -> Any:
    try:
        async for event in iterator:
            yield event
    except Exception as exc:
        await _aclose_failed(proxy, exc)
        raise


def _close_failed(proxy: Any, exc: BaseException) -> None:
    """Close the raw stream through our proxy, which records ``exc`` and ends the span."""
    try:
        proxy.__exit__(type(exc), exc, exc.__traceback__)
    except Exception:  # noqa: BLE001
        pass


async def _aclose_failed(proxy: Any, exc: BaseException) -> None:
    try:
        await proxy.__aexit__(type(exc), exc, exc.__traceback__)
    except Exception:  # noqa: BLE001
        pass


def _close(proxy: Any) -> None:
    try:
        proxy.close()
    except Exception:  # noqa: BLE001
        pass


class _StreamManager(wrapt.ObjectProxy):
    """The SDK's (Beta)MessageStreamManager; the request, and our span, start on ``__enter__``."""

    def __init__(self, manager: Any, tracer: Tracer, instance: Any, kwargs: dict) -> None:
        super().__init__(manager)
        self._self_tracer = tracer
        self._self_instance = instance
        self._self_kwargs = kwargs
        self._self_raw: Any = None

    def __enter__(self) -> Any:
        call = _start(self._self_tracer, self._self_instance, self._self_kwargs, True)
        if call is None:
            return self.__wrapped__.__enter__()
        with call:
            message_stream = self.__wrapped__.__enter__()
        self._self_raw = _adopt(call, message_stream, False)
        return message_stream

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        raw = self._self_raw
        if exc is not None and raw is not None:
            _close_failed(raw, exc)  # records the error that left the `with` body
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            if raw is not None:  # anthropic < 2 closes the response, not the raw stream
                _close(raw)

    async def __aenter__(self) -> Any:
        call = _start(self._self_tracer, self._self_instance, self._self_kwargs, True)
        if call is None:
            return await self.__wrapped__.__aenter__()
        with call:
            message_stream = await self.__wrapped__.__aenter__()
        self._self_raw = _adopt(call, message_stream, True)
        return message_stream

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        raw = self._self_raw
        if exc is not None and raw is not None:
            await _aclose_failed(raw, exc)
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            if raw is not None:
                try:
                    await raw.close()
                except Exception:  # noqa: BLE001
                    pass


def stream(tracer: Tracer) -> Wrapper:
    """``messages.stream()`` makes no request; it returns a manager that does so on enter."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            return _StreamManager(manager, tracer, instance, kwargs)
        except Exception:  # noqa: BLE001
            return manager

    return wrapper


# -- the SDK's own span -------------------------------------------------------------------------
def stand_in(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Wraps ``anthropic._base_client.start_api_call_span`` (anthropic 2.x).

    While an LLM span of ours (or of any agentops-otel instrumentor) is current, a
    ``messages.create`` API call gets a non-recording span carrying our span's context instead of
    the SDK's own recording span: no second LLM span, and the SDK's ``traceparent`` header still
    propagates, naming our span. Other API calls, and calls outside our spans, are untouched.
    """
    options = args[2] if len(args) > 2 else kwargs.get("options")
    if getattr(options, "span_name", None) == _SDK_SPAN_NAME:
        current = trace.get_current_span()
        attributes = getattr(current, "attributes", None)
        if attributes is not None and attributes.get(A.SPAN_KIND) == A.KIND_LLM:
            return NonRecordingSpan(current.get_span_context())
    return wrapped(*args, **kwargs)
