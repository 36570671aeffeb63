"""The wrapper of ``BaseClient._make_api_call``: Bedrock Runtime model requests become spans."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import wrapt
from opentelemetry.trace import Tracer

from agentops_bedrock import _convert
from agentops_otel import semconv as A
from agentops_otel.genai import LLMCall, capture_content, start_llm_call

PROVIDER = "aws.bedrock"
SERVICE = "bedrock-runtime"
_STREAMS = {"ConverseStream": "stream", "InvokeModelWithResponseStream": "body"}
_OPERATIONS = frozenset({"Converse", "InvokeModel", *_STREAMS})
_ATTRIBUTES = {
    "max_tokens": A.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": A.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": A.GEN_AI_REQUEST_TOP_P,
    "top_k": A.GEN_AI_REQUEST_TOP_K,
}
_INPUT_HEADER = "x-amzn-bedrock-input-token-count"
_OUTPUT_HEADER = "x-amzn-bedrock-output-token-count"

Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]


# -- starting a call ------------------------------------------------------------------------------
def model_id(params: dict[str, Any]) -> str | None:
    """``modelId`` as given; for an ARN, the resource after the last ``/``."""
    model = params.get("modelId")
    if not isinstance(model, str) or not model:
        return None
    return model.rsplit("/", 1)[-1] if model.startswith("arn:") else model


def _operation(name: str, model: str | None, body: dict[str, Any] | None) -> str:
    if name.startswith("Converse") or (body is not None and "messages" in body):
        return A.OP_CHAT
    if model and "embed" in model:
        return A.OP_EMBEDDINGS
    return A.OP_TEXT_COMPLETION


def _request_attributes(request: dict[str, Any] | None, stream: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {A.GEN_AI_REQUEST_STREAM: True} if stream else {}
    for name, value in _convert.parameters(request or {}).items():
        if name == "stop":
            stop = [value] if isinstance(value, str) else value
            if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
                attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[_ATTRIBUTES[name]] = value
    return attrs


def _server(instance: Any) -> tuple[str | None, int | None]:
    try:
        url = urlsplit(instance.meta.endpoint_url)
        return url.hostname, url.port or (443 if url.scheme == "https" else 80)
    except Exception:  # noqa: BLE001
        return None, None


def _start(
    tracer: Tracer, instance: Any, name: str, params: dict[str, Any]
) -> tuple[LLMCall | None, str]:
    model = model_id(params)
    request = params if name.startswith("Converse") else _convert.load_body(params.get("body"))
    operation = _operation(name, model, request)
    host, port = _server(instance)
    prompt = None
    if request is not None:
        prompt = request.get("messages", request.get("prompt", request.get("inputText")))
    call = start_llm_call(
        tracer,
        operation=operation,
        provider=PROVIDER,
        model=model,
        server_address=host,
        server_port=port,
        attributes=_request_attributes(request, name in _STREAMS),
        fingerprint=(PROVIDER, model, prompt) if operation != A.OP_EMBEDDINGS else None,
    )
    if (
        call is not None
        and request is not None
        and capture_content()
        and (operation != A.OP_EMBEDDINGS)
    ):
        try:
            messages, system, tools = _convert.request_content(request)
            call.set_input(messages, system=system, tools=tools)
        except Exception:  # noqa: BLE001 - odd input shapes only lose the content
            pass
    return call, operation


# -- recording a response -------------------------------------------------------------------------
def _set_usage(call: LLMCall, counts: tuple[Any, ...] | None) -> bool:
    if counts is None or (counts[0] is None and counts[1] is None):
        return False
    call.set_usage(counts[0], counts[1], cache_read=counts[2], cache_write=counts[3])
    return True


def _header_usage(result: dict[str, Any]) -> tuple[Any, ...] | None:
    """The token counts Bedrock puts in the InvokeModel response headers."""
    headers = (result.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    counts = []
    for name in (_INPUT_HEADER, _OUTPUT_HEADER):
        value = headers.get(name)
        counts.append(int(value) if isinstance(value, str) and value.isdigit() else None)
    return counts[0], counts[1], None, None


def _record_body(
    call: LLMCall, body: dict[str, Any], result: dict[str, Any], operation: str
) -> None:
    reason = _convert.finish_reason(body)
    call.set_response(
        response_id=body.get("id") or body.get("generation_id"),
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        finish_reasons=(reason,) if reason else None,
    )
    if not _set_usage(call, _convert.body_usage(body)):
        _set_usage(call, _header_usage(result))
    if capture_content() and operation != A.OP_EMBEDDINGS:
        call.set_output(_convert.output_messages(_convert.response_content(body), reason))


class _FailedBody(wrapt.ObjectProxy):
    """An InvokeModel body whose reading failed in our hands (the connection broke): reading it
    raises that same error, as the caller's own read would have."""

    def __init__(self, body: Any, error: BaseException) -> None:
        super().__init__(body)
        self._self_error = error

    def _self_raise(self, *args: Any, **kwargs: Any) -> Any:
        raise self._self_error

    read = readlines = iter_lines = iter_chunks = __iter__ = __next__ = _self_raise


