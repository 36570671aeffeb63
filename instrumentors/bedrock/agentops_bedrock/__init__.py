"""OpenTelemetry instrumentation of AWS Bedrock Runtime (boto3 / botocore) for agentops-otel.

We wrap ``botocore.client.BaseClient._make_api_call`` (as opentelemetry-python-contrib's botocore
instrumentation does): it is the one method every client's operations go through, for clients
made before or after ``instrument()``. Calls of other services, and Bedrock Runtime operations
other than the four model calls, pass straight through.

Each ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream`` request gives one CLIENT span ``{operation} {modelId}``
(``chat`` for Converse and messages bodies, ``embeddings`` for embedding models, else
``text_completion``), provider ``aws.bedrock``, with the request parameters, stop reason, usage
and cost, and (content capture on) messages, system prompt, tool definitions and output.

- InvokeModel: the response's ``body`` stream is read once and replaced by an equal
  ``StreamingBody``, so the caller reads it as before. Usage comes from the body's own counts
  (Anthropic, Llama, Nova, Titan, Mistral's chat format), else from the
  ``x-amzn-bedrock-input-token-count`` / ``-output-token-count`` response headers (Cohere,
  Mistral's prompt format).
- Streams: the ``EventStream`` in the response (``stream`` / ``body``) is replaced by a proxy
  that reads each event as botocore delivers it and ends the span on exhaustion, ``close()``,
  an error or abandonment. InvokeModel chunks carry the vendor's events; their counts, else
  ``amazon-bedrock-invocationMetrics`` of the last chunk, give the usage.
- Usage follows the OTel convention: input includes cache reads and writes (Bedrock reports
  them apart from ``inputTokens``).
- Only ``api_params`` and the response are read: credentials, the request signature and the
  session token are never touched or recorded.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentops_bedrock import _wrappers
from agentops_bedrock.package import _instruments
from agentops_otel.instrumentation import Patches, PatchingInstrumentor

__all__ = ["BedrockInstrumentor"]
__version__ = "0.1.0"


class BedrockInstrumentor(PatchingInstrumentor):
    """``BedrockInstrumentor().instrument(tracer_provider=...)`` / ``.uninstrument()``."""

    _dependencies = _instruments
    target_modules = ("botocore.client",)  # init() instruments when botocore is first imported

    def _apply(self, patches: Patches, tracer: Tracer) -> None:
        patches.wrap(
            "botocore.client", "BaseClient._make_api_call", _wrappers.make_api_call(tracer)
        )
