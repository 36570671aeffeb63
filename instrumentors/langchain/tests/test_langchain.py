"""Real LangChain / LangGraph runs against the fake LLM server: span tree, usage, cost, identity,
streaming and async, errors, uninstrument, and a moved internal method."""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
from importlib.metadata import version
from typing import Any, TypedDict

import pytest
from _apps import (
    QUESTION,
    chat_model,
    lcel_chain,
    react_agent,
    run_async,
    team_graph,
    two_node_graph,
)
from langchain_core.callbacks.base import BaseCallbackManager
from langchain_core.runnables import RunnableLambda
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import agentops_langchain
from agentops_langchain import LangChainInstrumentor
from agentops_otel import semconv as A
from agentops_otel.testing.fake_llm import FakeLLMServer
from agentops_otel.testing.spans import SpanCapture
from conftest import session

_OURS = "agentops_langchain"
# langchain-openai < 0.3 reports no cache reads for streamed calls (no input_token_details)
_CACHE_READS_IN_STREAMS = (
    int(version("langchain-openai").split(".")[0]) > 0
    or int(version("langchain-openai").split(".")[1]) >= 3
)


def tree(capture: SpanCapture, span: ReadableSpan) -> tuple[str, list[Any]]:
    """``(name, [children…])`` in start order: the whole shape in one comparable value."""
    children = sorted(capture.children_of(span), key=lambda s: s.start_time)
    return span.name, [tree(capture, child) for child in children]


def only_session(capture: SpanCapture) -> ReadableSpan:
    (root,) = capture.of_kind(A.KIND_SESSION)
    return root


def assert_llm_spans_match_requests(capture: SpanCapture, server: FakeLLMServer) -> None:
    """One LLM span per model request — ours, the openai SDK's stood down — with its usage."""
    llms = sorted(capture.of_kind(A.KIND_LLM), key=lambda s: s.start_time)
    assert [s.instrumentation_scope.name for s in llms] == [_OURS] * len(server.requests)
    for span, request in zip(llms, server.requests, strict=True):
        attrs, usage = span.attributes, request["usage"]
        assert span.kind is trace.SpanKind.CLIENT
        assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
        assert attrs[A.GEN_AI_REQUEST_MODEL] == request["model"] == "gpt-4o-mini"
        assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"]
        assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["output_tokens"]
        if _CACHE_READS_IN_STREAMS or not request["stream"]:
            assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == usage["cache_read_tokens"]
        assert attrs[A.COST_USD] > 0


def assert_llm_spans_match_requests_unordered(capture: SpanCapture, server: FakeLLMServer) -> None:
    """Concurrent requests: the multiset of (input, output) usage matches, all spans ours."""
    llms = capture.of_kind(A.KIND_LLM)
    assert {s.instrumentation_scope.name for s in llms} == {_OURS}
    seen = sorted(
        (s.attributes[A.GEN_AI_USAGE_INPUT_TOKENS], s.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS])
        for s in llms
    )
    sent = sorted(
        (r["usage"]["input_tokens"], r["usage"]["output_tokens"]) for r in server.requests
    )
    assert seen == sent


def _ancestors(capture: SpanCapture, span: ReadableSpan) -> list[ReadableSpan]:
    out = []
    while (span := capture.parent_of(span)) is not None:
        out.append(span)
    return out


def assert_totals(span: ReadableSpan, capture: SpanCapture, server: FakeLLMServer) -> None:
    usage = server.total_usage()
    attrs = span.attributes
    assert attrs[A.TOTAL_INPUT_TOKENS] == usage["input_tokens"] > 0
    assert attrs[A.TOTAL_OUTPUT_TOKENS] == usage["output_tokens"] > 0
    assert attrs[A.LLM_CALLS] == len(server.requests)
    costs = sum(s.attributes[A.COST_USD] for s in capture.of_kind(A.KIND_LLM))
    assert attrs[A.TOTAL_COST_USD] == pytest.approx(costs) and costs > 0


_REACT_TREE = (
    "session test",
    [
        (
            "invoke_agent weather_agent",
            [
                ("task agent", [("chat gpt-4o-mini", [])]),
                ("task tools", [("execute_tool get_weather", [])]),
                ("task agent", [("chat gpt-4o-mini", [])]),
            ],
        )
    ],
)


