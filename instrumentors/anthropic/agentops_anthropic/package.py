"""The anthropic versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("anthropic >= 0.40, < 3",)
