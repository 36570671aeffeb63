"""agentops-otel instrumentation for the OpenAI Python SDK (openai 2.x and 3.x).

One CLIENT span per model request, through the shared GenAI span helper, for
``chat.completions.create`` / ``parse`` / ``stream``, ``embeddings.create`` and
``responses.create`` / ``parse`` / ``stream`` (sync and async, streamed or not, and through
``with_raw_response``), with usage, cost and, when content capture is on, the messages.

Usage::

    OpenAIInstrumentor().instrument(tracer_provider=provider)
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_openai._wrappers import _RawTypes, _Target, request_wrappers, stream_manager
from agentops_openai.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["OpenAIInstrumentor"]
__version__ = "0.1.0"

_CHAT = "openai.resources.chat.completions"
_EMBEDDINGS = "openai.resources.embeddings"
_RESPONSES = "openai.resources.responses"


def _sdk_types() -> tuple[tuple[type, ...], _RawTypes]:
    """(Azure client classes, raw-response classes) of the installed SDK."""
    azure: tuple[type, ...] = ()
    raw = _RawTypes()
    try:
        from openai import AsyncAzureOpenAI, AzureOpenAI

        azure = (AzureOpenAI, AsyncAzureOpenAI)
    except ImportError:
        pass
    try:
        from openai._legacy_response import LegacyAPIResponse
        from openai._response import APIResponse, AsyncAPIResponse

        raw = _RawTypes((LegacyAPIResponse,), (APIResponse, AsyncAPIResponse), (AsyncAPIResponse,))
    except ImportError:
        pass
    return azure, raw


class OpenAIInstrumentor(PatchingInstrumentor):
    """Instruments the openai SDK's chat completions, embeddings and Responses API."""

    _dependencies = _instruments
    target_modules = ("openai",)  # init() instruments when openai is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        azure, raw = _sdk_types()
        wrappers = request_wrappers(tracer, _Target(azure), raw)
        chat, embeddings, responses = (
            wrappers["chat"],
            wrappers["embeddings"],
            wrappers["responses"],
        )
        for module, sync_class, async_class, method, pair in (
            (_CHAT, "Completions", "AsyncCompletions", "create", chat),
            (_CHAT, "Completions", "AsyncCompletions", "parse", chat),
            (_EMBEDDINGS, "Embeddings", "AsyncEmbeddings", "create", embeddings),
            (_RESPONSES, "Responses", "AsyncResponses", "create", responses),
            (_RESPONSES, "Responses", "AsyncResponses", "parse", responses),
        ):
            # a resource module the app has not loaded yet is wrapped when it is
            patches.wrap(module, f"{sync_class}.{method}", pair[0], deferred=True)
            patches.wrap(module, f"{async_class}.{method}", pair[1], deferred=True)
        for module, sync_class, async_class in (
            (_CHAT, "Completions", "AsyncCompletions"),
            (_RESPONSES, "Responses", "AsyncResponses"),
        ):
            patches.wrap(module, f"{sync_class}.stream", stream_manager, deferred=True)
            patches.wrap(module, f"{async_class}.stream", stream_manager, deferred=True)
