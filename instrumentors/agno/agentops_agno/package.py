"""The agno versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("agno >= 2.0, < 4",)
