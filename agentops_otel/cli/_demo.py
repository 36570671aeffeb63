"""The app behind ``agentops-otel demo``: a small multi-agent inbox assistant, run offline.

It talks to the project's fake LLM server through the real ``openai`` SDK, so every span comes
from the real instrumentation: an email classifier and a reply writer (two operations on two
models), a scheduler agent that makes a tool round trip, and a summarizer whose model call fails
(the fake server answers HTTP 500; the demo catches it and the span records the error).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import agentops_otel

SESSION_NAME = "inbox-demo"
SESSION_TAGS = ("demo",)
CLASSIFIER_MODEL = "gpt-4o-mini"
WRITER_MODEL = "gpt-4o"
FAILING_MODEL = "error-500"  # the fake server answers HTTP 500 for this model name

EMAIL = (
    "Hi, my invoice #4471 was charged twice this month. Can you refund the duplicate "
    "payment? Also, could we set up a 30 minute call to review our plan? Thanks, Dana"
)
_CLASSIFY_PREFIX = "Classify this email:"
_CATEGORY = "billing/refund"
_REPLY = (
    "Hi Dana, thanks for flagging this. I can see the duplicate charge on invoice #4471 and "
    "have started a refund; it will reach your card within 5 business days. Best, Support"
)
_BOOKED = "I booked a 30 minute plan review with Dana on 2025-06-12 at 10:00."
_SCHEDULE_REQUEST = "Find a free slot for a 30 minute plan review call with Dana."
_CALENDAR_TOOL = {
    "type": "function",
    "function": {
        "name": "check_calendar",
        "description": "Free slots in the team calendar on a given day.",
        "parameters": {
            "type": "object",
            "properties": {
                # enums make the fake server's generated tool call look like a real one
                "date": {"type": "string", "enum": ["2025-06-12"]},
                "duration_minutes": {"type": "integer", "enum": [30]},
            },
            "required": ["date", "duration_minutes"],
        },
    },
}
# Destinations other than the local store would make the demo reach the network.
_ONLINE_VARS = ("AGENTOPS_API_KEY",)
_ONLINE_PREFIX = "OTEL_EXPORTER_OTLP_"


@dataclass(frozen=True)
class DemoResult:
    """What the demo did: the session it recorded and what each agent came back with."""

    session_id: str
    category: str
    reply: str
    booking: str
    error: str


def _chat(client: Any, model: str, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    return client.chat.completions.create(model=model, messages=messages, **kwargs)


@agentops_otel.agent(name="email-assistant", role="triages support email and drafts replies")
class EmailAssistant:
    """Classifies an email with a small model, then drafts the reply with a larger one."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def handle(self, email: str) -> tuple[str, str]:
        """The category and the drafted reply."""
        category = self.classify(email)
        return category, self.draft_reply(email, category)

    @agentops_otel.operation(name="classify")
    def classify(self, email: str) -> str:
        system = "Classify the email into one of: billing/refund, sales, support, spam."
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": f"{_CLASSIFY_PREFIX}\n\n{email}"},
        ]
        reply = _chat(self._client, CLASSIFIER_MODEL, messages, temperature=0)
        return reply.choices[0].message.content

    @agentops_otel.operation(name="draft_reply")
    def draft_reply(self, email: str, category: str) -> str:
        system = f"You are a friendly support agent. The email is about {category}. Draft a reply."
        messages = [{"role": "system", "content": system}, {"role": "user", "content": email}]
        reply = _chat(self._client, WRITER_MODEL, messages, max_tokens=300)
        return reply.choices[0].message.content


@agentops_otel.tool(name="check_calendar")
def check_calendar(date: str, duration_minutes: int) -> dict[str, Any]:
    """The scheduler's tool: free slots on ``date`` long enough for the call."""
    return {"date": date, "duration_minutes": duration_minutes, "free": ["10:00", "14:30"]}


@agentops_otel.agent(name="scheduler", role="books follow-up calls")
class Scheduler:
    """A tool-using agent: the model asks for the calendar, gets it, and answers."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def book(self, request: str) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": request}]
        first = _chat(self._client, CLASSIFIER_MODEL, messages, tools=[_CALENDAR_TOOL])
        call = first.choices[0].message.tool_calls[0]
        slots = check_calendar(**json.loads(call.function.arguments))
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(slots)})
        final = _chat(self._client, CLASSIFIER_MODEL, messages, tools=[_CALENDAR_TOOL])
        return final.choices[0].message.content


@agentops_otel.agent(name="summarizer", role="summarizes the thread for the CRM")
class Summarizer:
    """Its model is down (HTTP 500): the exception passes through to the caller."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def summarize(self, email: str) -> str:
        messages = [{"role": "user", "content": f"Summarize for the CRM: {email}"}]
        return _chat(self._client, FAILING_MODEL, messages).choices[0].message.content


class Inbox:
    """The three agents on one email; a failing agent is reported, not fatal."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @agentops_otel.workflow(name="inbox")
    def process(self, email: str) -> dict[str, str]:
        category, reply = EmailAssistant(self._client).handle(email)
        outcome = {"category": category, "reply": reply}
        outcome["booking"] = Scheduler(self._client).book(_SCHEDULE_REQUEST)
        try:
            Summarizer(self._client).summarize(email)
            outcome["error"] = ""
        except Exception as exc:  # noqa: BLE001 - the demo shows the failure instead of dying
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        return outcome


def _go_offline() -> None:
    """Keep the demo's spans local even when the shell configures other destinations."""
    for name in list(os.environ):
        if name in _ONLINE_VARS or name.startswith(_ONLINE_PREFIX):
            del os.environ[name]


def run(store_path: str | None = None, *, exit_timeout_s: float = 5.0) -> DemoResult:
    """Run the demo against a fresh fake LLM server, writing spans to the local store.

    ``store_path`` overrides ``AGENTOPS_OTEL_HOME``. Returns once the spans are in the store
    (shutdown waits at most ``exit_timeout_s``).
    """
    import openai

    from agentops_otel.testing.fake_llm import FakeLLMServer

    _go_offline()
    with FakeLLMServer() as server:
        # Rules match the last user message, first match wins.
        server.add_rule(_CLASSIFY_PREFIX, _CATEGORY)
        server.add_rule("invoice #4471", _REPLY)
        server.add_rule("plan review call", _BOOKED)
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-demo", max_retries=0)
        agentops_otel.init(
            service_name="inbox-demo",
            instrument=["openai"],
            auto_start_session=False,
            local_store=True,
            store_path=store_path,
            exit_timeout_s=exit_timeout_s,
        )
        with agentops_otel.session(SESSION_NAME, tags=SESSION_TAGS) as session:
            outcome = Inbox(client).process(EMAIL)
        agentops_otel.shutdown(timeout=exit_timeout_s)
    return DemoResult(session.id, **outcome)
