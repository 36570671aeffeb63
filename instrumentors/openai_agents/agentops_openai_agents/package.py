"""The openai-agents versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("openai-agents >= 0.20, < 1",)
