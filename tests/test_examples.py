"""Each example runs offline with one command and records what its docstring says (the
framework examples' tests run in their frameworks' environments: ``test_examples_*.py``)."""

from __future__ import annotations

from _examples import ROOT, assert_totals, llm_calls, run_example


def test_email_agent_records_one_agent_with_two_operations_on_two_models(tmp_path) -> None:
    out, session, spans = run_example(ROOT / "examples/email_agent.py", tmp_path)
    assert "category: billing" in out
    by_id = {s.span_id: s for s in spans}
    (agent,) = [s for s in spans if s.agentops_kind == "agent"]
    assert agent.name == "invoke_agent email-agent"
    operations = {s.name: s for s in spans if s.parent_span_id == agent.span_id}
    assert set(operations) == {"operation classify", "operation draft_reply"}
    calls = llm_calls(spans)
    models = {by_id[s.parent_span_id].name: s.model for s in calls}
    assert models == {"operation classify": "gpt-3.5-turbo", "operation draft_reply": "gpt-4"}
    assert_totals(session, calls)
