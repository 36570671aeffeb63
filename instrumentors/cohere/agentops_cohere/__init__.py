"""agentops-otel instrumentation for the Cohere Python SDK's v2 client (``cohere``).

Wraps ``chat``, ``chat_stream``, ``embed`` and ``rerank`` of ``cohere.ClientV2`` and
``cohere.AsyncClientV2`` (also reached as ``cohere.Client().v2``). One CLIENT span per request,
provider ``cohere``:

- ``chat {model}``: request parameters (``p`` / ``k`` as top_p / top_k), response id, the
  finish reason as Cohere names it (``COMPLETE``, ``TOOL_CALL``, ...; output messages carry the
  GenAI one), usage, cost and, with content capture on, messages, tool definitions and the
  reply (text, ``tool_plan`` as a reasoning part, tool calls). ``chat_stream`` returns a
  generator that sends the request when first iterated; the span ends with it (exhaustion,
  ``close()``, error or garbage collection), usage from the ``message-end`` event.
- ``embeddings {model}``: input tokens from ``meta.billed_units``, ``embedding_types`` as
  encoding formats, vector size.
- ``rerank {model}``: the response id; Cohere bills reranking in search units, not tokens, so
  the span has no token usage and no cost.

Usage is Cohere's ``billed_units`` (what is charged; ``tokens``, which include Cohere's prompt
template, only when there are no billed units), with ``cached_tokens`` as cache read.

Usage::

    CohereInstrumentor().instrument(tracer_provider=provider)   # uninstrument() restores it
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer

from agentops_cohere.package import _instruments
from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, start_llm_call
from agentops_otel.genai import openai_shapes as S
from agentops_otel.genai.wrappers import (
    COMMON_NUMBERS,
    method_wrappers,
    numbers,
    server_of,
    start_chat,
    stop_sequences,
)
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["CohereInstrumentor"]
__version__ = "0.1.0"

_PROVIDER = "cohere"
_DEFAULT_SERVER = "https://api.cohere.com"
_NUMBERS = (
    *COMMON_NUMBERS,
    ("p", A.GEN_AI_REQUEST_TOP_P),
    ("k", A.GEN_AI_REQUEST_TOP_K),
    ("seed", A.GEN_AI_REQUEST_SEED),
)
_FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_call",
    "ERROR": "error",
    "TIMEOUT": "error",
}


def _server(instance: Any) -> tuple[str | None, int | None]:
    wrapper = getattr(instance, "_client_wrapper", None) or getattr(
        getattr(instance, "_raw_client", None), "_client_wrapper", None
    )
    get_base_url = getattr(wrapper, "get_base_url", None)
    return server_of(get_base_url() if callable(get_base_url) else _DEFAULT_SERVER)


def _record_usage(call: LLMCall, usage: Any) -> None:
    """Billed units (else model tokens) and cached tokens of a ``usage`` or ``meta``."""
    if usage is None:
        return
    billed = S.field(usage, "billed_units")
    counts = (
        billed
        if (
            S.field(billed, "input_tokens") is not None
            or S.field(billed, "output_tokens") is not None
        )
        else (S.field(usage, "tokens"))
    )
    call.set_usage(
        S.field(counts, "input_tokens"),
        S.field(counts, "output_tokens"),
        cache_read=S.field(usage, "cached_tokens") or None,
    )


def _output(message: Any, reason: Any) -> list[dict[str, Any]]:
    """An assistant reply as GenAI output messages (``tool_plan`` as a reasoning part)."""
    out = S.chat_output_messages(
        [
            {
                "message": message,
                "finish_reason": _FINISH_REASONS.get(reason, str(reason or "").lower()),
            }
        ]
    )
    plan = S.field(message, "tool_plan")
    if plan:
        out[0]["parts"].insert(0, {"type": "reasoning", "content": plan})
    return out


class _StreamAccumulator:
    """Collects a v2 chat stream's events: id, finish reason, usage and (content) the reply."""

    __slots__ = ("_content", "_id", "_plan", "_reason", "_text", "_tool_calls", "_usage")

    def __init__(self, content: bool) -> None:
        self._content = content
        self._id: Any = None
        self._reason: Any = None
        self._usage: Any = None
        self._text: list[str] = []
        self._plan: list[str] = []
        self._tool_calls: list[tuple[Any, Any, list[str]]] = []

    def add(self, event: Any) -> None:
        kind = S.field(event, "type")
        if kind == "message-start":
            self._id = S.field(event, "id")
        elif kind == "message-end":
            delta = S.field(event, "delta")
            self._reason = S.field(delta, "finish_reason")
            self._usage = S.field(delta, "usage")
        elif self._content:
            self._add_content(kind, S.field(S.field(event, "delta"), "message"))

    def _add_content(self, kind: Any, message: Any) -> None:
        if kind == "content-delta":
            self._text.append(S.field(S.field(message, "content"), "text") or "")
        elif kind == "tool-plan-delta":
            self._plan.append(S.field(message, "tool_plan") or "")
        elif kind in ("tool-call-start", "tool-call-delta"):
            tool_call = S.field(message, "tool_calls")
            function = S.field(tool_call, "function")
            if kind == "tool-call-start":
                self._tool_calls.append((S.field(tool_call, "id"), S.field(function, "name"), []))
            if self._tool_calls:
                self._tool_calls[-1][2].append(S.field(function, "arguments") or "")

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            response_id=self._id, finish_reasons=[self._reason] if self._reason else None
        )
        _record_usage(call, self._usage)
        if self._content and (self._text or self._tool_calls):
            message = {
                "role": "assistant",
                "content": "".join(self._text) or None,
                "tool_plan": "".join(self._plan),
                "tool_calls": [
                    {"id": i, "function": {"name": n, "arguments": "".join(a)}}
                    for i, n, a in self._tool_calls
                ],
            }
            call.set_output(_output(message, self._reason))