def _run_react(agent: Any, how: str) -> None:
    if how == "invoke":
        agent.invoke(QUESTION)
    elif how == "ainvoke":
        run_async(agent.ainvoke(QUESTION))
    elif how == "stream":
        for _ in agent.stream(QUESTION, stream_mode="messages"):
            pass
    else:

        async def consume() -> None:
            async for _ in agent.astream(QUESTION, stream_mode="updates"):
                pass

        run_async(consume())


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
def test_react_agent_tool_round_trip(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer, how: str
) -> None:
    agent = react_agent(server)
    with session(capture):
        _run_react(agent, how)
    assert len(server.requests) == 2  # tool call, then the answer
    root = only_session(capture)
    assert tree(capture, root) == _REACT_TREE
    assert_llm_spans_match_requests(capture, server)
    (agent_span,) = capture.of_kind(A.KIND_AGENT)
    assert agent_span.attributes[A.GEN_AI_AGENT_NAME] == "weather_agent"
    for span in capture.spans:  # the agent's identity reaches every span beneath it
        if span is not root:
            assert span.attributes[A.AGENT_NAME] == "weather_agent", span.name
            assert span.attributes[A.SESSION_ID] == "s1"
    (tool,) = capture.of_kind(A.KIND_TOOL)
    assert tool.attributes[A.GEN_AI_TOOL_NAME] == "get_weather"
    assert tool.attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"city": "test"}'
    assert tool.attributes[A.GEN_AI_TOOL_CALL_RESULT] == '"sunny in test"'
    first_llm = min(capture.of_kind(A.KIND_LLM), key=lambda s: s.start_time)
    (answer,) = json.loads(first_llm.attributes[A.GEN_AI_OUTPUT_MESSAGES])
    (call,) = [p for p in answer["parts"] if p["type"] == "tool_call"]
    assert call["name"] == "get_weather" and answer["finish_reason"] == "tool_calls"
    assert tool.attributes[A.GEN_AI_TOOL_CALL_ID] == call["id"]
    assert_totals(root, capture, server)
    assert_totals(agent_span, capture, server)


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
def test_two_node_graph_is_two_agents(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer, how: str
) -> None:
    sync_graph, async_graph = two_node_graph(server)
    with session(capture):
        if how == "invoke":
            sync_graph.invoke({"topic": "otters"})
        elif how == "stream":
            for _ in sync_graph.stream({"topic": "otters"}):
                pass
        elif how == "ainvoke":
            run_async(async_graph.ainvoke({"topic": "otters"}))
        else:

            async def consume() -> None:
                async for _ in async_graph.astream({"topic": "otters"}, stream_mode="values"):
                    pass

            run_async(consume())
    root = only_session(capture)
    assert tree(capture, root) == (
        "session test",
        [
            (
                "invoke_workflow LangGraph",
                [
                    ("invoke_agent researcher", [("chat gpt-4o-mini", [])]),
                    ("invoke_agent writer", [("chat gpt-4o-mini", [])]),
                ],
            )
        ],
    )
    assert_llm_spans_match_requests(capture, server)
    researcher, writer = sorted(capture.of_kind(A.KIND_AGENT), key=lambda s: s.start_time)
    assert researcher.attributes[A.AGENT_NAME] == "researcher"
    assert writer.attributes[A.AGENT_NAME] == "writer"
    for agent in (researcher, writer):
        (llm,) = capture.children_of(agent)
        assert llm.attributes[A.AGENT_NAME] == agent.attributes[A.AGENT_NAME]
        assert llm.attributes[A.AGENT_ID] == agent.attributes[A.AGENT_ID]
        assert agent.attributes[A.TOTAL_INPUT_TOKENS] == llm.attributes[A.GEN_AI_USAGE_INPUT_TOKENS]
    assert_totals(root, capture, server)
    assert_totals(capture.of_kind(A.KIND_WORKFLOW)[0], capture, server)


