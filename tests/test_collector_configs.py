"""Every collector configuration parses, and each pipeline references defined components."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agentops_otel import _attributes as A

CONFIG_DIR = Path(__file__).resolve().parent.parent / "collector-config"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
EXPECTED = {"local-viewer", "jaeger", "tempo", "datadog", "sentry", "agentops", "fanout"}
CONTENT_KEYS = {A.GEN_AI_INPUT_MESSAGES, A.GEN_AI_OUTPUT_MESSAGES, A.GEN_AI_SYSTEM_INSTRUCTIONS,
                A.GEN_AI_TOOL_CALL_ARGUMENTS, A.GEN_AI_TOOL_CALL_RESULT, A.INPUT, A.OUTPUT}
_ENV_REF = re.compile(r"\$\{env:([A-Z0-9_]+)")


def _load(path: Path) -> dict:
    config = yaml.safe_load(path.read_text())
    assert isinstance(config, dict), path
    return config


def test_every_destination_has_a_config() -> None:
    assert {p.stem for p in CONFIGS} == EXPECTED


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_pipelines_reference_defined_components(path: Path) -> None:
    config = _load(path)
    defined = {kind: set(config.get(kind) or {}) for kind in
               ("receivers", "processors", "exporters", "connectors", "extensions")}
    service = config["service"]
    pipelines = service["pipelines"]
    assert pipelines, path
    used_as_exporter, used_as_receiver = set(), set()
    for name, pipeline in pipelines.items():
        assert name.split("/")[0] in ("traces", "metrics", "logs"), name
        assert pipeline.get("receivers") and pipeline.get("exporters"), name
        for receiver in pipeline["receivers"]:
            assert receiver in defined["receivers"] | defined["connectors"], (name, receiver)
            used_as_receiver.add(receiver)
        for exporter in pipeline["exporters"]:
            assert exporter in defined["exporters"] | defined["connectors"], (name, exporter)
            used_as_exporter.add(exporter)
        for processor in pipeline.get("processors", []):
            assert processor in defined["processors"], (name, processor)
        if name.startswith("traces"):
            processors = pipeline.get("processors", [])
            assert processors[0] == "memory_limiter" and processors[-1] == "batch", name
    # A connector joins two pipelines: exporter in one, receiver in another.
    for connector in defined["connectors"]:
        assert connector in used_as_exporter and connector in used_as_receiver, connector
    for extension in service.get("extensions", []):
        assert extension in defined["extensions"], extension
    for exporter in (config.get("exporters") or {}).values():
        auth = (exporter or {}).get("auth", {}).get("authenticator")
        if auth:
            assert auth in service.get("extensions", []), auth
    assert {"receivers", "processors", "exporters"} <= {k for k, v in defined.items() if v}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_strip_processor_covers_every_content_attribute(path: Path) -> None:
    strip = _load(path)["processors"]["attributes/strip_content"]
    deleted = {a["key"] for a in strip["actions"] if a["action"] == "delete"}
    assert deleted == CONTENT_KEYS


@pytest.mark.parametrize("stem", ["datadog", "sentry"])
def test_saas_destinations_strip_content(stem: str) -> None:
    pipelines = _load(CONFIG_DIR / f"{stem}.yaml")["service"]["pipelines"]
    assert "attributes/strip_content" in pipelines["traces"]["processors"]


def test_readme_documents_every_config_and_variable() -> None:
    readme = (CONFIG_DIR / "README.md").read_text()
    for path in CONFIGS:
        assert f"`{path.name}`" in readme, path.name
        for var in _ENV_REF.findall(path.read_text()):
            assert f"`{var}`" in readme, (path.name, var)
