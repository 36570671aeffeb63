"""Wrappers for the openai SDK's resource methods: one LLM span per model request.

Every wrapper has the same shape: read the request (cheap, no content work when capture is
off), open the span with :func:`start_llm_call`, run the SDK call inside ``with call:``, then
record the response, wrap the stream, or look through a ``with_raw_response`` object. Our own
failures are contained; the user's exceptions and results pass through untouched.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, NamedTuple

import wrapt
from opentelemetry.trace import Tracer

from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, capture_content, contain, start_llm_call
from agentops_otel.genai import openai_shapes as S

_OPENAI = "openai"
_AZURE = "azure.ai.openai"
_SEQUENCE = (list, tuple)

# Streams our create wrapper opened while a stream manager (``chat.completions.stream`` /
# ``responses.stream``) was entering, so the manager's exit can end their spans.
_opened: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "agentops_openai_opened_streams", default=None
)

_CHAT_NUMBERS = (
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", A.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", A.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("seed", A.GEN_AI_REQUEST_SEED),
    ("max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("max_completion_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
)
_RESPONSES_NUMBERS = (
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
    ("max_output_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
)
_NO_DICT: dict[str, Any] = {}
_OUTPUT_TYPES = {"json_object": "json", "json_schema": "json", "text": "text"}


def _numbers(kwargs: dict[str, Any], table: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Numeric request parameters that were given (SDK ``omit`` sentinels are skipped)."""
    attrs: dict[str, Any] = {}
    for name, key in table:
        value = kwargs.get(name)
        if value is not None and type(value) in (int, float):
            attrs[key] = value
    return attrs


def _output_type(fmt: Any) -> str | None:
    """``gen_ai.output.type`` from a ``response_format`` / ``text.format`` value."""
    if isinstance(fmt, dict):
        return _OUTPUT_TYPES.get(str(fmt.get("type")))
    if isinstance(fmt, type):  # a pydantic model given to parse()
        return "json"
    return None


class _Target:
    """Where the calls of one client go: provider name and server address, cached per URL."""

    __slots__ = ("_azure", "_last")

    def __init__(self, azure_types: tuple[type, ...]) -> None:
        self._azure = azure_types
        self._last: tuple[Any, str | None, int | None] = (None, None, None)

    def of(self, instance: Any) -> tuple[str, str | None, int | None]:
        client = getattr(instance, "_client", None)
        provider = _AZURE if isinstance(client, self._azure) else _OPENAI
        # ``_base_url`` first: the public property costs an import and a call in openai 3.x
        url = getattr(client, "__dict__", _NO_DICT).get("_base_url")
        if url is None:
            url = getattr(client, "base_url", None)
        last = self._last
        if url is last[0]:
            return provider, last[1], last[2]
        host = getattr(url, "host", None) or None
        port = getattr(url, "port", None) or (443 if getattr(url, "scheme", "") == "https" else 80)
        self._last = (url, host, port)
        return provider, host, port


class _Spec:
    """How one kind of request is read and its response recorded."""

    __slots__ = ("accumulator", "record", "start")

    def __init__(
        self,
        start: Callable[..., LLMCall | None],
        record: Callable[..., None],
        accumulator: Callable[[bool], Any] | None,
    ) -> None:
        self.start = start
        self.record = record
        self.accumulator = accumulator


