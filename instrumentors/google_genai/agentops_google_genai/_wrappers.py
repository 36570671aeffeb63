"""Wrappers of ``Models`` / ``AsyncModels``: one span per model request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import Tracer

from agentops_google_genai import _convert
from agentops_google_genai._convert import get, number
from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, capture_content, start_llm_call

GEMINI = "gcp.gemini"
VERTEX = "gcp.vertex_ai"
_CONFIG_NUMBERS = (
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
    ("top_k", A.GEN_AI_REQUEST_TOP_K),
    ("max_output_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("seed", A.GEN_AI_REQUEST_SEED),
    ("candidate_count", A.GEN_AI_REQUEST_CHOICE_COUNT),
    ("presence_penalty", A.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("frequency_penalty", A.GEN_AI_REQUEST_FREQUENCY_PENALTY),
)

Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]


# -- starting a call ------------------------------------------------------------------------------
def model_id(model: Any) -> str | None:
    """``models/gemini-2.5-flash`` or ``projects/…/publishers/google/models/x`` → the model id."""
    if not isinstance(model, str) or not model:
        return None
    return model.rsplit("models/", 1)[-1] if "models/" in model else model


def _client_info(instance: Any) -> tuple[str, str | None, int | None]:
    """Provider (Vertex AI or the Gemini API), host and port of the module's API client."""
    try:
        client = instance._api_client
        provider = VERTEX if client.vertexai else GEMINI
    except Exception:  # noqa: BLE001 - a client of another shape still gets a span
        return GEMINI, None, None
    try:
        options = client._http_options
        base = get(options, "base_url")
        url = urlsplit(base)
        return provider, url.hostname, url.port or (443 if url.scheme == "https" else 80)
    except Exception:  # noqa: BLE001
        return provider, None, None


def _request_attributes(config: Any, stream: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if config is not None:
        for key, name in _CONFIG_NUMBERS:
            value = number(get(config, key))
            if value is not None:
                attrs[name] = value
        stop = get(config, "stop_sequences")
        if isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
            attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)
    if stream:
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    return attrs


def _start(
    tracer: Tracer, instance: Any, kwargs: dict[str, Any], operation: str, stream: bool = False
) -> LLMCall | None:
    model = model_id(kwargs.get("model"))
    contents = kwargs.get("contents")
    config = kwargs.get("config")
    provider, host, port = _client_info(instance)
    attributes = _request_attributes(config, stream)
    if operation == A.OP_EMBEDDINGS:
        dimensions = number(get(config, "output_dimensionality")) if config else None
        attributes = {A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: dimensions}
    call = start_llm_call(
        tracer,
        operation=operation,
        provider=provider,
        model=model,
        server_address=host,
        server_port=port,
        attributes=attributes,
        fingerprint=(provider, model, contents) if operation != A.OP_EMBEDDINGS else None,
    )
    if call is not None and capture_content() and operation != A.OP_EMBEDDINGS:
        try:
            call.set_input(
                _convert.input_messages(contents),
                system=_convert.system_instructions(get(config, "system_instruction")),
                tools=_convert.tool_definitions(get(config, "tools")),
            )
        except Exception:  # noqa: BLE001 - odd input shapes only lose the content
            pass
    return call


# -- recording a response -------------------------------------------------------------------------
def set_usage(call: LLMCall, usage: Any) -> None:
    """Gemini's counts in the OTel convention.

    ``prompt_token_count`` already includes ``cached_content_token_count``; tool-use prompt
    tokens are counted apart and are input too. ``candidates_token_count`` excludes
    ``thoughts_token_count``, which is billed as output: output = candidates + thoughts (taken
    from ``total_token_count`` by SDKs too old to expose the thoughts).
    """
    if usage is None:
        return
    prompt = number(get(usage, "prompt_token_count"))
    tool_prompt = number(get(usage, "tool_use_prompt_token_count")) or 0
    candidates = number(get(usage, "candidates_token_count"))
    thoughts = number(get(usage, "thoughts_token_count"))
    total = number(get(usage, "total_token_count"))
    if thoughts is None and total is not None and prompt is not None and candidates is not None:
        # SDKs before thoughts_token_count drop it; the total still counts the thoughts.
        thoughts = max(0, total - prompt - tool_prompt - candidates) or None
    input_tokens = prompt + tool_prompt if prompt is not None else None
    output = (
        None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    )
    call.set_usage(
        input_tokens,
        output,
        cache_read=get(usage, "cached_content_token_count"),
        reasoning=thoughts,
    )


def _finish_reasons(candidates: Any) -> list[str]:
    reasons = (_convert.enum_name(get(c, "finish_reason")) for c in candidates or ())
    return [r for r in reasons if r]


