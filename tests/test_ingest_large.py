"""Ingest hardening: an over-deep JSON body is a 400, and a large body is decoded and written
beside the pages, not in front of them (the real ``agentops-otel serve``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from _dashboard_support import json_request, json_span, start_server, stop_server
from starlette.testclient import TestClient

from agentops_otel._jsonload import loads
from agentops_otel.dashboard import create_app
from agentops_otel.store import Store


@pytest.mark.parametrize("path", ["/v1/traces", "/v1/logs"])
@pytest.mark.parametrize("shape", ["array", "object", "kvlist"])
def test_over_deep_json_is_a_400(tmp_path: Path, path: str, shape: str) -> None:
    if shape == "array":
        body = "[" * 200_000 + "]" * 200_000
    elif shape == "object":
        body = '{"a":' * 200_000 + "1" + "}" * 200_000
    else:  # deep inside an attribute value, past the outer levels
        value = '{"kvlistValue":{"values":[{"key":"k","value":' * 5_000 + "{}" + "}]}}" * 5_000
        attribute = f'{{"key":"deep","value":{value}}}'
        body = (
            '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + "1" * 32 + '",'
            '"spanId":"' + "2" * 16 + f'","name":"x","attributes":[{attribute}]}}]}}]}}]}}'
        )
    with TestClient(create_app(tmp_path / "traces.db"), base_url="http://127.0.0.1") as client:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert "not an OTLP/JSON" in response.json()["error"]
        assert client.get("/").status_code == 200  # the server carries on


@pytest.mark.parametrize(
    "text",
    [
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x", "a": [1, 2.5, null]}]}]}]}',
        ' [ {"a" : {"b": []}} , "s\\u00e9", true ] ',
        '{"a": 1,}',
        "[1 2]",
        '{"a": 1} extra',
        "",
    ],
)
def test_the_piecewise_parser_agrees_with_json_loads(text: str) -> None:
    try:
        expected = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads(text.encode())
    else:
        assert loads(text.encode()) == expected
        assert loads(text.encode("utf-16")) == expected


def test_pages_are_served_while_a_large_body_is_ingested(tmp_path: Path) -> None:
    text = "refund invoice shipping address " * 60
    spans = [
        json_span(
            f"{i // 50 + 1:032x}",
            i + 1,
            "chat",
            {"agentops.span.kind": "llm", "agentops.session.id": f"big-{i // 50}", "input": text},
        )
        for i in range(20_000)
    ]
    body = json.dumps(json_request(spans)).encode()
    assert len(body) > 40 * 2**20
    server = start_server(tmp_path)
    try:
        with server.client() as client:
            assert client.get("/").status_code == 200
            done: dict[str, float] = {}

            def ingest() -> None:
                with server.client() as own:
                    response = own.post(
                        "/v1/traces", content=body, headers={"Content-Type": "application/json"}
                    )
                done["status"] = response.status_code
                done["at"] = time.monotonic()

            began = time.monotonic()
            sender = threading.Thread(target=ingest)
            sender.start()
            waits = []
            while sender.is_alive():
                asked = time.monotonic()
                assert client.get("/").status_code == 200
                if sender.is_alive():
                    waits.append(time.monotonic() - asked)
            sender.join()
        assert done["status"] == 200
        took = done["at"] - began
        # Pages kept coming during the whole ingest; none waited for a large part of it.
        assert len(waits) >= 5, (waits, took)
        assert max(waits) < took / 5, (max(waits), took)
        with Store.open(tmp_path) as store:
            assert len(store.list_sessions(limit=1000)) == 400
    finally:
        stop_server(server)
