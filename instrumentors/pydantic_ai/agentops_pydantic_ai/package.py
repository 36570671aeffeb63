"""The pydantic-ai versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("pydantic-ai-slim >= 1.32, < 3",)
