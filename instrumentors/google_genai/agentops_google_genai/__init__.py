"""OpenTelemetry instrumentation of the Google Gen AI SDK (``google-genai``) for agentops-otel.

Gemini Developer API and Vertex AI clients alike (``gen_ai.provider.name`` ``gcp.gemini`` or
``gcp.vertex_ai``, from the client). Each model request gives one CLIENT span:

- ``generate_content {model}`` for ``models.generate_content`` / ``generate_content_stream``,
  chats (``chats.create(...).send_message`` / ``send_message_stream``, which call the same
  methods) and ``client.aio``. We wrap the SDK's per-request methods
  ``_generate_content`` / ``_generate_content_stream``, so automatic function calling (the SDK
  calling your Python functions and sending their results back) and automatic continuation
  give one span per model request, each with its own usage. Should a release move them, nothing
  of this package applies to generation (one debug log), rather than counting twice.
- ``embeddings {model}`` for ``models.embed_content``.
- ``count_tokens`` / ``compute_tokens`` are left alone (no model call is billed).

Usage follows the OTel convention: ``gen_ai.usage.input_tokens`` = ``prompt_token_count`` (which
already includes ``cached_content_token_count``) + ``tool_use_prompt_token_count``;
``gen_ai.usage.output_tokens`` = ``candidates_token_count`` + ``thoughts_token_count`` (Gemini
counts thoughts apart from the candidates and bills them as output); cache reads and reasoning
are recorded on their own too. A stream's usage is the last chunk's (each is cumulative).
Function calls are ``tool_call`` parts, function responses ``tool_call_response`` parts.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_google_genai import _wrappers
from agentops_google_genai.package import _instruments
from agentops_otel import semconv as A
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["GoogleGenAIInstrumentor"]
__version__ = "0.1.0"

_MODELS = "google.genai.models"


class GoogleGenAIInstrumentor(PatchingInstrumentor):
    """``GoogleGenAIInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("google.genai",)  # init() instruments when google.genai is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        generate, embed = _wrappers.finish_generate, _wrappers.finish_embeddings
        patches.wrap(
            _MODELS,
            "Models._generate_content",
            _wrappers.request(tracer, A.OP_GENERATE_CONTENT, generate),
        )
        patches.wrap(_MODELS, "Models._generate_content_stream", _wrappers.generate_stream(tracer))
        patches.wrap(
            _MODELS, "Models.embed_content", _wrappers.request(tracer, A.OP_EMBEDDINGS, embed)
        )
        patches.wrap(
            _MODELS,
            "AsyncModels._generate_content",
            _wrappers.async_request(tracer, A.OP_GENERATE_CONTENT, generate),
        )
        patches.wrap(
            _MODELS, "AsyncModels._generate_content_stream", _wrappers.async_generate_stream(tracer)
        )
        patches.wrap(
            _MODELS,
            "AsyncModels.embed_content",
            _wrappers.async_request(tracer, A.OP_EMBEDDINGS, embed),
        )