def _record(call: LLMCall, response: Any) -> None:
    candidates = get(response, "candidates")
    call.set_response(
        response_id=get(response, "response_id"),
        model=get(response, "model_version"),
        finish_reasons=_finish_reasons(candidates),
    )
    set_usage(call, get(response, "usage_metadata"))
    if capture_content():
        call.set_output(_convert.output_messages(candidates))


def finish_generate(call: LLMCall, response: Any) -> None:
    try:
        _record(call, response)
    except Exception:  # noqa: BLE001 - a response we cannot read still ends the span
        pass
    call.end()


def finish_embeddings(call: LLMCall, response: Any) -> None:
    """Input tokens from ``usage_metadata`` (Gemini API) or the per-embedding statistics
    (Vertex AI); embeddings have no output tokens."""
    try:
        prompt = number(get(get(response, "usage_metadata"), "prompt_token_count"))
        if prompt is None:
            counts = [
                number(get(get(e, "statistics"), "token_count"))
                for e in get(response, "embeddings") or ()
            ]
            # summed only when no count is None
            prompt = sum(counts) if counts and None not in counts else None  # type: ignore[arg-type]
        if prompt is not None:
            call.set_usage(prompt, 0)
    except Exception:  # noqa: BLE001
        pass
    call.end()


class _Accumulator:
    """Collects streamed ``GenerateContentResponse`` chunks: the last usage (each chunk's is
    cumulative), ids, finish reasons and (capture on) the parts per candidate."""

    __slots__ = ("_finish", "_id", "_model", "_parts", "_usage")

    def __init__(self) -> None:
        self._id = self._model = self._usage = None
        self._finish: dict[int, Any] = {}
        self._parts: dict[int, list[Any]] | None = {} if capture_content() else None

    def add(self, chunk: Any) -> None:
        self._id = get(chunk, "response_id") or self._id
        self._model = get(chunk, "model_version") or self._model
        self._usage = get(chunk, "usage_metadata") or self._usage
        for position, candidate in enumerate(get(chunk, "candidates") or ()):
            index = get(candidate, "index") or position
            reason = get(candidate, "finish_reason")
            if reason is not None:
                self._finish[index] = reason
            if self._parts is not None:
                content = get(candidate, "content")
                self._parts.setdefault(index, []).extend(get(content, "parts") or ())

    def _candidates(self) -> list[dict[str, Any]]:
        out = []
        for index in sorted(set(self._parts or ()) | set(self._finish)):
            parts: list[Any] = []
            for item in (self._parts or {}).get(index, ()):
                text, thought = get(item, "text"), bool(get(item, "thought"))
                last = parts[-1] if parts else None
                if text is not None and isinstance(last, dict) and last["thought"] == thought:
                    last["text"] += text
                elif text is not None:
                    parts.append({"text": text, "thought": thought})
                else:
                    parts.append(item)
            out.append({"content": {"parts": parts}, "finish_reason": self._finish.get(index)})
        return out

    def finish(self, call: LLMCall) -> None:
        reasons = [_convert.enum_name(self._finish[i]) for i in sorted(self._finish)]
        call.set_response(
            response_id=self._id, model=self._model, finish_reasons=[r for r in reasons if r]
        )
        set_usage(call, self._usage)
        if self._parts is not None:
            call.set_output(_convert.output_messages(self._candidates()))


# -- the wrappers ---------------------------------------------------------------------------------
def request(tracer: Tracer, operation: str, finish: Callable[[LLMCall, Any], None]) -> Wrapper:
    """A method that makes one request and returns its response (``_generate_content``, which
    automatic function calling and continuation call once per request; ``embed_content``)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _start(tracer, instance, kwargs, operation)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            response = wrapped(*args, **kwargs)
        finish(call, response)
        return response

    return wrapper


def async_request(
    tracer: Tracer, operation: str, finish: Callable[[LLMCall, Any], None]
) -> Wrapper:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _start(tracer, instance, kwargs, operation)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            response = await wrapped(*args, **kwargs)
        finish(call, response)
        return response

    return wrapper


def generate_stream(tracer: Tracer) -> Wrapper:
    """``Models._generate_content_stream``: a generator; the request goes out on the first
    ``next()``, and our proxy ends the span on every way the iteration ends."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _start(tracer, instance, kwargs, A.OP_GENERATE_CONTENT, stream=True)
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            stream = wrapped(*args, **kwargs)
        return call.wrap_stream(stream, _Accumulator(), asynchronous=False)

    return wrapper


def async_generate_stream(tracer: Tracer) -> Wrapper:
    """``AsyncModels._generate_content_stream``: awaiting it sends the request and returns an
    async generator of chunks."""

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _start(tracer, instance, kwargs, A.OP_GENERATE_CONTENT, stream=True)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            stream = await wrapped(*args, **kwargs)
        return call.wrap_stream(stream, _Accumulator(), asynchronous=True)

    return wrapper
