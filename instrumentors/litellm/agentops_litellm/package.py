"""The litellm versions this instrumentation supports (checked by ``BaseInstrumentor``)."""

_instruments = ("litellm >= 1.60, < 2",)