def _specs(tracer: Tracer, target: _Target) -> dict[str, _Spec]:
    """The chat, embeddings and responses specs, bound to ``tracer``."""

    def start_chat(instance: Any, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        try:
            provider, host, port = target.of(instance)
            model = kwargs.get("model")
            messages = kwargs.get("messages")
            attrs = _numbers(kwargs, _CHAT_NUMBERS)
            stop = kwargs.get("stop")
            if isinstance(stop, str):
                attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
            elif isinstance(stop, _SEQUENCE):
                attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)
            n = kwargs.get("n")
            if type(n) is int and n != 1:
                attrs[A.GEN_AI_REQUEST_CHOICE_COUNT] = n
            stream = kwargs.get("stream")
            if type(stream) is bool:
                attrs[A.GEN_AI_REQUEST_STREAM] = stream
            fmt = kwargs.get("response_format")
            if fmt is not None:
                attrs[A.GEN_AI_OUTPUT_TYPE] = _output_type(fmt)
        except Exception:  # noqa: BLE001
            contain("reading an OpenAI chat request")
            return None
        call = start_llm_call(
            tracer,
            operation=A.OP_CHAT,
            provider=provider,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            attributes=attrs,
            fingerprint=(provider, model, messages),
        )
        if call is not None and content:
            try:
                tools = kwargs.get("tools")
                call.set_input(
                    S.chat_input_messages(messages) if isinstance(messages, _SEQUENCE) else None,
                    tools=tools if isinstance(tools, _SEQUENCE) else None,
                )
            except Exception:  # noqa: BLE001
                contain("reading OpenAI chat messages")
        return call

    def start_responses(instance: Any, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        try:
            provider, host, port = target.of(instance)
            model = kwargs.get("model")
            input_ = kwargs.get("input")
            attrs = _numbers(kwargs, _RESPONSES_NUMBERS)
            stream = kwargs.get("stream")
            if type(stream) is bool:
                attrs[A.GEN_AI_REQUEST_STREAM] = stream
            text = kwargs.get("text")
            if isinstance(text, dict) and text.get("format") is not None:
                attrs[A.GEN_AI_OUTPUT_TYPE] = _output_type(text["format"])
            elif isinstance(kwargs.get("text_format"), type):
                attrs[A.GEN_AI_OUTPUT_TYPE] = "json"
        except Exception:  # noqa: BLE001
            contain("reading an OpenAI Responses request")
            return None
        call = start_llm_call(
            tracer,
            operation=A.OP_CHAT,
            provider=provider,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            attributes=attrs,
            fingerprint=(provider, model, input_),
        )
        if call is not None and content:
            try:
                instructions = kwargs.get("instructions")
                tools = kwargs.get("tools")
                call.set_input(
                    S.responses_input_messages(input_)
                    if isinstance(input_, (str, *_SEQUENCE))
                    else None,
                    system=[{"type": "text", "content": instructions}]
                    if isinstance(instructions, str)
                    else None,
                    tools=tools if isinstance(tools, _SEQUENCE) else None,
                )
            except Exception:  # noqa: BLE001
                contain("reading OpenAI Responses input")
        return call

    def start_embeddings(instance: Any, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        try:
            provider, host, port = target.of(instance)
            model = kwargs.get("model")
            attrs: dict[str, Any] = {}
            fmt = kwargs.get("encoding_format")
            if isinstance(fmt, str):
                attrs[A.GEN_AI_REQUEST_ENCODING_FORMATS] = [fmt]
            dimensions = kwargs.get("dimensions")
            if type(dimensions) is int:
                attrs[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
        except Exception:  # noqa: BLE001
            contain("reading an OpenAI embeddings request")
            return None
        return start_llm_call(
            tracer,
            operation=A.OP_EMBEDDINGS,
            provider=provider,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            attributes=attrs,
        )

    return {
        "chat": _Spec(start_chat, S.record_chat_completion, S.ChatStreamAccumulator),
        "responses": _Spec(start_responses, S.record_response, S.ResponsesStreamAccumulator),
        "embeddings": _Spec(start_embeddings, _record_embeddings, None),
    }


def _record_embeddings(call: LLMCall, response: Any, content: bool) -> None:
    call.set_response(model=S.field(response, "model"))
    S.record_usage(call, S.field(response, "usage"))
    data = S.field(response, "data")
    if data:
        vector = S.field(data[0], "embedding")
        if isinstance(vector, list):
            call.set_attributes({A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector)})


# -- after the SDK call -------------------------------------------------------------------------
class _RawStreamResponse(wrapt.ObjectProxy):
    """A ``with_raw_response`` result whose ``parse()`` gives our wrapped stream."""

    def __init__(self, raw: Any, stream: Any) -> None:
        super().__init__(raw)
        self._self_stream = stream

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs.get("to") is not None:
            return self.__wrapped__.parse(*args, **kwargs)
        return self._self_stream


class _UnreadResponse(wrapt.ObjectProxy):
    """A ``with_streaming_response`` result, body still unread: recorded when the user calls
    ``parse()``, the span ended when the SDK's context manager closes the response."""

    def __init__(self, raw: Any, call: LLMCall, spec: _Spec, content: bool, stream: bool) -> None:
        super().__init__(raw)
        self._self_call = call
        self._self_spec = spec
        self._self_content = content
        self._self_stream = stream
        self._self_parsed: Any = None

    def _self_record(self, parsed: Any, custom: bool) -> Any:
        if custom:
            return parsed
        if self._self_parsed is None:
            try:
                if self._self_stream and self._self_spec.accumulator is not None:
                    self._self_parsed = self._self_call.wrap_stream(
                        parsed, self._self_spec.accumulator(self._self_content)
                    )
                else:
                    self._self_spec.record(self._self_call, parsed, self._self_content)
                    self._self_parsed = parsed
            except Exception:  # noqa: BLE001
                contain("recording an OpenAI response")
                self._self_parsed = parsed
        return self._self_parsed

    def _self_closed(self) -> Any:
        """The stream handed out (to close) or None; ends the span when there is none."""
        if self._self_stream and self._self_parsed is not None:
            return self._self_parsed
        self._self_call.end()
        return None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = self.__wrapped__.parse(*args, **kwargs)
        return self._self_record(parsed, bool(args or kwargs.get("to")))

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            stream = self._self_closed()
            if stream is not None:
                stream.close()


class _AsyncUnreadResponse(_UnreadResponse):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = await self.__wrapped__.parse(*args, **kwargs)
        return self._self_record(parsed, bool(args or kwargs.get("to")))

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            stream = self._self_closed()
            if stream is not None:
                await stream.close()


def _finish(
    call: LLMCall, result: Any, stream: bool, spec: _Spec, content: bool, raw_types: _RawTypes
) -> Any:
    """Record ``result`` and end the span, or hand back a stream that ends it later."""
    try:
        if isinstance(result, raw_types.parsed):
            return _finish_raw(call, result, stream, spec, content)
        if isinstance(result, raw_types.unread):
            proxy = (
                _AsyncUnreadResponse
                if isinstance(result, raw_types.unread_async)
                else (_UnreadResponse)
            )
            return proxy(result, call, spec, content, stream)
        if stream and spec.accumulator is not None:
            return _track(call.wrap_stream(result, spec.accumulator(content)))
        spec.record(call, result, content)
    except Exception:  # noqa: BLE001
        contain("recording an OpenAI response")
    call.end()
    return result


def _finish_raw(call: LLMCall, raw: Any, stream: bool, spec: _Spec, content: bool) -> Any:
    """``with_raw_response``: its ``parse()`` is cached, so reading the body here costs the
    user nothing; a stream is wrapped and handed out by ``parse()``."""
    if stream and spec.accumulator is not None:
        wrapped = _track(call.wrap_stream(raw.parse(), spec.accumulator(content)))
        return _RawStreamResponse(raw, wrapped)
    try:
        body = raw.parse()
    except Exception as exc:  # noqa: BLE001 - the user meets the SDK's own error on parse()
        call.fail(exc)
    else:
        spec.record(call, body, content)
    call.end()
    return raw


def _track(stream: Any) -> Any:
    opened = _opened.get()
    if opened is not None:
        opened.append(stream)
    return stream


class _RawTypes(NamedTuple):
    """The SDK's raw-response classes: ``with_raw_response`` results (body read), and
    ``with_streaming_response`` results (body unread; ``unread_async`` are the async ones)."""

    parsed: tuple[type, ...] = ()
    unread: tuple[type, ...] = ()
    unread_async: tuple[type, ...] = ()


def request_wrappers(
    tracer: Tracer,
    target: _Target,
    raw_types: _RawTypes,
) -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
    """``{"chat" | "responses" | "embeddings": (sync wrapper, async wrapper)}``."""

    def make(spec: _Spec) -> tuple[Callable[..., Any], Callable[..., Any]]:
        start = spec.start

        def sync_call(
            wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict[str, Any]
        ) -> Any:
            content = capture_content()
            call = start(instance, kwargs, content)
            if call is None:
                return wrapped(*args, **kwargs)
            with call:
                result = wrapped(*args, **kwargs)
            return _finish(call, result, kwargs.get("stream") is True, spec, content, raw_types)

        async def async_call(
            wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict[str, Any]
        ) -> Any:
            content = capture_content()
            call = start(instance, kwargs, content)
            if call is None:
                return await wrapped(*args, **kwargs)
            with call:
                result = await wrapped(*args, **kwargs)
            return _finish(call, result, kwargs.get("stream") is True, spec, content, raw_types)

        return sync_call, async_call

    return {name: make(spec) for name, spec in _specs(tracer, target).items()}


# -- stream managers: chat.completions.stream(), responses.stream() -----------------------------
class _StreamManager(wrapt.ObjectProxy):
    """Ends the spans of the streams opened inside ``with manager:`` when the block exits.

    The SDK's ``ResponseStream`` / ``ChatCompletionStream`` close the HTTP response directly,
    out of our stream proxy's sight, so without this an early exit would leave the span open
    until garbage collection.
    """

    def __init__(self, manager: Any) -> None:
        super().__init__(manager)
        self._self_opened: list[Any] = []

    def __enter__(self) -> Any:
        token = _opened.set(self._self_opened)
        try:
            return self.__wrapped__.__enter__()
        finally:
            _opened.reset(token)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            for stream in self._self_opened:
                try:
                    stream.close()
                except Exception:  # noqa: BLE001
                    contain("closing an OpenAI stream")

    async def __aenter__(self) -> Any:
        token = _opened.set(self._self_opened)
        try:
            return await self.__wrapped__.__aenter__()
        finally:
            _opened.reset(token)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            for stream in self._self_opened:
                try:
                    await stream.close()
                except Exception:  # noqa: BLE001
                    contain("closing an OpenAI stream")


def stream_manager(
    wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict[str, Any]
) -> Any:
    """Wrapper for ``.stream(...)``: the SDK's manager behind :class:`_StreamManager`."""
    manager = wrapped(*args, **kwargs)
    try:
        return _StreamManager(manager)
    except Exception:  # noqa: BLE001
        contain("wrapping an OpenAI stream manager")
        return manager
