"""`BudgetExceededError`: a call refused before sending, with every number that decided it."""

from __future__ import annotations

from riprap.errors import RiprapError


class BudgetExceededError(RiprapError):
    """The call's estimated cost does not fit a budget; nothing was sent.

    Dollars throughout. `scope` is "call" (the per-call ceiling) or "running" (a budget
    over a period); `key` and `period` name the running budget (`period` in seconds,
    `None` for one that never resets). `spent` is settled spending in the current period,
    `reserved` what calls in flight hold, `estimate` this call's worst case.
    """

    scope: str
    key: str | None
    period: float | None
    limit: float
    spent: float
    reserved: float
    estimate: float

    def __init__(
        self,
        message: str,
        *,
        scope: str,
        limit: float,
        estimate: float,
        spent: float = 0.0,
        reserved: float = 0.0,
        key: str | None = None,
        period: float | None = None,
    ) -> None:
        super().__init__(message)
        self.scope = scope
        self.key = key
        self.period = period
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.estimate = estimate
