"""agentops-otel instrumentation for the Mistral AI Python SDK (``mistralai`` 1.x to 3.x).

Wraps ``chat.complete`` / ``complete_async`` / ``stream`` / ``stream_async`` and
``embeddings.create`` / ``create_async`` of the ``Mistral`` client (``chat.parse`` and
``parse_stream`` run through them), in ``mistralai.client`` (2.x and later) or ``mistralai``
(1.x). One CLIENT span per request, provider ``mistral_ai``: ``chat {model}`` with the request
parameters, response id / model / finish reasons, usage (``prompt_tokens`` /
``completion_tokens``; in a stream, the ``usage`` Mistral sends on the last chunk), cost and,
when content capture is on, the messages and tool definitions; ``embeddings {model}`` with the
input token count and vector size. Mistral's chat is OpenAI-shaped, so the core's OpenAI
converters (``agentops_otel.genai.openai_shapes``) read it; stream events are unwrapped from
their ``data``.

Usage::

    MistralInstrumentor().instrument(tracer_provider=provider)   # uninstrument() restores it
"""

from __future__ import annotations

import importlib.util
from typing import Any

from opentelemetry.trace import Tracer

from agentops_mistral.package import _instruments
from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, start_llm_call
from agentops_otel.genai import openai_shapes as S
from agentops_otel.genai.wrappers import (
    COMMON_NUMBERS,
    method_wrappers,
    openai_chat_attributes,
    openai_chat_wrappers,
    server_of,
)
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["MistralInstrumentor"]
__version__ = "0.1.0"

_PROVIDER = "mistral_ai"
_DEFAULT_SERVER = "https://api.mistral.ai"
_NUMBERS = (*COMMON_NUMBERS, ("random_seed", A.GEN_AI_REQUEST_SEED))
# (module, chat class, embeddings module): 2.x and later first, then 1.x
_MODULES = (
    ("mistralai.client.chat", "mistralai.client.embeddings"),
    ("mistralai.chat", "mistralai.embeddings"),
)


class _StreamAccumulator(S.ChatStreamAccumulator):
    """OpenAI's chunk accumulator over the ``data`` of Mistral's stream events."""

    __slots__ = ()

    def add(self, chunk: Any) -> None:
        super().add(S.field(chunk, "data"))


def _server(instance: Any) -> tuple[str | None, int | None]:
    config = getattr(instance, "sdk_configuration", None)
    return server_of(getattr(config, "server_url", None) or _DEFAULT_SERVER)


def _chat(tracer: Tracer, stream: bool) -> tuple[Any, Any]:
    def attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**openai_chat_attributes(kwargs, _NUMBERS), A.GEN_AI_REQUEST_STREAM: stream}

    return openai_chat_wrappers(
        tracer,
        _PROVIDER,
        server=_server,
        attributes=attributes,
        accumulator=_StreamAccumulator,
        stream=stream,
    )


def _embeddings(tracer: Tracer) -> tuple[Any, Any]:
    def start(instance: Any, args: tuple, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        model = kwargs.get("model")
        host, port = _server(instance)
        dimensions = kwargs.get("output_dimension")
        return start_llm_call(
            tracer,
            operation=A.OP_EMBEDDINGS,
            provider=_PROVIDER,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            attributes={A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: dimensions}
            if type(dimensions) is int
            else None,
        )

    def finish(
        call: LLMCall, result: Any, args: tuple, kwargs: dict[str, Any], content: bool
    ) -> Any:
        call.set_response(response_id=S.field(result, "id"), model=S.field(result, "model"))
        S.record_usage(call, S.field(result, "usage"))
        data = S.field(result, "data")
        vector = S.field(data[0], "embedding") if data else None
        if isinstance(vector, list):
            call.set_attributes({A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector)})
        call.end()
        return result

    return method_wrappers(start, finish, "Mistral embeddings")


class MistralInstrumentor(PatchingInstrumentor):
    """``MistralInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments

    @property  # computed when asked, over the base's class attribute
    def target_modules(self) -> tuple[str, ...]:  # type: ignore[override]
        """The module whose first import applies us under ``init()``: ``mistralai``, or in
        2.x and later (a namespace package, which no import hook sees) ``mistralai.client``."""
        spec = importlib.util.find_spec("mistralai")
        namespace = spec is not None and spec.origin in (None, "namespace")
        return ("mistralai.client",) if namespace else ("mistralai",)

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        complete, complete_async = _chat(tracer, stream=False)
        stream, stream_async = _chat(tracer, stream=True)
        create, create_async = _embeddings(tracer)
        for chat_module, embeddings_module in _MODULES:
            if not patches.wrap(chat_module, "Chat.complete", complete):
                continue  # not this layout
            patches.wrap(chat_module, "Chat.complete_async", complete_async)
            patches.wrap(chat_module, "Chat.stream", stream)
            patches.wrap(chat_module, "Chat.stream_async", stream_async)
            patches.wrap(embeddings_module, "Embeddings.create", create)
            patches.wrap(embeddings_module, "Embeddings.create_async", create_async)
            return