def _chat_attributes(kwargs: dict[str, Any], stream: bool) -> dict[str, Any]:
    attrs = numbers(kwargs, _NUMBERS)
    attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(kwargs.get("stop_sequences"))
    attrs[A.GEN_AI_REQUEST_STREAM] = stream
    if S.field(kwargs.get("response_format"), "type") == "json_object":
        attrs[A.GEN_AI_OUTPUT_TYPE] = "json"
    return attrs


def _chat(tracer: Tracer, stream: bool) -> tuple[Any, Any]:
    def start(instance: Any, args: tuple, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        return start_chat(
            tracer, _PROVIDER, kwargs, _server(instance), _chat_attributes(kwargs, stream), content
        )

    def finish(
        call: LLMCall, result: Any, args: tuple, kwargs: dict[str, Any], content: bool
    ) -> Any:
        if stream:
            return call.wrap_stream(result, _StreamAccumulator(content))
        reason = S.field(result, "finish_reason")
        call.set_response(
            response_id=S.field(result, "id"), finish_reasons=[reason] if reason else None
        )
        _record_usage(call, S.field(result, "usage"))
        if content:
            call.set_output(_output(S.field(result, "message"), reason))
        call.end()
        return result

    return method_wrappers(start, finish, "Cohere chat")


def _other(tracer: Tracer, operation: str) -> tuple[Any, Any]:
    """``embed`` (``embeddings``) or ``rerank``: no content, usage from ``meta``."""

    def start(instance: Any, args: tuple, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        model = kwargs.get("model")
        host, port = _server(instance)
        attrs: dict[str, Any] = {}
        types = kwargs.get("embedding_types")
        if isinstance(types, (list, tuple)):
            attrs[A.GEN_AI_REQUEST_ENCODING_FORMATS] = [str(t) for t in types]
        if type(kwargs.get("output_dimension")) is int:
            attrs[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = kwargs["output_dimension"]
        return start_llm_call(
            tracer,
            operation=operation,
            provider=_PROVIDER,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            attributes=attrs,
        )

    def finish(
        call: LLMCall, result: Any, args: tuple, kwargs: dict[str, Any], content: bool
    ) -> Any:
        call.set_response(response_id=S.field(result, "id"))
        _record_usage(call, S.field(result, "meta"))
        embeddings = S.field(result, "embeddings")
        vectors = S.field(embeddings, "float_") or S.field(embeddings, "float")
        if vectors and isinstance(vectors[0], list):
            call.set_attributes({A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vectors[0])})
        call.end()
        return result

    return method_wrappers(start, finish, f"Cohere {operation}")


class CohereInstrumentor(PatchingInstrumentor):
    """``CohereInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("cohere",)  # init() instruments when cohere is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        module = "cohere.v2.client"
        chat, chat_async = _chat(tracer, stream=False)
        # chat_stream is a generator function, sync and async: the request runs on iteration
        chat_stream = _chat(tracer, stream=True)[0]
        embed, embed_async = _other(tracer, A.OP_EMBEDDINGS)
        rerank, rerank_async = _other(tracer, A.OP_RERANK)
        for method, sync_wrapper, async_wrapper in (
            ("chat", chat, chat_async),
            ("chat_stream", chat_stream, chat_stream),
            ("embed", embed, embed_async),
            ("rerank", rerank, rerank_async),
        ):
            patches.wrap(module, f"V2Client.{method}", sync_wrapper)
            patches.wrap(module, f"AsyncV2Client.{method}", async_wrapper)
