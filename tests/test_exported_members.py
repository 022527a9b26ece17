"""The public surface, pinned: a change here is a change users see."""

from __future__ import annotations

import inspect
import subprocess
import sys

import riprap
import riprap.sim
import riprap.testing

EXPECTED = {
    "AllTargetsFailedError", "BreakerChanged", "Degraded", "FallbackUsed", "Target",
    "Breaker", "Budget", "BudgetExceededError", "Budgets", "CircuitOpenError",
    "ContextOverflowError", "Expect", "InputRules", "ModelInfo", "OutputValidationError",
    "Prices", "PromptValidationError", "Registry", "SlidingWindow", "Summarize",
    "UnknownModelWarning",
    "RULES", "Attempt", "AttemptEnded", "AttemptStarted", "CallEnded", "CallReport",
    "ConfigError", "DeadlineExceededError", "Event", "Fallback", "Hook", "Kind", "LoggingHook",
    "Result", "Retry", "RetryAfterBeyondDeadlineError", "RetryBudget", "RetryScheduled",
    "RiprapError", "Rule", "Stop", "StreamInterruptedError", "StreamStalledError",
    "Timeouts", "UnexpectedResponseError",
    "UnsupportedClientError", "Usage", "__version__", "expect", "last_report", "report_of",
    "results", "with_policy", "wrap", "degrade_with_text",
    "Limiter", "LimiterUnavailableError", "LimiterWaited", "Limits", "Need",
    "RateLimitWaitBeyondDeadlineError", "Scope",
}  # fmt: skip


def test_all_is_exactly_the_public_surface() -> None:
    """`riprap.__all__` lists exactly the expected names, and each exists."""
    assert set(riprap.__all__) == EXPECTED
    for name in riprap.__all__:
        assert hasattr(riprap, name), name


def test_public_members_are_defined_where_documented() -> None:
    """Public classes and functions live in riprap's own modules, not re-exported third parties."""
    for name in riprap.__all__:
        member = getattr(riprap, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert member.__module__.startswith("riprap."), (name, member.__module__)


def test_testing_helpers_are_public() -> None:
    """riprap.testing and riprap.sim export their helpers."""
    assert set(riprap.testing.__all__) == {"EventLog", "FakeClock"}
    assert {"Simulator", "Reply", "Scenario", "RecordedRequest"} <= set(riprap.sim.__all__)


def test_importing_riprap_imports_no_sdk() -> None:
    """The core imports neither SDK: users with one SDK never pay for the other."""
    code = "import sys, riprap; print(sorted({'anthropic', 'openai', 'h11'} & set(sys.modules)))"
    out = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
