"""The google-adk versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("google-adk >= 1.0, < 3",)