def _read_body(call: LLMCall, result: dict[str, Any]) -> bytes | None:
    """InvokeModel's body, read once and replaced by an equal ``StreamingBody``."""
    from botocore.response import StreamingBody

    original = result["body"]
    try:
        raw = original.read()
    except Exception as exc:  # noqa: BLE001 - the caller's read gets the same error
        call.fail(exc)
        result["body"] = _FailedBody(original, exc)
        return None
    result["body"] = StreamingBody(io.BytesIO(raw), len(raw))
    return raw


def _finish(call: LLMCall, name: str, operation: str, result: Any) -> Any:
    """Record a plain response; InvokeModel's body is read and replaced by an equal one."""
    try:
        if name == "Converse":
            _record_body(call, result, result, operation)
        elif (raw := _read_body(call, result)) is not None:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            _record_body(call, body if isinstance(body, dict) else {}, result, operation)
    except Exception:  # noqa: BLE001 - a response we cannot read still ends the span
        pass
    call.end()
    return result


class _Accumulator:
    """Reads the events of a ConverseStream, or the JSON chunks of an InvokeModel stream in any
    vendor's format: text and tool-use blocks, stop reason, usage (later counts override
    earlier ones), and Bedrock's invocation metrics as the fallback usage."""

    __slots__ = ("_blocks", "_id", "_invoke", "_metrics", "_model", "_reason", "_usage")

    def __init__(self, invoke: bool) -> None:
        self._invoke = invoke
        self._id = self._model = None
        self._reason: str | None = None
        self._usage: dict[str, Any] = {}
        self._metrics: dict[str, Any] | None = None
        self._blocks: dict[int, list[Any]] | None = {} if capture_content() else None

    def add(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        if not self._invoke:
            self._converse(event)
            return
        chunk = event.get("chunk")
        if chunk:
            payload = json.loads(chunk["bytes"])
            if isinstance(payload, dict):
                self._payload(payload)

    def _merge(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self._usage.update((k, v) for k, v in usage.items() if v is not None)

    def _payload(self, p: dict[str, Any]) -> None:
        kind = p.get("type")
        if kind == "message_start":  # Anthropic
            message = p.get("message") or {}
            self._id, self._model = message.get("id"), message.get("model")
            self._merge(message.get("usage"))
        elif kind == "message_delta":
            self._reason = (p.get("delta") or {}).get("stop_reason") or self._reason
            self._merge(p.get("usage"))
        elif kind == "content_block_start":
            block = p.get("content_block") or {}
            self._start_block(
                p.get("index", 0),
                block.get("id"),
                block.get("name"),
                block.get("type") == "tool_use",
            )
        elif kind == "content_block_delta":
            delta = p.get("delta") or {}
            self._piece(p.get("index", 0), delta.get("text", delta.get("partial_json")))
        elif any(
            k in p for k in ("contentBlockStart", "contentBlockDelta", "messageStop", "metadata")
        ):
            self._converse(p)
        else:  # a prompt-style model: one piece of text per chunk, counts on some
            self._reason = _convert.finish_reason(p) or self._reason
            self._merge({k: v for k, v in p.items() if k in _COUNT_KEYS})
            parts = _convert.response_content(p)
            if parts and parts[0].get("content"):
                self._piece(0, parts[0]["content"])
        metrics = p.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            self._metrics = metrics

    def _converse(self, p: dict[str, Any]) -> None:
        """ConverseStream events, and Nova's InvokeModel chunks (the same shapes)."""
        if "contentBlockDelta" in p:  # the most frequent: nothing to do with content off
            if self._blocks is not None:
                event = p["contentBlockDelta"]
                delta = event.get("delta") or {}
                text = delta.get("text", (delta.get("toolUse") or {}).get("input"))
                self._piece(event.get("contentBlockIndex", 0), text)
        elif "contentBlockStart" in p:
            event = p["contentBlockStart"]
            use = (event.get("start") or {}).get("toolUse") or {}
            self._start_block(
                event.get("contentBlockIndex", 0), use.get("toolUseId"), use.get("name"), bool(use)
            )
        elif "messageStop" in p:
            self._reason = p["messageStop"].get("stopReason")
        elif "metadata" in p:
            self._merge((p["metadata"] or {}).get("usage"))

    def _start_block(self, index: int, tool_id: Any, name: Any, is_tool: bool) -> None:
        if self._blocks is not None:
            self._blocks[index] = [(tool_id, name) if is_tool else None]

    def _piece(self, index: int, text: Any) -> None:
        if self._blocks is not None and isinstance(text, str):
            self._blocks.setdefault(index, [None]).append(text)

    def _parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for index in sorted(self._blocks or ()):
            # _blocks is a dict here: its keys are what the loop walks
            tool, *pieces = self._blocks[index]  # type: ignore[index]
            text = "".join(pieces)
            if tool is None:
                parts.append({"type": "text", "content": text})
                continue
            try:
                arguments = json.loads(text) if text else {}
            except ValueError:
                arguments = text  # a stream cut short leaves partial JSON
            parts.append(
                {"type": "tool_call", "id": tool[0], "name": tool[1], "arguments": arguments}
            )
        return parts

    def finish(self, call: LLMCall) -> None:
        call.set_response(
            response_id=self._id,
            model=self._model,
            finish_reasons=(self._reason,) if self._reason else None,
        )
        if not (self._usage and _set_usage(call, _convert.usage(self._usage))):
            _set_usage(call, _convert.usage(self._metrics or {}))
        if self._blocks is not None:
            call.set_output(_convert.output_messages(self._parts(), self._reason))


_COUNT_KEYS = frozenset(
    {
        "prompt_token_count",
        "generation_token_count",
        "inputTextTokenCount",
        "totalOutputTextTokenCount",
    }
)


# -- the wrapper ----------------------------------------------------------------------------------
def _is_bedrock_runtime(instance: Any) -> bool:
    try:
        return instance.meta.service_model.service_name == SERVICE
    except Exception:  # noqa: BLE001
        return False


def make_api_call(tracer: Tracer) -> Wrapper:
    """``BaseClient._make_api_call(operation_name, api_params)`` for every botocore client; only
    Bedrock Runtime's four model operations are traced."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        name = args[0] if args else kwargs.get("operation_name")
        if name not in _OPERATIONS or not _is_bedrock_runtime(instance):
            return wrapped(*args, **kwargs)
        params = args[1] if len(args) > 1 else kwargs.get("api_params")
        call, operation = _start(tracer, instance, name, params if isinstance(params, dict) else {})
        if call is None:
            return wrapped(*args, **kwargs)
        with call:
            result = wrapped(*args, **kwargs)
        key = _STREAMS.get(name)
        if key is None:
            return _finish(call, name, operation, result)
        try:
            result[key] = call.wrap_stream(
                result[key], _Accumulator(invoke=key == "body"), asynchronous=False
            )
        except Exception:  # noqa: BLE001 - an unexpected shape: the span ends without usage
            call.end()
        return result

    return wrapper
