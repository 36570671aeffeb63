"""OpenTelemetry instrumentation of the Anthropic Python SDK for agentops-otel.

Wraps ``messages.create`` / ``parse`` / ``stream`` of ``client.messages`` and
``client.beta.messages``, sync and async, plain and ``stream=True``. Each model request gives one
CLIENT span ``chat {model}`` (provider ``anthropic``, or the client's own: ``aws.bedrock``,
``gcp.vertex_ai``) with the request parameters (``temperature`` / ``top_p`` / ``top_k`` also from
``extra_body``, where anthropic 2.x takes them), response id, model and ``stop_reason`` as given
(in ``gen_ai.response.finish_reasons``; output messages carry the mapped GenAI finish reason:
``end_turn`` → ``stop``, ``tool_use`` → ``tool_call``, ``max_tokens`` → ``length``), usage in the
OTel convention
(``gen_ai.usage.input_tokens`` = Anthropic's ``input_tokens`` + ``cache_read_input_tokens`` +
``cache_creation_input_tokens``; cache reads and writes also recorded on their own), cost, and
(with content capture on) system instructions, tool definitions, input and output messages
(``tool_use`` blocks as ``tool_call`` parts, ``tool_result`` blocks as ``tool_call_response``).

``messages.stream()`` makes no request; its manager does, on ``__enter__``. Our span starts there,
and our stream proxy replaces the raw event stream inside the SDK's ``MessageStream``, so
``text_stream``, ``get_final_message()``, ``until_done()``, iteration, early close, leaving the
``with`` block and abandonment all end the span exactly once, with the usage seen so far.
``with_raw_response`` calls are recorded from the body the SDK has read; raw and
``with_streaming_response`` streams are the user's to read and end the span without usage.

The SDK's own spans. anthropic 2.x emits a CLIENT span ``anthropic.messages.create`` per API call
on the global tracer provider and sends its context as ``traceparent``. We keep ours (it carries
the convention's input tokens and the cost) and turn theirs off for calls we trace: we wrap
``anthropic._base_client.start_api_call_span`` so that, while one of our LLM spans is current, a
``messages.create`` call gets a non-recording span holding our span's context. The SDK then
records nothing, and its ``traceparent`` names our span. Its other spans (count_tokens, sessions,
tool runner) are left alone, and with this instrumentor uninstrumented the SDK behaves as shipped.
To drop the SDK's spans entirely, set ``ANTHROPIC_OPEN_TELEMETRY=false``.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_anthropic import _wrappers
from agentops_anthropic.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["AnthropicInstrumentor"]
__version__ = "0.1.0"

_MESSAGES = "anthropic.resources.messages"
_BETA_MESSAGES = "anthropic.resources.beta.messages"


class AnthropicInstrumentor(PatchingInstrumentor):
    """``AnthropicInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("anthropic",)  # init() instruments when anthropic is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        sync_create = _wrappers.create(tracer)
        async_create = _wrappers.async_create(tracer)
        stream = _wrappers.stream(tracer)
        for module in (_MESSAGES, _BETA_MESSAGES):
            for cls, create in (("Messages", sync_create), ("AsyncMessages", async_create)):
                patches.wrap(module, f"{cls}.create", create)
                patches.wrap(module, f"{cls}.parse", create)
                patches.wrap(module, f"{cls}.stream", stream)
        patches.wrap("anthropic._base_client", "start_api_call_span", _wrappers.stand_in)
