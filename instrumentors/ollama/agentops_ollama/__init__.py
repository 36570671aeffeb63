"""agentops-otel instrumentation for the Ollama Python client (``ollama``).

Wraps ``chat``, ``generate`` and ``embed`` of ``ollama.Client`` and ``ollama.AsyncClient``, and
the module-level ``ollama.chat`` / ``generate`` / ``embed`` (bound to a default client when the
package was imported). One CLIENT span per request, provider ``ollama``: ``chat {model}``,
``text_completion {model}`` for ``generate`` and ``embeddings {model}``, plain or streamed
(the span ends with the stream: exhaustion, ``close()``, error or garbage collection). Usage
is Ollama's ``prompt_eval_count`` (input) and ``eval_count`` (output), from the response or
the stream's last (``done``) part; the call is priced at $0 with cost source ``local``. With
content capture on: messages (``thinking`` as a reasoning part, tool calls with their
arguments), the prompt and ``system`` of ``generate``, tool definitions (a Python function
given as a tool is recorded by its name).

Usage::

    OllamaInstrumentor().instrument(tracer_provider=provider)   # uninstrument() restores it
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer

from agentops_ollama.package import _instruments
from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, start_llm_call
from agentops_otel.genai import openai_shapes as S
from agentops_otel.genai.wrappers import (
    COMMON_NUMBERS,
    method_wrappers,
    numbers,
    server_of,
    stop_sequences,
)
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["OllamaInstrumentor"]
__version__ = "0.1.0"

_PROVIDER = "ollama"
_OPTIONS = (
    *COMMON_NUMBERS,
    ("top_k", A.GEN_AI_REQUEST_TOP_K),
    ("num_predict", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("seed", A.GEN_AI_REQUEST_SEED),
)


def _arg(args: tuple, kwargs: dict[str, Any], index: int, name: str) -> Any:
    """A positional-or-keyword argument of the SDK method (``self`` excluded)."""
    return args[index] if len(args) > index else kwargs.get(name)


def _request_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    options = kwargs.get("options")
    attrs = numbers(options, _OPTIONS)
    attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(S.field(options, "stop"))
    if type(kwargs.get("stream")) is bool:
        attrs[A.GEN_AI_REQUEST_STREAM] = kwargs["stream"]
    if kwargs.get("format"):
        attrs[A.GEN_AI_OUTPUT_TYPE] = "json"
    return attrs


def _tools(tools: Any) -> list[Any] | None:
    if not isinstance(tools, (list, tuple)) or not tools:
        return None
    return [
        {"type": "function", "function": {"name": getattr(t, "__name__", None)}}
        if callable(t) and not isinstance(t, dict)
        else t
        for t in tools
    ]


def _record(call: LLMCall, final: Any) -> None:
    """Model, finish reason and usage from a response or a stream's ``done`` part."""
    reason = S.field(final, "done_reason")
    call.set_response(model=S.field(final, "model"), finish_reasons=[reason] if reason else None)
    call.set_usage(S.field(final, "prompt_eval_count"), S.field(final, "eval_count"))


