"""Gemini-compatible endpoints of the fake LLM server (Gemini Developer API and Vertex AI paths).

Routes (pattern routes; ``{model}`` is the last path segment before ``:``):

- ``POST /{version}/models/{model}:generateContent`` / ``:streamGenerateContent`` (``alt=sse``)
  / ``:embedContent`` / ``:batchEmbedContents`` — the Gemini Developer API;
- the same under ``/{version}/[projects/{p}/locations/{l}/]publishers/{publisher}/models/`` —
  Vertex AI (project mode and express mode), plus ``:predict`` for Vertex text embeddings.

Usage as Gemini reports it: ``promptTokenCount`` = T (cached tokens included,
``cachedContentTokenCount`` = T // 4), ``candidatesTokenCount`` = O - R and ``thoughtsTokenCount``
= R (thoughts are NOT in the candidates count), with R = O // 2 for thinking models
(``gemini-2.5*``, ``gemini-3*``, names with ``thinking``). The log's normalized usage is input T,
output O (thoughts included), reasoning R.
Streams carry the prompt count on every chunk and the full usage on the last one.
"""

from __future__ import annotations

import json
from typing import Any

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
    sse_event,
)
from agentops_otel.testing._openai import _vector

_MODEL_PATH = (
    r"^/(?P<version>v1\w*)/(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?"
    r"models/(?P<model>[^/:]+):"
)
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_THINKING_PREFIXES = ("gemini-2.5", "gemini-3")


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Google's error shape for ``status``."""
    kind = _STATUS.get(status, "INTERNAL")
    return {"error": {"code": status, "message": message or f"Fake {kind}.", "status": kind}}


def _lower_types(schema: Any) -> Any:
    """Gemini schemas spell types in capitals (``OBJECT``); JSON Schema in lower case."""
    if isinstance(schema, dict):
        return {
            k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


def _part_text(part: Any) -> str:
    if not isinstance(part, dict):
        return ""
    if "functionCall" in part:
        return json.dumps(part["functionCall"].get("args") or {}, separators=(",", ":"))
    if "functionResponse" in part:
        return json.dumps(part["functionResponse"].get("response") or {}, separators=(",", ":"))
    return str(part.get("text") or "")


def _schema(declaration: dict[str, Any]) -> Any:
    for key in ("parameters", "parametersJsonSchema", "parameters_json_schema"):
        if declaration.get(key):
            return declaration[key]
    return None


def _conversation(body: dict[str, Any], model: str) -> Conversation:
    conv = Conversation(model=model)
    system = body.get("systemInstruction") or {}
    conv.texts.extend(_part_text(p) for p in system.get("parts") or [])
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]

    def is_question(content: dict[str, Any]) -> bool:
        parts = content.get("parts") or []
        return content.get("role", "user") == "user" and any("text" in p for p in parts)

    last_user = max((i for i, c in enumerate(contents) if is_question(c)), default=-1)
    for i, content in enumerate(contents):
        for part in content.get("parts") or []:
            text = _part_text(part)
            conv.texts.append(text)
            if i > last_user and isinstance(part, dict) and "functionResponse" in part:
                conv.tool_results.append(text)
        if i == last_user:
            conv.last_user_text = "".join(
                str(p.get("text") or "") for p in content.get("parts") or [] if "text" in p
            )
    tools = body.get("tools") or []
    specs = [
        (d.get("name", ""), _lower_types(_schema(d)))
        for tool in tools
        if isinstance(tool, dict)
        for d in tool.get("functionDeclarations") or []
    ]
    conv.add_tools(tools, specs)
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    conv.tools_disabled = calling.get("mode") == "NONE"
    allowed = calling.get("allowedFunctionNames") or []
    if calling.get("mode") == "ANY" and allowed:
        conv.forced_tool = allowed[0]
    return conv


def _usage_metadata(total_in: int, out: int, reasoning: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": total_in,
        "candidatesTokenCount": out - reasoning,
        "totalTokenCount": total_in + out,
        "cachedContentTokenCount": total_in // 4,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total_in}],
    }
    if reasoning:
        usage["thoughtsTokenCount"] = reasoning
    return usage


