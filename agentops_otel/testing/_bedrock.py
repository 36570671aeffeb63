"""Bedrock Runtime endpoints of the fake LLM server: Converse and InvokeModel, plain and streamed.

Routes (``{model}`` is the model id or inference profile, URL-decoded, e.g.
``us.anthropic.claude-sonnet-4-5-20250929-v1:0``):

- ``POST /model/{model}/converse`` and ``/converse-stream`` — the Converse API for every model;
- ``POST /model/{model}/invoke`` and ``/invoke-with-response-stream`` — the model's own body
  format, chosen by the vendor in the id: ``anthropic`` (the Messages API), ``meta`` (Llama
  ``prompt`` → ``generation``), ``amazon.nova`` (messages → ``output.message``), ``amazon.titan``
  text (``inputText`` → ``results``) and embeddings (→ ``embedding``), ``cohere`` Command R
  (``message`` → ``text``) and embeddings (``texts`` → ``embeddings``), ``mistral``
  (``prompt`` → ``outputs``).

Streams use the binary ``application/vnd.amazon.eventstream`` framing (prelude with total and
header lengths and its CRC32, string headers ``:event-type`` / ``:content-type`` /
``:message-type``, the JSON payload, the message CRC32). Converse streams send
``messageStart`` … ``metadata`` events; InvokeModel streams send ``chunk`` events whose payload is
``{"bytes": base64(JSON)}``, the last carrying ``amazon-bedrock-invocationMetrics``.

Usage: Converse reports ``inputTokens`` = T - cache read - cache write (T // 4 and T // 8, reported
apart, as Bedrock does), ``outputTokens`` = O. Every InvokeModel response carries the
``x-amzn-bedrock-input-token-count`` / ``-output-token-count`` headers (T and O); bodies carry
what the vendor's format carries (Anthropic: its usage block with cache counts; Llama, Titan,
Nova: counts; Cohere and Mistral: none). The log's normalized usage has input T (cache included).
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

from agentops_otel.testing import _anthropic
from agentops_otel.testing._common import (
    Context,
    Conversation,
    Decision,
    Result,
    decide,
    input_tokens,
    normalized_usage,
    output_tokens,
    split_text,
    text_of,
)
from agentops_otel.testing._openai import _vector

_PATH = r"^/model/(?P<model>[^/]+)/"
_PROFILE = re.compile(r"^(?:us|eu|apac|au|jp|ca|global|us-gov)\.")
_ERROR_CODES = {
    400: "ValidationException",
    401: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
EVENTSTREAM = "application/vnd.amazon.eventstream"


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Bedrock's error shape; the code is in ``__type`` (botocore also reads it there)."""
    code = _ERROR_CODES.get(status, "InternalServerException")
    return {"__type": code, "message": message or f"Fake {code}."}


# -- the event stream framing ---------------------------------------------------------------------
def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", 7, len(raw_value))
        + raw_value
    )  # 7: string


