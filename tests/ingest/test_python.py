"""Python instrumentations of other vendors, exported over OTLP/HTTP to ``agentops-otel serve``."""

from __future__ import annotations

import json

from conftest import assert_matches_fake, run_python_app, stored


def _names(spans):
    return sorted(s.name for s in spans)


def test_openinference(serve, fake):
    run_python_app("openinference_app.py", serve, fake)
    found = stored(serve)
    assert found.session.id == "oi-session-1"  # OpenInference's session.id groups the session
    assert_matches_fake(found, fake)
    (agent,) = found.of_kind("agent")
    (tool,) = found.of_kind("tool")
    (chain,) = found.of_kind("operation")
    assert agent.attributes["agentops.agent.name"] == "forecaster"
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    assert found.parent(agent) is chain and found.parent(tool) is agent
    assert all(agent in found.ancestors(s) for s in found.of_kind("llm"))
    first = min(found.of_kind("llm"), key=lambda s: s.start_ns)
    messages = json.loads(first.attributes["gen_ai.input.messages"])
    assert messages[0]["parts"][0]["content"] == "Weather in Paris?"


def test_openllmetry(serve, fake):
    run_python_app("openllmetry_app.py", serve, fake)
    found = stored(serve)
    assert_matches_fake(found, fake)
    (workflow,) = found.of_kind("workflow")
    (agent,) = found.of_kind("agent")
    (tool,) = found.of_kind("tool")
    assert found.session.name == workflow.name  # grouped by trace, named after its root
    assert agent.attributes["agentops.agent.name"] == "forecaster"
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    assert found.parent(agent) is workflow and found.parent(tool) is agent
    assert all(agent in found.ancestors(s) for s in found.of_kind("llm"))
    assert all(
        s.attributes.get("agentops.agent.name") == "forecaster" for s in found.of_kind("llm")
    )


def _run_openai_v2(serve, fake, mode):
    # with opentelemetry-util-genai 1.1b0, 2.4b0 always takes its latest-conventions path
    run_python_app(
        "openai_v2_app.py",
        serve,
        fake,
        OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=mode,
    )
    found = stored(serve)
    assert_matches_fake(found, fake, reports_cache=False)  # 2.4b0 records no cached tokens
    (root,) = [s for s in found.spans if s.parent_span_id is None]
    assert all(found.parent(s) is root for s in found.of_kind("llm"))
    return found


def _first_call_content(found):
    first = min(found.of_kind("llm"), key=lambda s: s.start_ns)
    inputs = json.loads(first.attributes["gen_ai.input.messages"])
    outputs = json.loads(first.attributes["gen_ai.output.messages"])
    return inputs, outputs


def test_openai_v2_content_on_spans(serve, fake):
    found = _run_openai_v2(serve, fake, "SPAN_ONLY")
    assert not any(s.events for s in found.of_kind("llm"))
    inputs, outputs = _first_call_content(found)
    assert "Weather in Paris?" in json.dumps(inputs)
    assert "get_weather" in json.dumps(outputs)


def test_openai_v2_content_as_log_events(serve, fake):
    found = _run_openai_v2(serve, fake, "EVENT_ONLY")
    first = min(found.of_kind("llm"), key=lambda s: s.start_ns)
    (event,) = first.events  # the log record, attached to its span
    assert event["name"] == "gen_ai.client.inference.operation.details"
    inputs, outputs = _first_call_content(found)
    assert inputs[0]["role"] == "user" and "Weather in Paris?" in json.dumps(inputs)
    assert "get_weather" in json.dumps(outputs)


def test_pydantic_ai(serve, fake):
    run_python_app("pydantic_ai_app.py", serve, fake)
    found = stored(serve, sessions=2)  # each run is one gen_ai.conversation.id: one session
    assert {s.id for s in found.sessions} == {
        s.attributes["gen_ai.conversation.id"] for s in found.of_kind("agent")
    }
    assert_matches_fake(found, fake)
    agents = found.of_kind("agent")
    assert len(agents) == 2
    assert {a.attributes["agentops.agent.name"] for a in agents} == {"forecaster"}
    tools = found.of_kind("tool")
    assert tools and {t.attributes["gen_ai.tool.name"] for t in tools} == {"get_weather"}
    for span in found.of_kind("llm") + tools:
        assert any(a in found.ancestors(span) for a in agents)
