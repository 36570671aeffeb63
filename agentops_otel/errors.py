"""Exceptions agentops-otel raises on purpose (everything else of ours is contained)."""


class AgentOpsError(Exception):
    """Base class for errors agentops-otel raises into the user's program by request."""


class BudgetExceededError(AgentOpsError):
    """A session passed its ``max_cost_usd`` and ``on_budget_exceeded="raise"`` was asked for.

    Raised by the next model call of that session, before any request is sent.
    """

    def __init__(self, session_id: str, spent_usd: float, limit_usd: float) -> None:
        super().__init__(
            f"session {session_id} has spent ${spent_usd:.6f}, over its budget of "
            f"${limit_usd:.6f}; the model call was not sent"
        )
        self.session_id = session_id
        self.spent_usd = spent_usd
        self.limit_usd = limit_usd


class LoopDetectedError(AgentOpsError):
    """The same model request was sent ``loop_threshold`` times in one session, and
    ``on_loop="raise"`` was asked for."""

    def __init__(self, session_id: str, count: int) -> None:
        super().__init__(
            f"session {session_id} sent the same model request {count} times; "
            "the call was refused as a loop"
        )
        self.session_id = session_id
        self.count = count
