"""The limiter's own refusals.

Where they sit in riprap's exception tree::

RiprapError
├── DeadlineExceededError (also TimeoutError)
│   └── RateLimitWaitBeyondDeadlineError   the limiter's wait for capacity is longer
│                                          than what is left of the call's deadline
└── LimiterUnavailableError                the shared backend (Redis) cannot be
                                           reached and the limiter fails closed
"""

from __future__ import annotations

from riprap._kinds import Kind
from riprap.errors import DeadlineExceededError, RiprapError


class RateLimitWaitBeyondDeadlineError(DeadlineExceededError):
    """The wait for rate-limit capacity would outlast the call's deadline.

    Raised at once, before waiting: the caller can fall back, queue the work, or tell its
    user now. Nothing is reserved. `kind` is `rate_limited`, so a fallback chain may move
    on to a target with capacity.
    """

    wait: float
    remaining: float
    scope: str

    def __init__(self, message: str, *, wait: float, remaining: float, scope: str) -> None:
        super().__init__(message, kind=Kind.RATE_LIMITED)
        self.wait = wait
        self.remaining = remaining
        self.scope = scope


class LimiterUnavailableError(RiprapError):
    """The limiter's shared backend cannot be reached, and it is set to fail closed."""
