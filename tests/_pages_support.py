"""Shared by the tests of the second-generation pages (money, compare, replay, sessions): one
server with the demo session, a variant of it that switched the reply writer's model, and
foreign data whose names and prompts carry HTML."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from _dashboard_support import (
    Server,
    post_json,
    run_demo,
    send_foreign_spans,
    start_server,
    stop_server,
    unpriced_request,
)

from agentops_otel.store import Store

VARIANT = "variant-gpt-4"


def variant(payload: dict[str, Any], session_id: str) -> dict[str, Any]:
    """The demo session again as session ``VARIANT`` (new trace ids), its reply drafted by
    ``gpt-4`` instead of ``gpt-4o``: the runs differ first at step 2."""
    text = json.dumps(payload)
    for trace in {
        s["traceId"]
        for r in payload["resourceSpans"]
        for ss in r["scopeSpans"]
        for s in ss["spans"]
    }:
        text = text.replace(trace, trace[::-1])
    text = text.replace(session_id, VARIANT)
    text = text.replace('"gpt-4o"', '"gpt-4"').replace('"chat gpt-4o"', '"chat gpt-4"')
    return json.loads(text)


@pytest.fixture(scope="module")
def demo_payload(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_demo(tmp_path_factory.mktemp("pages-demo"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_payload: dict) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("pages-home"))
    try:
        send_foreign_spans(running.url)
        with running.client() as client:
            assert post_json(client, demo_payload, compress=True).status_code == 200
            with Store.open(running.home) as store:
                (demo,) = [s for s in store.list_sessions(limit=100) if s.name == "inbox-demo"]
            other = variant(demo_payload, demo.id)
            assert post_json(client, other, compress=False).status_code == 200
            assert post_json(client, unpriced_request(), compress=False).status_code == 200
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="module")
def demo_sid(server: Server) -> str:
    """The demo session's id (the variant has a name of its own: VARIANT)."""
    with Store.open(server.home) as store:
        return next(
            s.id
            for s in store.list_sessions(limit=100)
            if s.name == "inbox-demo" and s.id != VARIANT
        )
