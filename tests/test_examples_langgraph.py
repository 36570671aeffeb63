"""``examples/langgraph_agent.py`` runs offline and records the graph it describes. Runs in the
``langchain-latest`` environment (listed in ``instrumentors/langchain/test-envs``)."""

from __future__ import annotations

from _examples import ROOT, assert_totals, llm_calls, run_example


def test_langgraph_example_records_the_graph_its_agent_node_and_the_tool(tmp_path) -> None:
    out, session, spans = run_example(ROOT / "examples/langgraph_agent.py", tmp_path)
    assert "answer: 120 USD is about 110 EUR" in out
    (graph,) = [s for s in spans if s.agentops_kind == "workflow"]
    assert graph.name.endswith("budget-agent")
    agents = [s for s in spans if s.agentops_kind == "agent"]
    assert [a.name for a in agents] == ["invoke_agent assistant"] * 2
    assert all(a.parent_span_id == graph.span_id for a in agents)
    calls = llm_calls(spans)
    assert [c.parent_span_id for c in calls] == [a.span_id for a in agents]
    assert {c.model for c in calls} == {"gpt-4o"}
    (convert,) = [s for s in spans if s.agentops_kind == "tool"]
    assert convert.name == "execute_tool convert_currency"
    assert calls[0].end_ns <= convert.start_ns <= calls[1].start_ns
    assert_totals(session, calls)
