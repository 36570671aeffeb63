"""The pytest warning policy (pyproject ``filterwarnings``): a DeprecationWarning raised from our
own code (the core, an ``agentops_*`` instrumentor) fails the test; one from a third-party
library is reported, not raised."""

from __future__ import annotations

import warnings

import pytest


def _warn_from(module: str) -> None:
    warnings.warn_explicit("an old API", DeprecationWarning, f"{module}.py", 1, module=module)


@pytest.mark.parametrize("module", ["agentops_otel.genai", "agentops_langchain._handler"])
def test_a_deprecation_warning_from_our_code_is_an_error(module):
    with pytest.raises(DeprecationWarning, match="an old API"):
        _warn_from(module)


def test_a_deprecation_warning_from_a_library_is_only_reported():
    with pytest.warns(DeprecationWarning, match="an old API"):
        _warn_from("somelibrary.module")
