"""Configuration you can trust: every init() option and AGENTOPS_* variable is checked."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentops_otel
from agentops_otel import _config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_config, "_warned", set())
    for name in [n for n in os.environ if n.startswith(("AGENTOPS_", "OTEL_"))]:
        monkeypatch.delenv(name)
    yield


def test_misspelt_init_keyword_is_a_type_error_naming_the_right_one() -> None:
    with pytest.raises(TypeError, match=r"'capture_contnet'.*did you mean 'capture_content'"):
        agentops_otel.init(capture_contnet=False)


@pytest.mark.parametrize(
    ("option", "value", "accepted"),
    [
        ("max_cost_usd", "lots", "max_cost_usd must be a number >= 0, not 'lots'"),
        ("max_cost_usd", -1, "a number >= 0"),
        ("on_loop", "explode", "on_loop must be 'warn' or 'raise'"),
        ("capture_content", "no", "capture_content must be True or False"),
        ("tags", "prod", "tags must be a list of strings"),
        ("loop_threshold", 2.5, "an integer >= 0"),
        ("instrument", "openai", "True, False or a list of instrumentor names"),
        ("otlp_protocol", "http/json", "'http/protobuf' or 'grpc'"),
    ],
)
def test_wrong_value_is_a_value_error_saying_what_is_accepted(option, value, accepted) -> None:
    with pytest.raises(ValueError, match=re.escape(accepted)):
        agentops_otel.init(**{option: value})


def test_good_arguments_are_normalized_and_recorded_as_arguments() -> None:
    settings = _config.resolve(
        tags=["a", "b"],
        on_loop="RAISE",
        max_cost_usd=2,
        otlp_compression="gzip",
        store_path=Path("/tmp/x"),
    )
    assert settings.tags == ("a", "b")
    assert settings.on_loop == "raise"
    assert settings.max_cost_usd == 2.0 and isinstance(settings.max_cost_usd, float)
    assert settings.extra["otlp_compression"] == "gzip"
    assert settings.store_path == "/tmp/x"
    assert settings.sources["on_loop"] == "argument"
    assert "session_name" not in settings.sources  # the default


@pytest.mark.parametrize(
    ("variable", "raw", "option", "fallback"),
    [
        ("AGENTOPS_CAPTURE_CONTENT", "maybe", "capture_content", True),
        ("AGENTOPS_MAX_COST_USD", "abc", "max_cost_usd", None),
        ("AGENTOPS_ON_LOOP", "explode", "on_loop", "warn"),
        ("AGENTOPS_LOOP_THRESHOLD", "-2", "loop_threshold", 3),
    ],
)
def test_bad_variable_warns_once_naming_it_its_value_and_the_fallback(
    monkeypatch, caplog, variable, raw, option, fallback
) -> None:
    monkeypatch.setenv(variable, raw)
    with caplog.at_level(logging.WARNING, logger="agentops_otel._config"):
        first = _config.from_env()
        _config.from_env()
    assert getattr(first, option) == fallback
    assert option not in first.sources
    (record,) = [r for r in caplog.records if variable in r.getMessage()]
    message = record.getMessage()
    assert repr(raw) in message and "using the default" in message


def test_sources_say_where_each_setting_came_from(monkeypatch) -> None:
    monkeypatch.setenv("AGENTOPS_MAX_COST_USD", "1.5")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "no_content")
    settings = _config.resolve(on_loop="raise")
    assert settings.max_cost_usd == 1.5
    assert settings.service_name == "svc"
    assert settings.capture_content is False
    assert settings.sources == {
        "max_cost_usd": "AGENTOPS_MAX_COST_USD",
        "service_name": "OTEL_SERVICE_NAME",
        "capture_content": "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
        "on_loop": "argument",
    }


def test_every_init_parameter_is_a_declared_option() -> None:
    import inspect

    params = set(inspect.signature(agentops_otel.init).parameters) - {"options"}
    assert params <= set(_config.BY_NAME)


def test_readme_table_of_settings_is_generated_from_the_code() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import sync_readme
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sync_readme.render(readme) == readme, "run python3 scripts/sync_readme.py"
    for option in _config.OPTIONS:
        assert f"`{option.name}`" in readme
