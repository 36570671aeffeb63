"""Wrappers for litellm's public entry points: one GenAI LLM span per model request.

litellm answers in OpenAI shapes whatever the provider (``ModelResponse``, ``EmbeddingResponse``,
``ResponsesAPIResponse`` and their stream chunks), so recording reuses the core's OpenAI
converters. Each entry point is patched where user code reaches it (see ``_TARGETS``); a call that
passes through two of our wrappers (``litellm.completion`` → dispatch → ``main.completion``), or
through ours and then the openai SDK's instrumentor (litellm's openai embeddings), is counted once
because the span helper stands down while an LLM span is active.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import Tracer

from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, capture_content, start_llm_call
from agentops_otel.genai import openai_shapes as shapes
from agentops_otel.instrumentation import Patches

_log = logging.getLogger(__name__)
_warned: set[str] = set()

# litellm provider names -> gen_ai.provider.name well-known values; others are kept as litellm
# spells them.
_GENAI_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "mistral": "mistral_ai",
    "groq": "groq",
    "ollama": "ollama",  # a local model: priced at $0, source "local"
    "ollama_chat": "ollama",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
}
_DEFAULT_SERVERS = {
    "openai": ("api.openai.com", 443),
    "anthropic": ("api.anthropic.com", 443),
}
_FALLBACK_PROVIDER = "litellm"


def contain(what: str) -> None:
    """Log one of our own failures: a warning the first time per place, then debug."""
    level = logging.DEBUG if what in _warned else logging.WARNING
    _warned.add(what)
    _log.log(level, "agentops-otel: %s failed; the litellm call proceeds", what, exc_info=True)


# -- provider and server -------------------------------------------------------------------------
class _Providers:
    """Derives ``gen_ai.provider.name`` from a model string, as litellm routes it."""

    def __init__(self, litellm: Any) -> None:
        self._known = frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)
        self._get_llm_provider = litellm.get_llm_provider
        self.of = functools.lru_cache(maxsize=512)(self._derive)

    def _derive(self, model: Any, custom: Any) -> str:
        """``custom_llm_provider``, else a known ``provider/`` prefix, else litellm's routing
        (``gpt-4o`` → openai; prints litellm's own hint once for a model it cannot route)."""
        name = custom if isinstance(custom, str) and custom else None
        if name is None and isinstance(model, str):
            prefix = model.split("/", 1)[0] if "/" in model else None
            if prefix in self._known:
                name = prefix
            else:
                try:
                    name = str(self._get_llm_provider(model=model)[1])
                except Exception:  # noqa: BLE001 - litellm raises for models it cannot route
                    name = prefix
        return _GENAI_PROVIDERS.get(name, name) if name else _FALLBACK_PROVIDER


@functools.lru_cache(maxsize=128)
def _address(base: str) -> tuple[str | None, int | None]:
    parts = urlsplit(base)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.hostname, port


def _server(kwargs: dict[str, Any], provider: str) -> tuple[str | None, int | None]:
    base = kwargs.get("api_base") or kwargs.get("base_url")
    if isinstance(base, str):
        return _address(base)
    return _DEFAULT_SERVERS.get(provider, (None, None))


# -- what each entry point records ---------------------------------------------------------------
def _params(kwargs: dict[str, Any], table: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    attrs = {attr: kwargs[key] for key, attr in table if kwargs.get(key) is not None}
    if kwargs.get("stream"):
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    return attrs


class _Endpoint:
    """One kind of litellm call: its operation, where its arguments sit, what it records."""

    operation = A.OP_CHAT
    model_index = 0  # position of ``model`` when passed positionally
    payload_name = "messages"  # the argument that carries the prompt
    payload_index = 1
    async_flag = "acompletion"  # ``completion(..., acompletion=True)`` returns a coroutine
    stream_types: tuple[type, ...] = ()
    params: tuple[tuple[str, str], ...] = ()

    def attributes(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return _params(kwargs, self.params)

    def record_input(self, call: LLMCall, payload: Any, kwargs: dict[str, Any]) -> None:
        """Record the prompt; only called when content capture is on."""

    def record(self, call: LLMCall, result: Any, content: bool) -> None:
        """Record a complete (non-streamed) result."""

    def accumulator(self, stream: Any, content: bool) -> Any:
        raise NotImplementedError


class _Chat(_Endpoint):
    params = (
        ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
        ("top_p", A.GEN_AI_REQUEST_TOP_P),
        ("top_k", A.GEN_AI_REQUEST_TOP_K),
        ("max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
        ("max_completion_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
        ("frequency_penalty", A.GEN_AI_REQUEST_FREQUENCY_PENALTY),
        ("presence_penalty", A.GEN_AI_REQUEST_PRESENCE_PENALTY),
        ("seed", A.GEN_AI_REQUEST_SEED),
    )

    def attributes(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        attrs = _params(kwargs, self.params)
        stop = kwargs.get("stop")
        if stop:
            attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop] if isinstance(stop, str) else list(stop)
        n = kwargs.get("n")
        if isinstance(n, int) and n != 1:
            attrs[A.GEN_AI_REQUEST_CHOICE_COUNT] = n
        return attrs

    def record_input(self, call: LLMCall, payload: Any, kwargs: dict[str, Any]) -> None:
        call.set_input(shapes.chat_input_messages(payload), tools=kwargs.get("tools"))

    def record(self, call: LLMCall, result: Any, content: bool) -> None:
        """``openai_shapes.record_chat_completion``, but litellm's zero-filled usage (the
        provider reported none) is left unset."""
        choices = shapes.field(result, "choices")
        call.set_response(
            response_id=shapes.field(result, "id"),
            model=shapes.field(result, "model"),
            finish_reasons=shapes.chat_finish_reasons(choices),
        )
        shapes.record_usage(call, _reported(shapes.field(result, "usage")))
        if content:
            call.set_output(shapes.chat_output_messages(choices))

    def accumulator(self, stream: Any, content: bool) -> Any:
        return _ChatStream(stream, content)


class _Embeddings(_Endpoint):
    operation = A.OP_EMBEDDINGS
    payload_name = "input"
    async_flag = "aembedding"
    params = (("dimensions", A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT),)

    def attributes(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        attrs = _params(kwargs, self.params)
        encoding = kwargs.get("encoding_format")
        if isinstance(encoding, str):
            attrs[A.GEN_AI_REQUEST_ENCODING_FORMATS] = [encoding]
        return attrs

    def record(self, call: LLMCall, result: Any, content: bool) -> None:
        call.set_response(model=shapes.field(result, "model"))
        shapes.record_usage(call, _reported(shapes.field(result, "usage")))


class _Responses(_Endpoint):
    model_index = 1  # responses(input, model, ...)
    payload_name = "input"
    payload_index = 0
    async_flag = "aresponses"
    params = (
        ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
        ("top_p", A.GEN_AI_REQUEST_TOP_P),
        ("max_output_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    )

    def record_input(self, call: LLMCall, payload: Any, kwargs: dict[str, Any]) -> None:
        instructions = kwargs.get("instructions")
        system = [{"type": "text", "content": instructions}] if instructions else None
        call.set_input(
            shapes.responses_input_messages(payload), system=system, tools=kwargs.get("tools")
        )

    def record(self, call: LLMCall, result: Any, content: bool) -> None:
        shapes.record_response(call, result, content)

    def accumulator(self, stream: Any, content: bool) -> Any:
        return shapes.ResponsesStreamAccumulator(content)


class _ChatStream(shapes.ChatStreamAccumulator):
    """The OpenAI chat accumulator, with usage taken from what the provider reported.

    litellm keeps every chunk it received on ``stream.chunks``, provider usage included, even
    when it strips that usage from what it yields (Anthropic's ``message_delta`` without
    ``stream_options.include_usage``); and when the provider reported none it yields a usage
    chunk it estimated itself. The last stored usage is therefore the one to record, and none
    is recorded when no stored chunk has one. Older litellm without ``chunks``: the yielded one.
    """

    __slots__ = ("_stream",)

    def __init__(self, stream: Any, content: bool) -> None:
        super().__init__(content)
        self._stream = stream

    def finish(self, call: Any) -> None:
        chunks = getattr(self._stream, "chunks", None)
        if isinstance(chunks, list):
            self._usage = next(
                (u for u in (getattr(c, "usage", None) for c in reversed(chunks)) if u is not None),
                None,
            )
        self._usage = _reported(self._usage)
        super().finish(call)


def _reported(usage: Any) -> Any:
    """``usage`` unless it is litellm's all-zero stand-in for "the provider reported none"."""
    if usage is None:
        return None
    for name in ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens"):
        if shapes.field(usage, name):
            return usage
    return None


_CHAT, _EMBEDDINGS, _RESPONSES = _Chat(), _Embeddings(), _Responses()


# -- the wrappers --------------------------------------------------------------------------------
def _argument(args: tuple, kwargs: dict[str, Any], name: str, index: int) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _make_wrappers(
    tracer: Tracer, providers: _Providers, endpoint: _Endpoint
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The sync and async wrapt wrappers of one endpoint."""

    def begin(args: tuple, kwargs: dict[str, Any]) -> LLMCall | None:
        try:
            model = _argument(args, kwargs, "model", endpoint.model_index)
            provider = providers.of(
                model if isinstance(model, str) else None, kwargs.get("custom_llm_provider")
            )
            address, port = _server(kwargs, provider)
            attributes = endpoint.attributes(kwargs)
            payload = _argument(args, kwargs, endpoint.payload_name, endpoint.payload_index)
        except Exception:  # noqa: BLE001
            contain("describing a litellm call")
            return None
        call = start_llm_call(  # raises only the session's deliberate budget / loop refusals
            tracer,
            operation=endpoint.operation,
            provider=provider,
            model=model if isinstance(model, str) else None,
            server_address=address,
            server_port=port,
            attributes=attributes,
            fingerprint=(provider, model, payload),
        )
        if call is not None and capture_content():
            try:
                endpoint.record_input(call, payload, kwargs)
            except Exception:  # noqa: BLE001
                contain("recording litellm input")
        return call

    def finish(call: LLMCall, result: Any, asynchronous: bool) -> Any:
        try:
            content = capture_content()
            if endpoint.stream_types and isinstance(result, endpoint.stream_types):
                return call.wrap_stream(result, endpoint.accumulator(result, content), asynchronous)
            endpoint.record(call, result, content)
        except Exception:  # noqa: BLE001
            contain("recording a litellm response")
        call.end()
        return result

    def sync_wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict[str, Any]
    ) -> Any:
        if kwargs.get(endpoint.async_flag) is True:  # the async entry point records this call
            return wrapped(*args, **kwargs)
        call = begin(args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            result = wrapped(*args, **kwargs)
        return finish(call, result, False)

    async def async_wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict[str, Any]
    ) -> Any:
        call = begin(args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            result = await wrapped(*args, **kwargs)
        return finish(call, result, True)

    return sync_wrapper, async_wrapper


# (module, attribute, endpoint, is async). The public ``litellm.*`` attributes are what user code
# and litellm's Router call; ``litellm.main`` / ``litellm.responses.main`` are the implementations
# (reachable directly); litellm >= 1.110 routes the public functions through a dispatch layer that
# looks its Python implementation up as a module global on every call, which also reaches callers
# who did ``from litellm import completion`` before we were installed.
_TARGETS: tuple[tuple[str, str, _Endpoint, bool], ...] = (
    ("litellm", "completion", _CHAT, False),
    ("litellm", "acompletion", _CHAT, True),
    ("litellm", "embedding", _EMBEDDINGS, False),
    ("litellm", "aembedding", _EMBEDDINGS, True),
    ("litellm", "responses", _RESPONSES, False),
    ("litellm", "aresponses", _RESPONSES, True),
    ("litellm.main", "completion", _CHAT, False),
    ("litellm.main", "acompletion", _CHAT, True),
    ("litellm.main", "embedding", _EMBEDDINGS, False),
    ("litellm.main", "aembedding", _EMBEDDINGS, True),
    ("litellm.responses.main", "responses", _RESPONSES, False),
    ("litellm.responses.main", "aresponses", _RESPONSES, True),
    ("litellm.chat_completions.dispatch", "_PYTHON_COMPLETION", _CHAT, False),
    ("litellm.chat_completions.dispatch", "_PYTHON_ACOMPLETION", _CHAT, True),
    ("litellm.embeddings.dispatch", "_PYTHON_EMBEDDING", _EMBEDDINGS, False),
    ("litellm.embeddings.dispatch", "_PYTHON_AEMBEDDING", _EMBEDDINGS, True),
    ("litellm.responses.dispatch", "_PYTHON_RESPONSES", _RESPONSES, False),
    ("litellm.responses.dispatch", "_PYTHON_ARESPONSES", _RESPONSES, True),
)
_STREAM_TYPES = (
    (_CHAT, "litellm.litellm_core_utils.streaming_handler", ("CustomStreamWrapper",)),
    (
        _RESPONSES,
        "litellm.responses.streaming_iterator",
        ("BaseResponsesAPIStreamingIterator", "SyncResponsesAPIStreamingIterator"),
    ),
)


def _find_stream_types() -> None:
    for endpoint, module_name, names in _STREAM_TYPES:
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - an older litellm without it
            continue
        endpoint.stream_types = tuple(
            t for t in (getattr(module, n, None) for n in names) if isinstance(t, type)
        )


def patch(patches: Patches, tracer: Tracer, litellm: Any) -> None:
    """Wrap every entry point in ``_TARGETS`` that this litellm version has."""
    _find_stream_types()
    providers = _Providers(litellm)
    wrappers = {
        id(e): _make_wrappers(tracer, providers, e) for e in (_CHAT, _EMBEDDINGS, _RESPONSES)
    }
    for module, attribute, endpoint, is_async in _TARGETS:
        patches.wrap(module, attribute, wrappers[id(endpoint)][is_async])
