"""The google-genai versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("google-genai >= 1.0, < 4",)
