"""Node instrumentations (``node/app.js``, dependencies pinned by ``node/package-lock.json``),
exported over OTLP/HTTP to ``agentops-otel serve``. ``npm ci`` runs once per lock file change,
with its download cache in ``.cache/npm`` under the worktree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import app_env, assert_matches_fake, stored

NODE = Path(__file__).resolve().parent / "node"
NPM_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "npm"


@pytest.fixture(scope="module")
def node_app() -> Path:
    """``node/`` with its pinned packages installed."""
    assert shutil.which("node") and shutil.which("npm"), "node 20+ and npm are needed"
    installed = NODE / "node_modules" / ".package-lock.json"
    lock = NODE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--cache", str(NPM_CACHE)],
            cwd=NODE,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr[-4000:]
    return NODE


def run_node(mode: str, node_app: Path, serve, fake) -> None:
    result = subprocess.run(
        ["node", "app.js", mode],
        cwd=node_app,
        env=app_env(serve, fake),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_vercel_ai_sdk_6(node_app, serve, fake):
    run_node("vercel6", node_app, serve, fake)
    found = stored(serve, sessions=2)  # generateText and streamText: one trace each
    assert_matches_fake(found, fake)  # the outer ai.generateText / ai.streamText never count
    operations = found.of_kind("operation")
    assert sorted(s.name for s in operations) == ["ai.generateText", "ai.streamText"]
    assert all(s.attributes["ai.usage.inputTokens"] > 0 for s in operations)
    assert sorted(s.name for s in found.of_kind("llm")) == [
        "ai.generateText.doGenerate",
        "ai.generateText.doGenerate",
        "ai.streamText.doStream",
    ]
    (tool,) = found.of_kind("tool")
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    for span in [tool, *found.of_kind("llm")]:
        assert found.parent(span).agentops_kind == "operation"
    stream = next(s for s in found.of_kind("llm") if s.name == "ai.streamText.doStream")
    assert "Say hello" in stream.attributes["gen_ai.input.messages"]
    assert "Fake reply" in stream.attributes["gen_ai.output.messages"]


def test_vercel_ai_sdk_7_otel(node_app, serve, fake):
    run_node("vercel7", node_app, serve, fake)
    found = stored(serve, sessions=2)
    assert_matches_fake(found, fake)  # invoke_agent repeats its steps' usage: never counted
    agents = found.of_kind("agent")
    assert len(agents) == 2 and all(a.attributes["gen_ai.usage.input_tokens"] for a in agents)
    assert {a.attributes["agentops.agent.name"] for a in agents} == {"forecaster"}
    (tool,) = found.of_kind("tool")
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    for span in [tool, *found.of_kind("llm")]:
        assert any(a in found.ancestors(span) for a in agents)


def test_traceloop_node(node_app, serve, fake):
    run_node("traceloop", node_app, serve, fake)
    found = stored(serve)
    # OpenLLMetry JS records no cached tokens and counts a stream's output itself (tiktoken)
    assert_matches_fake(found, fake, reports_cache=False, counts_output=lambda r: r["stream"])
    (workflow,) = found.of_kind("workflow")
    (agent,) = found.of_kind("agent")
    (tool,) = found.of_kind("tool")
    assert agent.attributes["agentops.agent.name"] == "forecaster"
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    assert found.parent(agent) is workflow and found.parent(tool) is agent
    assert all(found.parent(s) is agent for s in found.of_kind("llm"))


def test_openinference_node(node_app, serve, fake):
    run_node("openinference", node_app, serve, fake)
    found = stored(serve)
    assert found.session.id == "oi-js-session"
    # OpenInference JS records no usage on streamed calls: counted as calls, without tokens
    assert_matches_fake(found, fake, no_usage=lambda r: r["stream"])
    assert len(found.of_kind("llm")) == 3
