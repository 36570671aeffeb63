"""agentops-otel instrumentation for the Groq Python SDK (``groq``).

Wraps ``chat.completions.create`` of ``Groq`` and ``AsyncGroq``: one CLIENT span ``chat {model}``
per request (provider ``groq``), plain or ``stream=True``, with the request parameters, response
id / model / finish reasons, usage (``usage`` of the completion; in a stream, ``x_groq.usage``
of the last chunk, which Groq always sends), cost and, when content capture is on, the
messages and tool definitions. Groq's API is OpenAI's, so the OpenAI converters of the core
(``agentops_otel.genai.openai_shapes``) read it.

Usage::

    GroqInstrumentor().instrument(tracer_provider=provider)   # uninstrument() restores the SDK
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer

from agentops_groq.package import _instruments
from agentops_otel import semconv as A
from agentops_otel.genai import openai_shapes as S
from agentops_otel.genai.wrappers import (
    COMMON_NUMBERS,
    openai_chat_attributes,
    openai_chat_wrappers,
    server_of,
)
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["GroqInstrumentor"]
__version__ = "0.1.0"

_PROVIDER = "groq"
_NUMBERS = (
    *COMMON_NUMBERS,
    ("seed", A.GEN_AI_REQUEST_SEED),
    ("max_completion_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
)


class _StreamAccumulator(S.ChatStreamAccumulator):
    """OpenAI's chunk accumulator, plus the usage Groq sends under ``x_groq``."""

    __slots__ = ("_groq_usage",)

    def __init__(self, content: bool) -> None:
        super().__init__(content)
        self._groq_usage: Any = None

    def add(self, chunk: Any) -> None:
        super().add(chunk)
        extra = S.field(chunk, "x_groq")
        if extra is not None:
            usage = S.field(extra, "usage")
            if usage is not None:
                self._groq_usage = usage

    def finish(self, call: Any) -> None:
        super().finish(call)
        if self._groq_usage is not None:
            S.record_usage(call, self._groq_usage)


def _request_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    attrs = openai_chat_attributes(kwargs, _NUMBERS)
    if type(kwargs.get("stream")) is bool:
        attrs[A.GEN_AI_REQUEST_STREAM] = kwargs["stream"]
    return attrs


def _server(instance: Any) -> tuple[str | None, int | None]:
    return server_of(getattr(getattr(instance, "_client", None), "base_url", None))


class GroqInstrumentor(PatchingInstrumentor):
    """``GroqInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("groq",)  # init() instruments when groq is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        sync_chat, async_chat = openai_chat_wrappers(
            tracer,
            _PROVIDER,
            server=_server,
            attributes=_request_attributes,
            accumulator=_StreamAccumulator,
        )
        module = "groq.resources.chat.completions"
        patches.wrap(module, "Completions.create", sync_chat)
        patches.wrap(module, "AsyncCompletions.create", async_chat)
