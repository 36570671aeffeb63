"""Cost roll-ups, budgets and loop detection, end to end: the real openai SDK, our openai
instrumentor and processor, against the project's fake LLM server."""

from __future__ import annotations

import asyncio
import threading

import openai
import pytest
from opentelemetry import trace

import agentops_otel as ao
from agentops_openai import OpenAIInstrumentor
from agentops_otel import semconv as A
from agentops_otel.pricing import cost_for
from agentops_otel.testing import FakeLLMServer

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def server():
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture(scope="module", autouse=True)
def instrumented():
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=trace.get_tracer_provider())
    yield
    instrumentor.uninstrument()


@pytest.fixture
def client(server):
    server.clear()
    return openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)


def _ask(client, text, model=MODEL):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def _expected_cost(usage, model=MODEL):
    return cost_for(
        "openai",
        model,
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
        cache_read_tokens=usage["cache_read_tokens"],
        reasoning_tokens=usage["reasoning_tokens"],
    ).total_usd


def test_llm_span_cost_matches_hand_computed_price(spans, client, server):
    _ask(client, "How much does this question cost, exactly?")
    (llm,) = spans.of_kind("llm")
    usage = server.requests[0]["usage"]
    # gpt-4o-mini: $0.15 / M input, $0.075 / M cached input, $0.60 / M output
    by_hand = (
        (usage["input_tokens"] - usage["cache_read_tokens"]) * 0.15
        + usage["cache_read_tokens"] * 0.075
        + usage["output_tokens"] * 0.60
    ) / 1e6
    assert usage["cache_read_tokens"] > 0
    assert llm.attributes[A.COST_USD] == pytest.approx(by_hand, rel=1e-9)
    assert llm.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == usage["input_tokens"]


def test_rollups_equal_sum_of_leaves_across_nesting_threads_and_asyncio(spans, client, server):
    aclient = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)

    @ao.tool
    def lookup(q):
        return _ask(client, f"lookup {q}").choices[0].message.content

    @ao.agent(name="researcher")
    def researcher():
        _ask(client, "plan the research")
        worker = threading.Thread(target=lookup, args=("in a thread",))
        worker.start()
        worker.join()
        return lookup("inline")

    @ao.agent(name="writer")
    async def writer():
        await asyncio.gather(
            *(
                aclient.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": f"draft part {i}"}]
                )
                for i in range(3)
            )
        )

    @ao.workflow(name="report")
    def report():
        researcher()
        asyncio.run(writer())

    with ao.session("rollups") as handle:
        report()

    llms = spans.of_kind("llm")
    assert len(llms) == 6 == len(server.requests)
    assert all(s.attributes[A.SESSION_ID] == handle.id for s in llms)
    session = spans.one("session rollups")
    total_in = sum(r["usage"]["input_tokens"] for r in server.requests)
    total_out = sum(r["usage"]["output_tokens"] for r in server.requests)
    total_cost = sum(_expected_cost(r["usage"]) for r in server.requests)
    assert session.attributes[A.TOTAL_INPUT_TOKENS] == total_in
    assert session.attributes[A.TOTAL_OUTPUT_TOKENS] == total_out
    assert session.attributes[A.LLM_CALLS] == 6
    assert session.attributes[A.TOTAL_COST_USD] == pytest.approx(total_cost, rel=1e-6)
    assert spans.one("invoke_workflow report").attributes[A.LLM_CALLS] == 6

    def leaf_cost(agent_name):
        return sum(
            s.attributes[A.COST_USD] for s in llms if s.attributes.get(A.AGENT_NAME) == agent_name
        )

    researcher_span = spans.one("invoke_agent researcher")
    writer_span = spans.one("invoke_agent writer")
    assert researcher_span.attributes[A.LLM_CALLS] == 3
    assert writer_span.attributes[A.LLM_CALLS] == 3
    assert researcher_span.attributes[A.TOTAL_COST_USD] == pytest.approx(leaf_cost("researcher"))
    assert writer_span.attributes[A.TOTAL_COST_USD] == pytest.approx(leaf_cost("writer"))
    tools = spans.named("execute_tool lookup")
    assert [t.attributes[A.LLM_CALLS] for t in tools] == [1, 1]


