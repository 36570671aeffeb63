"""``agentops-otel doctor`` and the warning about a covered library without its instrumentor."""

from __future__ import annotations

import logging
import os
from importlib.metadata import version

import pytest

from agentops_otel import _coverage
from agentops_otel.cli import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in [n for n in os.environ if n.startswith(("AGENTOPS_", "OTEL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTOPS_OTEL_HOME", str(tmp_path))
    monkeypatch.setattr(_coverage, "_warned", set())


def _doctor(capsys) -> str:
    assert main(["doctor"]) == 0
    return capsys.readouterr().out


def test_reports_covered_libraries_destinations_and_sources(capsys, monkeypatch, tmp_path):
    (tmp_path / "traces.db").write_bytes(b"x" * 2048)
    monkeypatch.setenv("AGENTOPS_ON_LOOP", "raise")
    monkeypatch.setenv("AGENTOPS_MAX_COST_USD", "abc")
    monkeypatch.setenv("AGENTOPS_LOCAL_STORE", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    out = _doctor(capsys)
    assert f"ok openai {version('openai')}: traced by agentops-otel-instrumentation-openai" in out
    assert "crewai: not installed" in out  # not in this environment
    assert "local store: on (AGENTOPS_LOCAL_STORE)" in out
    assert f"path {tmp_path / 'traces.db'} (2.0 KB; from AGENTOPS_OTEL_HOME)" in out
    assert "OTLP: http/protobuf to http://127.0.0.1:4318 (from OTEL_EXPORTER_OTLP_ENDPOINT)" in out
    assert "on_loop = 'raise'  from AGENTOPS_ON_LOOP" in out
    assert "AGENTOPS_MAX_COST_USD='abc' is not a number >= 0; using the default" in out


def test_missing_instrumentor_and_untested_version_are_named(capsys, monkeypatch):
    # real installed distributions, catalogued with an instrumentor that is not installed / a
    # range the installed version lies outside
    monkeypatch.setattr(
        _coverage,
        "INSTRUMENTED",
        {
            "pytest": ("agentops-otel-instrumentation-pytest", "pytest >= 1"),
            "openai": ("agentops-otel-instrumentation-openai", "openai < 1"),
        },
    )
    out = _doctor(capsys)
    assert (
        f"X  pytest {version('pytest')}: NOT traced, its instrumentor is missing: "
        "pip install agentops-otel-instrumentation-pytest"
    ) in out
    assert f"!  openai {version('openai')}: outside the tested range (openai < 1)" in out


def test_covered_library_without_instrumentor_warns_once_naming_the_package(monkeypatch, caplog):
    monkeypatch.setattr(
        _coverage,
        "INSTRUMENTED",
        {
            "pytest": ("agentops-otel-instrumentation-pytest", "pytest >= 1"),
            "openai": ("agentops-otel-instrumentation-openai", "openai >= 2"),
        },
    )
    with caplog.at_level(logging.WARNING, logger="agentops_otel._coverage"):
        _coverage.warn_uncovered()
        _coverage.warn_uncovered()
    (record,) = caplog.records
    assert "pip install agentops-otel-instrumentation-pytest" in record.getMessage()
