"""The crewai versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("crewai >= 1.0, < 2",)
