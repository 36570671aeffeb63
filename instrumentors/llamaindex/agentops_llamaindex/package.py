"""The llama-index-core versions this instrumentor supports (checked by ``BaseInstrumentor``)."""

_instruments = ("llama-index-core >= 0.12.23, < 0.15",)
