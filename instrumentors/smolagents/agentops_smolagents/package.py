"""The smolagents versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("smolagents >= 1.8, < 2",)