def frame(event: str | None, data: str) -> bytes:
    """One eventstream message: prelude, prelude CRC, headers, JSON payload, message CRC."""
    headers = (
        _header(":event-type", event or "chunk")
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    payload = data.encode()
    prelude = struct.pack("!II", 12 + len(headers) + len(payload) + 4, len(headers))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack("!I", zlib.crc32(message))


def _event(name: str, payload: dict[str, Any]) -> tuple[str | None, str]:
    return name, json.dumps(payload, separators=(",", ":"))


def _chunk(payload: dict[str, Any]) -> tuple[str | None, str]:
    """An InvokeModel stream event: the model's JSON chunk, base64 in ``bytes``."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return _event("chunk", {"bytes": base64.b64encode(raw).decode()})


# -- requests -------------------------------------------------------------------------------------
def _vendor(model: str) -> str:
    """``us.anthropic.claude-…`` → ``anthropic``; ``amazon.nova-lite-v1:0`` → ``amazon.nova``."""
    base = _PROFILE.sub("", model)
    vendor = base.split(".", 1)[0]
    if vendor in ("amazon", "cohere"):
        family = base.split(".", 1)[1] if "." in base else ""
        for name in ("nova", "titan-embed", "titan", "embed"):
            if family.startswith(name):
                return f"{vendor}.{name}"
    return vendor


def _block_text(block: Any) -> str:
    """Text of a Converse / Nova content block (tool uses and results as JSON)."""
    if not isinstance(block, dict):
        return str(block)
    if "toolUse" in block:
        return json.dumps(block["toolUse"].get("input") or {}, separators=(",", ":"))
    if "toolResult" in block:
        parts = block["toolResult"].get("content") or []
        return "".join(
            p.get("text") or json.dumps(p.get("json"), separators=(",", ":"))
            for p in parts
            if isinstance(p, dict)
        )
    return str(block.get("text") or "")


def _converse_conversation(body: dict[str, Any], model: str) -> Conversation:
    """Converse and Nova requests: messages of content blocks, ``system``, ``toolConfig``."""
    conv = Conversation(model=model)
    conv.texts.extend(_block_text(b) for b in body.get("system") or [])
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]

    def is_question(message: dict[str, Any]) -> bool:
        return message.get("role") == "user" and any(
            isinstance(b, dict) and "text" in b for b in message.get("content") or []
        )

    last_user = max((i for i, m in enumerate(messages) if is_question(m)), default=-1)
    for i, message in enumerate(messages):
        for block in message.get("content") or []:
            text = _block_text(block)
            conv.texts.append(text)
            if i > last_user and isinstance(block, dict) and "toolResult" in block:
                conv.tool_results.append(text)
        if i == last_user:
            conv.last_user_text = "".join(
                str(b.get("text")) for b in message.get("content") or [] if "text" in b
            )
    config = body.get("toolConfig") or {}
    tools = config.get("tools") or []
    specs = [
        (t["toolSpec"].get("name", ""), (t["toolSpec"].get("inputSchema") or {}).get("json") or {})
        for t in tools
        if isinstance(t, dict) and "toolSpec" in t
    ]
    conv.add_tools(tools, specs)
    choice = config.get("toolChoice") or {}
    if "tool" in choice:
        conv.forced_tool = choice["tool"].get("name")
    return conv


def _prompt_conversation(model: str, *texts: Any) -> Conversation:
    """Prompt-style bodies (Llama, Mistral, Titan, Cohere): the prompt is the question."""
    conv = Conversation(model=model)
    conv.texts.extend(text_of(t) for t in texts if t)
    conv.last_user_text = text_of(texts[0]) if texts else ""
    return conv


class _Answer:
    """A decided reply with its counts: T input (cache included), O output."""

    def __init__(self, conv: Conversation, ctx: Context, cached: bool = False) -> None:
        self.decision: Decision = decide(conv, ctx.rules)
        self.total_in = input_tokens(conv)
        self.out = output_tokens(self.decision.output_text)
        self.read = self.total_in // 4 if cached else 0
        self.write = self.total_in // 8 if cached else 0
        self.report = ctx.report_usage
        self.tool_id = ctx.new_id("tooluse_") if self.decision.tool_name else None

    @property
    def usage(self) -> dict[str, int] | None:
        return (
            normalized_usage(self.total_in, self.out, self.read, self.write, 0)
            if self.report
            else None
        )

    @property
    def headers(self) -> dict[str, str]:
        if not self.report:
            return {}
        return {
            "x-amzn-bedrock-input-token-count": str(self.total_in),
            "x-amzn-bedrock-output-token-count": str(self.out),
            "x-amzn-bedrock-invocation-latency": "12",
        }

    @property
    def pieces(self) -> list[str]:
        return split_text(self.decision.text) if not self.decision.tool_name else []

    def converse_usage(self) -> dict[str, int]:
        return {
            "inputTokens": self.total_in - self.read - self.write,
            "outputTokens": self.out,
            "totalTokens": self.total_in + self.out,
            "cacheReadInputTokens": self.read,
            "cacheWriteInputTokens": self.write,
        }

    def content(self) -> list[dict[str, Any]]:
        d = self.decision
        if d.tool_name:
            return [
                {
                    "toolUse": {
                        "toolUseId": self.tool_id,
                        "name": d.tool_name,
                        "input": json.loads(d.tool_arguments),
                    }
                }
            ]
        return [{"text": d.text}]

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.decision.tool_name else "end_turn"

    def metrics(self) -> dict[str, Any]:
        """The ``amazon-bedrock-invocationMetrics`` of an InvokeModel stream's last chunk."""
        if not self.report:
            return {}
        return {
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": self.total_in,
                "outputTokenCount": self.out,
                "invocationLatency": 12,
                "firstByteLatency": 5,
            }
        }


