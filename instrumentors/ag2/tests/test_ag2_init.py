"""``agentops_otel.init()`` discovers the AG2 instrumentor through its entry point and applies it
when the installed line's package (``autogen`` or ``ag2``) is first imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from conftest import LINE


def test_init_app(server: FakeLLMServer, tmp_path: Any) -> None:
    server.clear()
    env = {**os.environ, "HOME": str(tmp_path), "AGENTOPS_LOCAL_STORE": "false"}
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("_init_app.py")),
            server.openai_base_url,
            str(LINE),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    spans = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    by_id = {s["id"]: s for s in spans}
    (session,) = [s for s in spans if s["name"] == "session app"]
    (tool,) = [s for s in spans if s["attributes"][A.SPAN_KIND] == A.KIND_TOOL]
    assert tool["name"] == "execute_tool get_weather"
    llms = [s for s in spans if s["attributes"][A.SPAN_KIND] == A.KIND_LLM]
    assert len(llms) == len(server.requests) == 2
    for call in llms:
        agent = by_id[call["parent"]]
        assert agent["name"] == "invoke_agent assistant"
        assert call["attributes"][A.AGENT_NAME] == "assistant"
    assert session["attributes"][A.TOTAL_INPUT_TOKENS] == sum(
        r["usage"]["input_tokens"] for r in server.requests
    )
    assert session["attributes"][A.TOTAL_COST_USD] > 0
