"""LangChain objects to GenAI attributes: providers, usage, messages. Pure functions, no imports
of LangChain itself (everything is read by attribute, so a missing field is just skipped)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from agentops_otel import semconv as A

# LangChain's ``ls_provider`` metadata → ``gen_ai.provider.name`` (well-known values).
_PROVIDERS = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "google_genai": "gcp.gemini",
    "google_vertexai": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "amazon_bedrock": "aws.bedrock",
    "amazon_bedrock_converse": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "cohere": "cohere",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "ibm": "ibm.watsonx.ai",
}
# Constructor keyword arguments (as serialized) that hold the endpoint a model talks to.
_URL_KEYS = ("openai_api_base", "base_url", "anthropic_api_url", "api_base", "endpoint")
# Request parameters LangChain reports in ``ls_*`` metadata.
_PARAMS = (
    ("ls_temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("ls_max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
)
_ROLES = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "developer": "system",
    "chat": "user",
}


def provider(metadata: dict[str, Any], serialized: Any) -> str:
    """``gen_ai.provider.name`` from LangChain's metadata, else the model class's package."""
    name = metadata.get("ls_provider")
    if not isinstance(name, str):
        ids = serialized.get("id") if isinstance(serialized, dict) else None
        name = ids[2] if isinstance(ids, list) and len(ids) > 2 else "langchain"
    return _PROVIDERS.get(name, name)


def model(metadata: dict[str, Any], params: dict[str, Any]) -> str | None:
    value = params.get("model") or params.get("model_name") or metadata.get("ls_model_name")
    return str(value) if value else None


def request_attributes(
    metadata: dict[str, Any], params: dict[str, Any], serialized: Any
) -> dict[str, Any]:
    """Request parameters and the server endpoint, as span attributes."""
    attrs: dict[str, Any] = {}
    for key, attr in _PARAMS:
        value = metadata.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[attr] = value
    stop = metadata.get("ls_stop") or params.get("stop")
    if isinstance(stop, (list, tuple)) and stop:
        attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = [str(s) for s in stop]
    if params.get("stream") is True:
        attrs[A.GEN_AI_REQUEST_STREAM] = True
    kwargs = serialized.get("kwargs") if isinstance(serialized, dict) else None
    if isinstance(kwargs, dict):
        url = next((kwargs[k] for k in _URL_KEYS if isinstance(kwargs.get(k), str)), None)
        if url:
            host, port = _endpoint(url)
            if host:
                attrs[A.SERVER_ADDRESS] = host
                if port:
                    attrs[A.SERVER_PORT] = port
    return attrs


@lru_cache(maxsize=64)
def _endpoint(url: str) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port
    except ValueError:
        return None, None


def usage(response: Any) -> tuple[Any, Any, Any, Any, Any] | None:
    """(input, output, cache read, cache write, reasoning) of an ``LLMResult``, OTel style.

    LangChain's ``usage_metadata`` already counts cache reads/writes in ``input_tokens`` and
    reasoning in ``output_tokens``. With ``n`` choices each message carries the same request
    usage, so the first one found is the request's. ``llm_output["token_usage"]`` (the provider's
    own numbers) fills in what older LangChain versions leave out of ``usage_metadata``.
    """
    found: tuple[Any, Any, Any, Any, Any] | None = None
    for generation in _generations(response):
        meta = getattr(getattr(generation, "message", None), "usage_metadata", None)
        if meta:
            details_in = meta.get("input_token_details") or {}
            details_out = meta.get("output_token_details") or {}
            found = (
                meta.get("input_tokens"),
                meta.get("output_tokens"),
                details_in.get("cache_read"),
                details_in.get("cache_creation"),
                details_out.get("reasoning"),
            )
            if details_in or details_out:
                return found
            break
    output = getattr(response, "llm_output", None) or {}
    tokens = output.get("token_usage") or output.get("usage")
    if isinstance(tokens, dict) and "prompt_tokens" in tokens:
        cached = (tokens.get("prompt_tokens_details") or {}).get("cached_tokens")
        reasoning = (tokens.get("completion_tokens_details") or {}).get("reasoning_tokens")
        return tokens.get("prompt_tokens"), tokens.get("completion_tokens"), cached, None, reasoning
    if found is None and isinstance(tokens, dict) and "input_tokens" in tokens:
        return tokens.get("input_tokens"), tokens.get("output_tokens"), None, None, None
    return found


def response_info(response: Any) -> tuple[str | None, str | None, list[str]]:
    """(response id, response model, finish reasons) of an ``LLMResult``."""
    output = getattr(response, "llm_output", None) or {}
    response_id = output.get("id")
    response_model = output.get("model_name") or output.get("model")
    reasons: list[str] = []
    for generation in _generations(response):
        info = getattr(generation, "generation_info", None) or {}
        meta = getattr(getattr(generation, "message", None), "response_metadata", None) or {}
        reason = info.get("finish_reason") or meta.get("finish_reason") or meta.get("stop_reason")
        if reason:
            reasons.append(str(reason))
        response_id = response_id or meta.get("id")
        response_model = response_model or meta.get("model_name") or meta.get("model")
    return response_id, response_model, reasons


def _generations(response: Any) -> list[Any]:
    generations = getattr(response, "generations", None) or []
    return list(generations[0]) if generations and generations[0] else []


# -- content (only called when content capture is on) ------------------------------------------
def input_messages(messages: Any) -> list[dict[str, Any]]:
    """LangChain ``BaseMessage`` objects (or prompt strings) in GenAI message form."""
    return [_message(m) for m in messages or ()]


def output_messages(response: Any) -> list[dict[str, Any]]:
    out = []
    for generation in _generations(response):
        message = getattr(generation, "message", None)
        if message is not None:
            item = _message(message)
        else:
            item = {"role": "assistant", "parts": _parts(getattr(generation, "text", ""))}
        info = getattr(generation, "generation_info", None) or {}
        meta = getattr(message, "response_metadata", None) or {}
        item["finish_reason"] = str(
            info.get("finish_reason")
            or meta.get("finish_reason")
            or meta.get("stop_reason")
            or "stop"
        )
        out.append(item)
    return out


def _message(message: Any) -> dict[str, Any]:
    if isinstance(message, str):
        return {"role": "user", "parts": _parts(message)}
    kind = getattr(message, "type", None) or "user"
    role = _ROLES.get(kind, getattr(message, "role", None) or kind)
    if kind == "tool":
        return {
            "role": role,
            "parts": [
                {
                    "type": "tool_call_response",
                    "id": getattr(message, "tool_call_id", None),
                    "response": getattr(message, "content", None),
                }
            ],
        }
    parts = _parts(getattr(message, "content", None))
    for call in getattr(message, "tool_calls", None) or ():
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": call.get("name"),
                "arguments": call.get("args"),
            }
        )
    return {"role": role, "parts": parts}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, str):
            parts.append({"type": "text", "content": block})
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append({"type": "text", "content": block.get("text", "")})
        elif isinstance(block, dict) and block.get("type") in ("tool_use", "tool_call"):
            continue  # also listed in ``tool_calls``
        elif isinstance(block, dict):
            parts.append({"type": str(block.get("type", "unknown"))})
    return parts
