"""riprap: production-grade calls to LLM APIs.

Wrap the official SDK client you already have; its calls then retry what is transient,
fail fast on what is not, and never outlive one deadline::

    import anthropic, riprap

    client = riprap.wrap(anthropic.Anthropic())
    msg = client.messages.create(model=..., max_tokens=..., messages=[...])

Everything public is re-exported here; other modules are private and may change.
"""

from __future__ import annotations

import logging

from riprap._fallback import AllTargetsFailedError, Degraded, Target, degrade_with_text
from riprap._kinds import RULES, Fallback, Kind, Rule
from riprap._report import Attempt, CallReport, Stop, Usage
from riprap._result import Result
from riprap.breaker import Breaker, CircuitOpenError
from riprap.budget import Budget, BudgetExceededError, Budgets
from riprap.context import SlidingWindow, Summarize
from riprap.errors import (
    ConfigError,
    DeadlineExceededError,
    RetryAfterBeyondDeadlineError,
    RiprapError,
    StreamInterruptedError,
    StreamStalledError,
    UnexpectedResponseError,
    UnsupportedClientError,
    report_of,
)
from riprap.limiter import (
    Limiter,
    LimiterUnavailableError,
    Limits,
    Need,
    RateLimitWaitBeyondDeadlineError,
    Scope,
)
from riprap.models import ModelInfo, Prices, Registry, UnknownModelWarning
from riprap.observe import (
    AttemptEnded,
    AttemptStarted,
    BreakerChanged,
    CallEnded,
    Event,
    FallbackUsed,
    Hook,
    LimiterWaited,
    LoggingHook,
    RetryScheduled,
)
from riprap.policy import Retry, RetryBudget, Timeouts
from riprap.validate import (
    ContextOverflowError,
    Expect,
    InputRules,
    OutputValidationError,
    PromptValidationError,
)
from riprap.wrap import expect, last_report, results, with_policy, wrap

__version__ = "0.1.0.dev0"

# A library never configures logging; this only keeps Python's last-resort handler from
# printing riprap's warnings to stderr of an application that did not configure any.
logging.getLogger("riprap").addHandler(logging.NullHandler())

__all__ = [
    "RULES",
    "AllTargetsFailedError",
    "Attempt",
    "AttemptEnded",
    "AttemptStarted",
    "Breaker",
    "BreakerChanged",
    "Budget",
    "BudgetExceededError",
    "Budgets",
    "CallEnded",
    "CallReport",
    "CircuitOpenError",
    "ConfigError",
    "ContextOverflowError",
    "DeadlineExceededError",
    "Degraded",
    "Event",
    "Expect",
    "Fallback",
    "FallbackUsed",
    "Hook",
    "InputRules",
    "Kind",
    "Limiter",
    "LimiterUnavailableError",
    "LimiterWaited",
    "Limits",
    "LoggingHook",
    "ModelInfo",
    "Need",
    "OutputValidationError",
    "Prices",
    "PromptValidationError",
    "RateLimitWaitBeyondDeadlineError",
    "Registry",
    "Result",
    "Retry",
    "RetryAfterBeyondDeadlineError",
    "RetryBudget",
    "RetryScheduled",
    "RiprapError",
    "Rule",
    "Scope",
    "SlidingWindow",
    "Stop",
    "StreamInterruptedError",
    "StreamStalledError",
    "Summarize",
    "Target",
    "Timeouts",
    "UnexpectedResponseError",
    "UnknownModelWarning",
    "UnsupportedClientError",
    "Usage",
    "__version__",
    "degrade_with_text",
    "expect",
    "last_report",
    "report_of",
    "results",
    "with_policy",
    "wrap",
]