def test_streamed_chat_model_records_usage_and_first_chunk(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    llm = chat_model(server)
    with session(capture):
        text = "".join(chunk.content for chunk in llm.stream("hello there"))

        async def consume() -> str:
            return "".join([chunk.content async for chunk in llm.astream("hello again")])

        text2 = run_async(consume())
    assert text.startswith("Fake reply") and text2.startswith("Fake reply")
    assert_llm_spans_match_requests(capture, server)
    for span in capture.of_kind(A.KIND_LLM):
        assert span.attributes[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
        assert span.attributes[A.GEN_AI_REQUEST_STREAM] is True
        assert span.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
        assert capture.parent_of(span) is only_session(capture)
    assert_totals(only_session(capture), capture, server)


def test_lcel_chain_is_one_workflow_without_noise(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    with session(capture):
        assert lcel_chain(server).invoke({"topic": "otters"}).startswith("Fake reply")
    root = only_session(capture)
    assert tree(capture, root) == (
        "session test",
        [("invoke_workflow RunnableSequence", [("chat gpt-4o-mini", [])])],
    )
    (llm,) = capture.of_kind(A.KIND_LLM)
    messages = llm.attributes[A.GEN_AI_INPUT_MESSAGES]
    assert '"role": "user"' in messages and "tell me about otters" in messages
    assert "Fake reply" in llm.attributes[A.GEN_AI_OUTPUT_MESSAGES]
    assert llm.attributes[A.SERVER_ADDRESS] == "127.0.0.1"
    assert_totals(root, capture, server)


def test_metadata_names_an_agent_with_role(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    chain = lcel_chain(server)
    outer = RunnableLambda(lambda x: chain.invoke(x), name="pipeline")
    marked = chain.with_config(metadata={A.AGENT_NAME: "summarizer", A.AGENT_ROLE: "writer"})
    both = RunnableLambda(lambda x: (outer.invoke(x), marked.invoke(x)), name="both")
    with session(capture):
        both.invoke({"topic": "otters"})
    root = only_session(capture)
    assert tree(capture, root) == (
        "session test",
        [
            (
                "invoke_workflow both",
                [
                    ("chat gpt-4o-mini", []),
                    ("invoke_agent summarizer", [("chat gpt-4o-mini", [])]),
                ],
            )
        ],
    )
    (agent,) = capture.of_kind(A.KIND_AGENT)
    assert agent.attributes[A.AGENT_ROLE] == "writer"
    llm = capture.children_of(agent)[0]
    assert llm.attributes[A.AGENT_NAME] == "summarizer"
    assert llm.attributes[A.AGENT_ROLE] == "writer"
    assert_totals(root, capture, server)


def test_create_agent_named_agent(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    agents = pytest.importorskip("langchain.agents")
    if not hasattr(agents, "create_agent"):
        pytest.skip("langchain.agents.create_agent arrived in langchain 1.0")
    from _apps import get_weather

    agent = agents.create_agent(chat_model(server), [get_weather], name="weather_agent")
    with session(capture):
        agent.invoke(QUESTION)
    assert tree(capture, only_session(capture)) == (
        "session test",
        [
            (
                "invoke_agent weather_agent",
                [
                    ("task model", [("chat gpt-4o-mini", [])]),
                    ("task tools", [("execute_tool get_weather", [])]),
                    ("task model", [("chat gpt-4o-mini", [])]),
                ],
            )
        ],
    )
    assert_llm_spans_match_requests(capture, server)
    assert_totals(only_session(capture), capture, server)


def test_user_exception_passes_through_and_marks_spans(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    error = ValueError("boom")

    def explode(_: Any) -> None:
        raise error

    chain = lcel_chain(server) | RunnableLambda(explode)
    with session(capture), pytest.raises(ValueError) as raised:
        chain.invoke({"topic": "otters"})
    assert raised.value is error
    (workflow,) = capture.of_kind(A.KIND_WORKFLOW)
    assert workflow.status.status_code is StatusCode.ERROR
    assert workflow.attributes[A.ERROR_TYPE] == "ValueError"
    (llm,) = capture.of_kind(A.KIND_LLM)
    assert llm.status.status_code is StatusCode.UNSET


def test_model_error_ends_llm_span_with_error(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    import openai

    llm = chat_model(server, model="error-500")
    with session(capture), pytest.raises(openai.InternalServerError) as raised:
        llm.invoke("hello")
    (span,) = capture.of_kind(A.KIND_LLM)
    assert span.instrumentation_scope.name == _OURS
    assert span.status.status_code is StatusCode.ERROR
    # what the caller sees (langchain-openai 1.x re-raises a subclass of the SDK's error)
    assert span.attributes[A.ERROR_TYPE] == type(raised.value).__qualname__


def test_tool_error_marks_tool_span(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    from langchain_core.tools import tool

    error = RuntimeError("tool broke")

    @tool
    def broken(city: str) -> str:
        """Always fails."""
        raise error

    with session(capture), pytest.raises(RuntimeError) as raised:
        broken.invoke({"city": "Paris"})
    assert raised.value is error
    (span,) = capture.of_kind(A.KIND_TOOL)
    assert span.name == "execute_tool broken"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == "RuntimeError"


def test_abandoned_stream_restores_context(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    agent = react_agent(server)
    with session(capture):  # asserts the session span is current again afterwards
        stream = agent.stream(QUESTION, stream_mode="updates")
        next(stream)
        stream.close()
        del stream
        gc.collect()
        llm = chat_model(server)
        llm.invoke("after the stream")  # a later call still gets its own LLM span
    llms = capture.of_kind(A.KIND_LLM)
    assert len(llms) == len(server.requests)
    assert capture.parent_of(llms[-1]) is only_session(capture)
    assert all(s.end_time is not None for s in capture.spans)


def test_content_capture_off(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    from agentops_otel import _config

    before = _config.current()
    _config.install(dataclasses.replace(before, capture_content=False))
    try:
        with session(capture):
            react_agent(server).invoke(QUESTION)
    finally:
        _config.install(before)
    keys = {
        A.GEN_AI_INPUT_MESSAGES,
        A.GEN_AI_OUTPUT_MESSAGES,
        A.GEN_AI_TOOL_CALL_ARGUMENTS,
        A.GEN_AI_TOOL_CALL_RESULT,
        A.INPUT,
        A.OUTPUT,
    }
    for span in capture.spans:
        assert not keys & set(span.attributes), span.name
    assert len(capture.of_kind(A.KIND_LLM)) == 2


def test_uninstrument_restores_callback_manager(
    capture: SpanCapture, server: FakeLLMServer, openai_instrumented: bool
) -> None:
    original = BaseCallbackManager.__dict__["__init__"]
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=capture.provider)
    assert BaseCallbackManager.__dict__["__init__"] is not original
    instrumentor.uninstrument()
    assert BaseCallbackManager.__dict__["__init__"] is original
    with session(capture):
        react_agent(server).invoke(QUESTION)
    # only the openai SDK's own spans: no LangChain spans, nothing of ours left in managers
    assert not capture.of_kind(A.KIND_AGENT) and not capture.of_kind(A.KIND_TOOL)
    assert not [s for s in capture.spans if s.instrumentation_scope.name == _OURS]
    assert len(server.requests) == 2
    assert len(capture.of_kind(A.KIND_LLM)) == (2 if openai_instrumented else 0)


def test_moved_internal_method_degrades_to_provider_spans(
    capture: SpanCapture,
    server: FakeLLMServer,
    openai_instrumented: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(
        agentops_langchain,
        "_PATCH_TARGET",
        ("langchain_core.callbacks.base", "BaseCallbackManager.__moved__"),
    )
    instrumentor = LangChainInstrumentor()
    with caplog.at_level(logging.DEBUG, logger="agentops_otel"):
        instrumentor.instrument(tracer_provider=capture.provider)
    assert any("not found" in r.getMessage() for r in caplog.records)
    try:
        with session(capture):
            assert react_agent(server).invoke(QUESTION)["messages"][-1].content
    finally:
        instrumentor.uninstrument()
    assert not capture.of_kind(A.KIND_AGENT)  # fewer spans: the provider's LLM spans only
    assert not [s for s in capture.spans if s.instrumentation_scope.name == _OURS]
    assert len(server.requests) == 2
    if openai_instrumented:
        assert len(capture.of_kind(A.KIND_LLM)) == 2
        assert_totals(only_session(capture), capture, server)


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_agent_as_graph_node_beside_parallel_node(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer, how: str
) -> None:
    graph = team_graph(server)
    with session(capture):
        if how == "invoke":
            graph.invoke(QUESTION)
        else:
            run_async(graph.ainvoke(QUESTION))
    root = only_session(capture)
    (workflow,) = capture.of_kind(A.KIND_WORKFLOW)
    _, children = tree(capture, workflow)
    assert children[0] == ("invoke_agent planner", [("chat gpt-4o-mini", [])])
    assert sorted(children[1:]) == [  # researcher and critic ran concurrently
        ("invoke_agent critic", [("chat gpt-4o-mini", [])]),
        ("task researcher", [_REACT_TREE[1][0]]),
    ]
    assert_llm_spans_match_requests_unordered(capture, server)
    for llm in capture.of_kind(A.KIND_LLM):  # each call carries its nearest agent's identity
        agent = next(
            a for a in _ancestors(capture, llm) if a.attributes[A.SPAN_KIND] == A.KIND_AGENT
        )
        assert llm.attributes[A.AGENT_NAME] == agent.attributes[A.AGENT_NAME]
        assert llm.attributes[A.AGENT_ID] == agent.attributes[A.AGENT_ID]
    assert_totals(root, capture, server)
    assert_totals(workflow, capture, server)


def test_batch_of_prompts_one_llm_span_each(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    from langchain_core.messages import HumanMessage

    llm = chat_model(server)
    with session(capture):
        llm.generate([[HumanMessage("one")], [HumanMessage("two")]])  # both runs start first
        llm.batch(["three", "four"])  # in worker threads
        llm.invoke("five")
    assert len(server.requests) == 5
    assert_llm_spans_match_requests_unordered(capture, server)
    assert all(capture.parent_of(s) is only_session(capture) for s in capture.of_kind(A.KIND_LLM))
    assert_totals(only_session(capture), capture, server)


def test_budget_refusal_reaches_the_caller(
    instrumented: Any, capture: SpanCapture, server: FakeLLMServer
) -> None:
    from agentops_otel import _config
    from agentops_otel.errors import BudgetExceededError

    before = _config.current()
    _config.install(dataclasses.replace(before, on_budget_exceeded="raise"))
    try:
        with session(capture, **{A.BUDGET_LIMIT_USD: 1e-9}), pytest.raises(BudgetExceededError):
            graph = two_node_graph(server)[0]
            graph.invoke({"topic": "otters"})  # the researcher's call spends the budget
    finally:
        _config.install(before)
    assert len(server.requests) == 1  # the writer's call was refused before it was sent
    (writer,) = capture.named("invoke_agent writer")
    assert writer.status.status_code is StatusCode.ERROR
    assert writer.attributes[A.ERROR_TYPE] == "BudgetExceededError"


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_sdk_call_in_a_node_nests_under_the_node(
    instrumented: Any,
    capture: SpanCapture,
    server: FakeLLMServer,
    openai_instrumented: bool,
    how: str,
) -> None:
    """A node calling the openai SDK itself: the provider's span sits under the node's span."""
    import openai
    from langgraph.graph import END, START, StateGraph

    def ask(state: dict[str, Any]) -> dict[str, Any]:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": state["topic"]}]
        )
        return {"topic": reply.choices[0].message.content}

    async def aask(state: dict[str, Any]) -> dict[str, Any]:
        client = openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="sk-test", max_retries=0
        )
        reply = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": state["topic"]}]
        )
        return {"topic": reply.choices[0].message.content}

    class State(TypedDict):
        topic: str

    graph = StateGraph(State)
    graph.add_node("ask", ask if how == "invoke" else aask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    app = graph.compile()
    with session(capture):
        if how == "invoke":
            app.invoke({"topic": "otters"})
        else:
            run_async(app.ainvoke({"topic": "otters"}))
    expected = [("chat gpt-4o-mini", [])] if openai_instrumented else []
    assert tree(capture, only_session(capture)) == (
        "session test",
        [("invoke_workflow LangGraph", [("task ask", expected)])],
    )
