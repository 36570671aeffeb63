"""``examples/crewai_crew.py`` runs offline and records the crew it describes. Runs in the
``crewai-latest`` environment (listed in ``instrumentors/crewai/test-envs``), which has CrewAI."""

from __future__ import annotations

from _examples import ROOT, assert_totals, llm_calls, run_example


def test_crewai_example_records_the_crew_its_agents_their_calls_and_the_tool(tmp_path) -> None:
    out, session, spans = run_example(ROOT / "examples/crewai_crew.py", tmp_path)
    assert "plan: Morning in Belem" in out
    by_id = {s.span_id: s for s in spans}
    (crew,) = [s for s in spans if s.name == "invoke_workflow trip crew"]
    agents = {s.name.removeprefix("invoke_agent "): s for s in spans if s.agentops_kind == "agent"}
    assert set(agents) == {"Researcher", "Planner"}
    for agent in agents.values():  # crew > task > agent
        assert by_id[agent.parent_span_id].parent_span_id == crew.span_id
    calls = llm_calls(spans)
    per_agent = {
        name: [c for c in calls if c.parent_span_id == a.span_id] for name, a in agents.items()
    }
    assert {name: len(c) for name, c in per_agent.items()} == {"Researcher": 2, "Planner": 1}
    (weather,) = [s for s in spans if s.agentops_kind == "tool"]
    assert weather.name == "execute_tool check_weather"
    assert weather.parent_span_id == agents["Researcher"].span_id
    assert {c.model for c in calls} == {"gpt-4o-mini"}
    assert_totals(session, calls)
