"""An email agent: one ``@agent`` class with two ``@operation`` methods on two models.

    bash scripts/dev.sh example email_agent     # or .venv/bin/python examples/email_agent.py

Runs offline: the openai SDK talks to the project's fake LLM server on 127.0.0.1 (no key, no
network). Spans go to a scratch store (``examples/.store/``, or ``$AGENTOPS_OTEL_HOME``). What to
look at: the tree printed at the end, one ``invoke_agent email-agent`` with ``operation classify``
(a gpt-3.5-turbo call) and ``operation draft_reply`` (a gpt-4 call) beneath it, each with tokens
and cost, rolled up to the agent and the session.
"""

from __future__ import annotations

import openai
from _example import traced

import agentops_otel

EMAIL = "Hello, I was charged twice for my subscription this month. Can you refund one? - Sam"
REPLIES = {
    "Classify:": "billing",
    "charged twice": "Hi Sam, sorry about that: the duplicate charge is refunded and reaches "
    "your card within 5 days.",
}


@agentops_otel.agent(name="email-agent", role="answers customer email")
class EmailAgent:
    """Classifies an email with a cheap model, then drafts the reply with a strong one."""

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client

    def handle(self, email: str) -> tuple[str, str]:
        """One agent span for the whole email; the two operations nest beneath it."""
        category = self.classify(email)
        return category, self.draft_reply(email, category)

    @agentops_otel.operation(name="classify")
    def classify(self, email: str) -> str:
        reply = self.client.chat.completions.create(
            model="gpt-3.5-turbo",
            messages=[
                {"role": "system", "content": "One word: billing, sales or spam."},
                {"role": "user", "content": f"Classify: {email}"},
            ],
        )
        return reply.choices[0].message.content or ""

    @agentops_otel.operation(name="draft_reply")
    def draft_reply(self, email: str, category: str) -> str:
        reply = self.client.chat.completions.create(
            model="gpt-4",
            messages=[
                {"role": "system", "content": f"Draft a short, kind {category} reply."},
                {"role": "user", "content": email},
            ],
        )
        return reply.choices[0].message.content or ""


def main() -> None:
    with traced("email-agent-example", REPLIES) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-example", max_retries=0)
        category, reply = EmailAgent(client).handle(EMAIL)
        print(f"category: {category}\nreply: {reply}\n")


if __name__ == "__main__":
    main()
