"""Every collector configuration parses, and each pipeline references defined components."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agentops_otel import semconv as A

CONFIG_DIR = Path(__file__).resolve().parent.parent / "collector-config"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
EXPECTED = {
    "local-viewer",
    "jaeger",
    "tempo",
    "datadog",
    "sentry",
    "agentops",
    "fanout",
    "clickhouse-gateway",
    "clickhouse-loadbalancer",
}
CONTENT_KEYS = {
    A.GEN_AI_INPUT_MESSAGES,
    A.GEN_AI_OUTPUT_MESSAGES,
    A.GEN_AI_SYSTEM_INSTRUCTIONS,
    A.GEN_AI_TOOL_CALL_ARGUMENTS,
    A.GEN_AI_TOOL_CALL_RESULT,
    A.INPUT,
    A.OUTPUT,
}
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
    defined = {
        kind: set(config.get(kind) or {})
        for kind in ("receivers", "processors", "exporters", "connectors", "extensions")
    }
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


def test_clickhouse_gateway_inserts_in_large_batches_into_a_team_managed_table() -> None:
    config = _load(CONFIG_DIR / "clickhouse-gateway.yaml")
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert traces["processors"][0] == "memory_limiter" and traces["processors"][-1] == "batch"
    assert traces["exporters"] == ["clickhouse"]
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    clickhouse = config["exporters"]["clickhouse"]
    assert set(clickhouse) <= {
        "endpoint",
        "username",
        "password",
        "database",
        "traces_table_name",
        "create_schema",
        "ttl",
        "timeout",
        "sending_queue",
        "retry_on_failure",
        "cluster_name",
        "table_engine",
        "json",
    }
    assert clickhouse["endpoint"].startswith("${env:CLICKHOUSE_ENDPOINT")
    assert clickhouse["database"] == "otel" and clickhouse["traces_table_name"] == "otel_traces"
    assert clickhouse["create_schema"] is False
    assert clickhouse["sending_queue"]["enabled"] is True
    assert clickhouse["retry_on_failure"]["enabled"] is True
    # ClickHouse wants inserts of thousands of rows, not one per small batch.
    batch = config["processors"]["batch"]
    assert batch["send_batch_size"] >= 1000
    assert batch["send_batch_max_size"] >= batch["send_batch_size"]


def test_clickhouse_loadbalancer_routes_traces_to_gateways_by_trace_id() -> None:
    config = _load(CONFIG_DIR / "clickhouse-loadbalancer.yaml")
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert traces["exporters"] == ["loadbalancing"]
    balancer = config["exporters"]["loadbalancing"]
    assert balancer["routing_key"] == "traceID"
    assert set(balancer["protocol"]) == {"otlp"}
    assert balancer["protocol"]["otlp"]["tls"]["insecure"] is True
    resolver = balancer["resolver"]
    assert len(resolver) == 1 and set(resolver) <= {"dns", "static", "k8s"}
    assert resolver["dns"]["hostname"] == "${env:GATEWAY_DNS}"
    assert str(resolver["dns"]["port"]) == "4317"


@pytest.mark.parametrize("stem", ["clickhouse-gateway", "clickhouse-loadbalancer"])
def test_clickhouse_variables_are_in_their_readme_row(stem: str) -> None:
    readme = (CONFIG_DIR / "README.md").read_text()
    assert "## Team scale-out: ClickHouse" in readme
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{stem}.yaml` |"))
    shared = {"OTLP_GRPC_LISTEN", "OTLP_HTTP_LISTEN"}  # documented once for every configuration
    variables = set(_ENV_REF.findall((CONFIG_DIR / f"{stem}.yaml").read_text())) - shared
    assert variables
    for var in variables:
        assert f"`{var}`" in row, (stem, var)