# -- Converse -------------------------------------------------------------------------------------
def _converse(body: dict[str, Any], ctx: Context, stream: bool) -> Result:
    answer = _Answer(_converse_conversation(body, ctx.params["model"]), ctx, cached=True)
    if not stream:
        out: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": answer.content()}},
            "stopReason": answer.stop_reason,
            "metrics": {"latencyMs": 12},
        }
        if answer.report:
            out["usage"] = answer.converse_usage()
        return Result(body=out, usage=answer.usage)
    events = [_event("messageStart", {"role": "assistant"})]
    events.extend(_converse_deltas(answer))
    events.append(_event("messageStop", {"stopReason": answer.stop_reason}))
    metadata: dict[str, Any] = {"metrics": {"latencyMs": 12}}
    if answer.report:
        metadata["usage"] = answer.converse_usage()
    events.append(_event("metadata", metadata))
    return Result(events=events, usage=answer.usage, framing=(EVENTSTREAM, frame))


def _converse_deltas(
    answer: _Answer, wrap: Callable[[str, dict[str, Any]], Any] = _event
) -> list[Any]:
    """contentBlockStart / Delta / Stop events of one block (text, or a tool use in pieces)."""
    d = answer.decision
    events = []
    if d.tool_name:
        start = {"toolUse": {"toolUseId": answer.tool_id, "name": d.tool_name}}
        events.append(wrap("contentBlockStart", {"contentBlockIndex": 0, "start": start}))
        size = max(1, -(-len(d.tool_arguments) // 3))
        for i in range(0, len(d.tool_arguments), size):
            delta = {"toolUse": {"input": d.tool_arguments[i : i + size]}}
            events.append(wrap("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}))
    for piece in answer.pieces:
        events.append(wrap("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}))
    events.append(wrap("contentBlockStop", {"contentBlockIndex": 0}))
    return events


def converse(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /model/{model}/converse``."""
    return _converse(body, ctx, stream=False)


def converse_stream(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /model/{model}/converse-stream``."""
    return _converse(body, ctx, stream=True)


# -- InvokeModel, per body format -----------------------------------------------------------------
def _anthropic_invoke(body: dict[str, Any], ctx: Context, stream: bool) -> Result:
    """The Messages API as Bedrock serves it; a stream's events become ``chunk`` payloads."""
    result = _anthropic.messages({**body, "model": ctx.params["model"], "stream": stream}, ctx)
    answer_usage = result.usage or {}
    headers = {}
    if ctx.report_usage:
        headers = {
            "x-amzn-bedrock-input-token-count": str(answer_usage.get("input_tokens", 0)),
            "x-amzn-bedrock-output-token-count": str(answer_usage.get("output_tokens", 0)),
        }
    if not stream:
        return Result(
            body=result.body, usage=result.usage, headers=headers, response_id=result.response_id
        )
    payloads = [json.loads(data) for _, data in result.events or []]
    if ctx.report_usage:
        payloads[-1]["amazon-bedrock-invocationMetrics"] = {
            "inputTokenCount": answer_usage.get("input_tokens", 0),
            "outputTokenCount": answer_usage.get("output_tokens", 0),
        }
    return Result(
        events=[_chunk(p) for p in payloads],
        usage=result.usage,
        headers=headers,
        response_id=result.response_id,
        framing=(EVENTSTREAM, frame),
    )


def _text_format(
    answer: _Answer,
    whole: Callable[[], dict[str, Any]],
    piece: Callable[[int, str, bool], dict[str, Any]],
    stream: bool,
    tail: dict[str, Any] | None = None,
) -> Result:
    """A prompt-style model: one body, or one chunk per word (then ``tail``), the last chunk
    with the invocation metrics."""
    if not stream:
        return Result(body=whole(), usage=answer.usage, headers=answer.headers)
    words = answer.pieces
    chunks = [piece(i, w, i == len(words) - 1) for i, w in enumerate(words)]
    chunks.extend([tail] if tail else [])
    chunks[-1].update(answer.metrics())
    return Result(
        events=[_chunk(c) for c in chunks],
        usage=answer.usage,
        headers=answer.headers,
        framing=(EVENTSTREAM, frame),
    )


def _invoke_text(body: dict[str, Any], ctx: Context, vendor: str, stream: bool) -> Result:
    model = ctx.params["model"]
    report = ctx.report_usage
    if vendor == "meta":
        a = _Answer(_prompt_conversation(model, body.get("prompt")), ctx)
        counts = {"prompt_token_count": a.total_in, "generation_token_count": a.out}
        return _text_format(
            a,
            lambda: {
                "generation": a.decision.text,
                "stop_reason": "stop",
                **(counts if report else {}),
            },
            lambda i, w, last: {
                "generation": w,
                "stop_reason": "stop" if last else None,
                **(
                    {
                        "prompt_token_count": a.total_in if i == 0 else None,
                        "generation_token_count": a.out if last else i + 1,
                    }
                    if report
                    else {}
                ),
            },
            stream,
        )
    if vendor == "mistral":
        a = _Answer(_prompt_conversation(model, body.get("prompt")), ctx)
        return _text_format(
            a,
            lambda: {"outputs": [{"text": a.decision.text, "stop_reason": "stop"}]},
            lambda i, w, last: {"outputs": [{"text": w, "stop_reason": "stop" if last else None}]},
            stream,
        )
    if vendor == "amazon.titan":
        a = _Answer(_prompt_conversation(model, body.get("inputText")), ctx)
        return _text_format(
            a,
            lambda: {
                "inputTextTokenCount": a.total_in if report else None,
                "results": [
                    {
                        "tokenCount": a.out if report else None,
                        "outputText": a.decision.text,
                        "completionReason": "FINISH",
                    }
                ],
            },
            lambda i, w, last: {
                "outputText": w,
                "index": 0,
                "completionReason": "FINISH" if last else None,
            },
            stream,
        )
    # cohere Command R: no counts in the body (the headers and stream metrics have them)
    a = _Answer(_prompt_conversation(model, body.get("message"), body.get("preamble")), ctx)
    return _text_format(
        a,
        lambda: {
            "text": a.decision.text,
            "generation_id": "gen-1",
            "finish_reason": "COMPLETE",
            "chat_history": [],
        },
        lambda i, w, last: {"event_type": "text-generation", "text": w, "is_finished": False},
        stream,
        {"event_type": "stream-end", "finish_reason": "COMPLETE", "is_finished": True},
    )


def _invoke_nova(body: dict[str, Any], ctx: Context, stream: bool) -> Result:
    a = _Answer(_converse_conversation(body, ctx.params["model"]), ctx)
    usage = {"inputTokens": a.total_in, "outputTokens": a.out, "totalTokens": a.total_in + a.out}
    if not stream:
        out: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": a.content()}},
            "stopReason": a.stop_reason,
        }
        if a.report:
            out["usage"] = usage
        return Result(body=out, usage=a.usage, headers=a.headers)
    chunks: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    chunks.extend(_converse_deltas(a, lambda name, payload: {name: payload}))
    chunks.append({"messageStop": {"stopReason": a.stop_reason}})
    chunks.append({"metadata": {"usage": usage} if a.report else {}, **a.metrics()})
    return Result(
        events=[_chunk(c) for c in chunks],
        usage=a.usage,
        headers=a.headers,
        framing=(EVENTSTREAM, frame),
    )


def _invoke_embed(body: dict[str, Any], ctx: Context, vendor: str) -> Result:
    sent = body.get("texts") if vendor == "cohere.embed" else [body.get("inputText")]
    texts = [str(t or "") for t in sent or []]
    total = sum(input_tokens(Conversation(model="", texts=[t])) for t in texts)
    usage = normalized_usage(total, 0, 0, 0, 0) if ctx.report_usage else None
    headers = (
        {"x-amzn-bedrock-input-token-count": str(total), "x-amzn-bedrock-output-token-count": "0"}
        if ctx.report_usage
        else {}
    )
    if vendor == "cohere.embed":
        out: dict[str, Any] = {
            "embeddings": [_vector(t, 8) for t in texts],
            "id": "emb-1",
            "response_type": "embeddings_floats",
            "texts": texts,
        }
    else:
        out = {"embedding": _vector(texts[0], 8)}
        if ctx.report_usage:
            out["inputTextTokenCount"] = total
    return Result(body=out, usage=usage, headers=headers)


def _invoke(body: dict[str, Any], ctx: Context, stream: bool) -> Result:
    vendor = _vendor(ctx.params["model"])
    if vendor == "anthropic":
        return _anthropic_invoke(body, ctx, stream)
    if vendor == "amazon.nova":
        return _invoke_nova(body, ctx, stream)
    if vendor in ("amazon.titan-embed", "cohere.embed"):
        return _invoke_embed(body, ctx, vendor)
    return _invoke_text(body, ctx, vendor, stream)


def invoke(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /model/{model}/invoke``."""
    return _invoke(body, ctx, stream=False)


def invoke_stream(body: dict[str, Any], ctx: Context) -> Result:
    """``POST /model/{model}/invoke-with-response-stream``."""
    return _invoke(body, ctx, stream=True)


ROUTES = [
    ("POST", _PATH + r"converse$", "bedrock", converse),
    ("POST", _PATH + r"converse-stream$", "bedrock", converse_stream),
    ("POST", _PATH + r"invoke$", "bedrock", invoke),
    ("POST", _PATH + r"invoke-with-response-stream$", "bedrock", invoke_stream),
]