def test_unknown_model_gets_no_cost_and_a_flag(spans, client):
    _ask(client, "hello", model="my-private-finetune-xyz")
    (llm,) = spans.of_kind("llm")
    assert A.COST_USD not in llm.attributes
    assert llm.attributes[A.COST_UNKNOWN_MODEL] is True
    assert llm.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_budget_warns_once_then_raise_mode_stops_next_call(spans, client, server, settings, caplog):
    settings(on_budget_exceeded="raise")
    with ao.session("budget", max_cost_usd=1e-7) as handle:
        _ask(client, "first call crosses the tiny budget")
        with pytest.raises(ao.BudgetExceededError) as caught:
            _ask(client, "second call must not be sent")
        assert caught.value.session_id == handle.id
    assert len(server.requests) == 1  # the refused call never reached the server
    session = spans.one("session budget")
    assert session.attributes[A.BUDGET_EXCEEDED] is True
    assert any(e.name == A.EVENT_BUDGET_EXCEEDED for e in session.events)
    assert sum("over its budget" in r.getMessage() for r in caplog.records) == 1


def test_budget_warn_mode_lets_calls_through(spans, client, server):
    with ao.session("budget-warn", max_cost_usd=1e-7):
        _ask(client, "one")
        _ask(client, "two")
    assert len(server.requests) == 2
    assert spans.one("session budget-warn").attributes[A.BUDGET_EXCEEDED] is True


def test_third_identical_request_is_flagged(spans, client, server):
    with ao.session("loop"):
        for _ in range(3):
            _ask(client, "are we there yet?")
        _ask(client, "something else")
    llms = sorted(spans.of_kind("llm"), key=lambda s: s.start_time)
    assert [s.attributes.get(A.LOOP_DETECTED, False) for s in llms] == [False, False, True, False]
    assert llms[2].attributes[A.LOOP_COUNT] == 3
    session = spans.one("session loop")
    assert session.attributes[A.LOOP_DETECTED] is True
    assert session.attributes[A.LOOP_COUNT] == 3


def test_loop_refused_in_raise_mode(spans, client, server, settings):
    settings(on_loop="raise", loop_threshold=2)
    with ao.session("loop-raise"):
        _ask(client, "again")
        with pytest.raises(ao.LoopDetectedError):
            _ask(client, "again")
    assert len(server.requests) == 1


def test_sessions_do_not_share_budgets_or_loops(spans, client, server):
    with ao.session("a", max_cost_usd=1e-7):
        _ask(client, "same")
        _ask(client, "same")
    with ao.session("b"):
        _ask(client, "same")
    b = spans.one("session b")
    assert A.BUDGET_EXCEEDED not in b.attributes and A.LOOP_DETECTED not in b.attributes


def test_errors_roll_up_once_per_failed_model_or_tool_call(spans, client, server):
    @ao.tool
    def flaky():
        raise ConnectionError("tool backend down")

    @ao.agent(name="unlucky")
    def unlucky():
        try:
            _ask(client, "this fails", model="error-500")
        except openai.InternalServerError:
            pass
        flaky()

    with ao.session("errors"):
        with pytest.raises(ConnectionError):
            unlucky()
    session = spans.one("session errors")
    agent = spans.one("invoke_agent unlucky")
    # the failed model call and the failed tool: the agent they propagate through is not counted
    assert session.attributes[A.ERRORS] == 2
    assert agent.attributes[A.ERRORS] == 2
    assert session.attributes[A.LLM_CALLS] == 1
    assert session.attributes[A.TOTAL_COST_USD] == 0