def _output(reason: Any, thinking: str, text: str, tool_calls: list[Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if thinking:
        parts.append({"type": "reasoning", "content": thinking})
    if text:
        parts.append({"type": "text", "content": text})
    for tool_call in tool_calls:
        function = S.field(tool_call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": S.field(tool_call, "id"),
                "name": S.field(function, "name"),
                "arguments": S.field(function, "arguments"),
            }
        )
    return [{"role": "assistant", "parts": parts, "finish_reason": reason or ""}]


class _StreamAccumulator:
    """Collects streamed parts of ``chat`` (``message``) or ``generate`` (``response``)."""

    __slots__ = ("_content", "_final", "_is_chat", "_text", "_thinking", "_tool_calls")

    def __init__(self, content: bool, is_chat: bool) -> None:
        self._content = content
        self._is_chat = is_chat
        self._final: Any = None
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._tool_calls: list[Any] = []

    def add(self, part: Any) -> None:
        if S.field(part, "done"):
            self._final = part
        if not self._content:
            return
        source = S.field(part, "message") if self._is_chat else part
        text = S.field(source, "content" if self._is_chat else "response")
        if text:
            self._text.append(text)
        thinking = S.field(source, "thinking")
        if thinking:
            self._thinking.append(thinking)
        if self._is_chat:
            self._tool_calls.extend(S.field(source, "tool_calls") or ())

    def finish(self, call: LLMCall) -> None:
        if self._final is not None:
            _record(call, self._final)
        if self._content and (self._text or self._thinking or self._tool_calls):
            call.set_output(
                _output(
                    S.field(self._final, "done_reason"),
                    "".join(self._thinking),
                    "".join(self._text),
                    self._tool_calls,
                )
            )


def _starter(tracer: Tracer, operation: str) -> Any:
    """``start`` for one of chat / generate / embed (they differ in what they record)."""

    def start(instance: Any, args: tuple, kwargs: dict[str, Any], content: bool) -> LLMCall | None:
        model = _arg(args, kwargs, 0, "model")
        second = _arg(
            args,
            kwargs,
            1,
            {A.OP_CHAT: "messages", A.OP_EMBEDDINGS: "input"}.get(operation, "prompt"),
        )
        host, port = server_of(getattr(getattr(instance, "_client", None), "base_url", None))
        call = start_llm_call(
            tracer,
            operation=operation,
            provider=_PROVIDER,
            model=model if isinstance(model, str) and model else None,
            server_address=host,
            server_port=port,
            attributes=_request_attributes(kwargs),
            fingerprint=(_PROVIDER, model, second),
        )
        if call is None or not content or operation == A.OP_EMBEDDINGS:
            return call
        if operation == A.OP_CHAT:
            call.set_input(
                S.chat_input_messages(second) if isinstance(second, (list, tuple)) else None,
                tools=_tools(kwargs.get("tools")),
            )
        else:
            system = kwargs.get("system")
            call.set_input(
                [{"role": "user", "parts": [{"type": "text", "content": second}]}]
                if isinstance(second, str)
                else None,
                system=[{"type": "text", "content": system}] if isinstance(system, str) else None,
            )
        return call

    return start


def _finisher(operation: str) -> Any:
    def finish(
        call: LLMCall, result: Any, args: tuple, kwargs: dict[str, Any], content: bool
    ) -> Any:
        if kwargs.get("stream") is True:
            return call.wrap_stream(result, _StreamAccumulator(content, operation == A.OP_CHAT))
        _record(call, result)
        if operation == A.OP_EMBEDDINGS:
            vectors = S.field(result, "embeddings")
            if vectors and isinstance(vectors[0], list):
                call.set_attributes({A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vectors[0])})
        elif content:
            source = S.field(result, "message") if operation == A.OP_CHAT else result
            text = S.field(source, "content" if operation == A.OP_CHAT else "response")
            call.set_output(
                _output(
                    S.field(result, "done_reason"),
                    S.field(source, "thinking") or "",
                    text or "",
                    list(S.field(source, "tool_calls") or ()),
                )
            )
        call.end()
        return result

    return finish


_METHODS = (("chat", A.OP_CHAT), ("generate", A.OP_TEXT_COMPLETION), ("embed", A.OP_EMBEDDINGS))


class OllamaInstrumentor(PatchingInstrumentor):
    """``OllamaInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("ollama",)  # init() instruments when ollama is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        for method, operation in _METHODS:
            sync_call, async_call = method_wrappers(
                _starter(tracer, operation), _finisher(operation), f"Ollama {method}"
            )
            patches.wrap("ollama._client", f"Client.{method}", sync_call)
            patches.wrap("ollama._client", f"AsyncClient.{method}", async_call)
            # ``ollama.chat`` & co. are bound methods of a default client, taken at import
            patches.wrap("ollama", method, sync_call)