def _parts(decision: Decision) -> list[dict[str, Any]]:
    if decision.tool_name:
        call = {"name": decision.tool_name, "args": json.loads(decision.tool_arguments)}
        return [{"functionCall": call}]
    return [{"text": decision.text}]


def _generate(body: dict[str, Any], ctx: Context, stream: bool) -> Result:
    model = ctx.params.get("model", "")
    conv = _conversation(body, model)
    decision = decide(conv, ctx.rules)
    total_in = input_tokens(conv)
    out = output_tokens(decision.output_text)
    thinking = model.startswith(_THINKING_PREFIXES) or "thinking" in model
    reasoning = out // 2 if thinking else 0
    usage_metadata = _usage_metadata(total_in, out, reasoning)
    usage = (
        normalized_usage(total_in, out, total_in // 4, 0, reasoning) if ctx.report_usage else None
    )
    response_id = ctx.new_id("resp_")
    head = {"modelVersion": model, "responseId": response_id}

    def candidate(parts: list[dict[str, Any]], finish: bool) -> dict[str, Any]:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            cand["finishReason"] = "STOP"
        return cand

    if not stream:
        answer: dict[str, Any] = {"candidates": [candidate(_parts(decision), True)], **head}
        if ctx.report_usage:
            answer["usageMetadata"] = usage_metadata
        return Result(body=answer, usage=usage, response_id=response_id)
    pieces = (
        [_parts(decision)]
        if decision.tool_name
        else [[{"text": piece}] for piece in split_text(decision.text)]
    )
    events = []
    for index, parts in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk: dict[str, Any] = {"candidates": [candidate(parts, last)], **head}
        if ctx.report_usage:
            chunk["usageMetadata"] = (
                usage_metadata
                if last
                else {"promptTokenCount": total_in, "totalTokenCount": total_in}
            )
        events.append(sse_event(chunk))
    return Result(events=events, usage=usage, response_id=response_id)


def _embed_texts(body: dict[str, Any]) -> list[str]:
    if "requests" in body:  # batchEmbedContents
        contents = [r.get("content") or {} for r in body["requests"]]
    elif "instances" in body:  # Vertex predict
        return [str(i.get("content") or "") for i in body["instances"]]
    else:
        contents = [body.get("content") or {}]
    return ["".join(_part_text(p) for p in c.get("parts") or []) for c in contents]


def _embed(body: dict[str, Any], ctx: Context) -> Result:
    """Embeddings with a token count: ``usageMetadata`` (Gemini API) or per-prediction
    ``statistics.token_count`` (Vertex ``predict``)."""
    model = ctx.params.get("model", "")
    texts = _embed_texts(body)
    counts = [input_tokens(Conversation(model=model, texts=[text])) for text in texts]
    total = sum(counts)
    usage = normalized_usage(total, 0, 0, 0, 0) if ctx.report_usage else None
    vectors = [_vector(text, 8) for text in texts]
    if ctx.params["action"] == "predict":
        predictions = [
            {
                "embeddings": {
                    "values": v,
                    **(
                        {"statistics": {"token_count": n, "truncated": False}}
                        if ctx.report_usage
                        else {}
                    ),
                }
            }
            for v, n in zip(vectors, counts, strict=True)
        ]
        return Result(body={"predictions": predictions}, usage=usage)
    answer: dict[str, Any] = {"embeddings": [{"values": v} for v in vectors]}
    if ctx.params["action"] == "embedContent":
        answer = {"embedding": answer["embeddings"][0]}
    if ctx.report_usage:
        answer["usageMetadata"] = {"promptTokenCount": total, "totalTokenCount": total}
    return Result(body=answer, usage=usage)


def generate(body: dict[str, Any], ctx: Context) -> Result:
    """``:generateContent`` / ``:streamGenerateContent``."""
    return _generate(body, ctx, ctx.params["action"] == "streamGenerateContent")


ROUTES = [
    (
        "POST",
        _MODEL_PATH + r"(?P<action>generateContent|streamGenerateContent)$",
        "gemini",
        generate,
    ),
    (
        "POST",
        _MODEL_PATH + r"(?P<action>embedContent|batchEmbedContents|predict)$",
        "gemini",
        _embed,
    ),
]
