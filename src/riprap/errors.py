"""riprap's own exceptions, and how to read a call's history off any error.

When riprap gives up on a provider failure it raises the provider's own exception (so
`except anthropic.RateLimitError:` keeps working), with the call's history attached:
`riprap.report_of(err)` returns it. riprap raises its own exceptions only when riprap
itself refuses to go on. The tree::

    RiprapError
    ├── ConfigError (also ValueError)        a config object got a bad value
    ├── PromptValidationError (also ValueError)
    │   │                                    the request breaks the API's rules, found
    │   │                                    before any network; `path` and `value`
    │   └── ContextOverflowError             estimated prompt + max_tokens over the window
    ├── OutputValidationError (also ValueError)
    │                                        the answer failed `Expect` on every attempt;
    │                                        `raw` is the last answer
    ├── BudgetExceededError                  a call's worst case does not fit a budget
    ├── UnknownModelError (also LookupError) a strict registry does not know the model
    ├── CircuitOpenError                     an open circuit refused the attempt; nothing
    │                                        was sent; `key`, `state`, `retry_in`
    ├── DeadlineExceededError (also TimeoutError)
    │   │                                    the call's deadline ran out; the last
    │   │                                    provider error is the __cause__
    │   └── RetryAfterBeyondDeadlineError    the provider asked to wait longer than
    │                                        the call has left
    (the validation, budget, registry and breaker errors live with their packages:
    `riprap.validate`, `riprap.budget`, `riprap.models`, `riprap.breaker`)
    ├── StreamInterruptedError               a stream broke after text reached the
    │                                        caller and could not be resumed; carries
    │                                        the partial text and usage
    ├── StreamStalledError (also TimeoutError)
    │                                        a stream was silent too long (first token
    │                                        or between events); riprap cut it
    ├── UnexpectedResponseError              a 2xx whose body is not the API's answer
    │                                        (a proxy's HTML page, say); the SDKs
    │                                        return such a body as a plain `str`
    └── UnsupportedClientError (also TypeError)
                                             `wrap` was given something it cannot wrap

Every `RiprapError` carries `kind` (the last failure's `Kind`, or `None`) and `report`
(the `CallReport`, or `None` when no call was made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riprap._redact import redact

if TYPE_CHECKING:
    from riprap._kinds import Kind
    from riprap._report import CallReport, Usage

_REPORT_ATTR = "_riprap_report"


class RiprapError(Exception):
    """Base of every exception riprap raises itself."""

    kind: Kind | None = None
    report: CallReport | None = None

    def __init__(
        self, message: str, *, kind: Kind | None = None, report: CallReport | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.report = report


class ConfigError(RiprapError, ValueError):
    """A configuration value is out of range or of the wrong type; the message names it."""


class DeadlineExceededError(RiprapError, TimeoutError):
    """The call's deadline ran out before it succeeded."""


class RetryAfterBeyondDeadlineError(DeadlineExceededError):
    """The provider asked to wait longer than what is left of the call's deadline.

    Failing at once beats sleeping into certain failure: the caller can fall back, queue
    the work, or tell its user now.
    """

    retry_after: float
    remaining: float

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        remaining: float,
        kind: Kind | None = None,
        report: CallReport | None = None,
    ) -> None:
        super().__init__(message, kind=kind, report=report)
        self.retry_after = retry_after
        self.remaining = remaining


class StreamInterruptedError(RiprapError):
    """A stream failed after part of it reached the caller, and riprap could not resume it.

    Raised instead of ending the stream as if it were complete. `partial_text` is the
    text the caller already received; `usage` the tokens spent over every attempt.
    """

    partial_text: str
    usage: Usage | None

    def __init__(
        self,
        message: str,
        *,
        partial_text: str,
        usage: Usage | None,
        kind: Kind | None = None,
        report: CallReport | None = None,
    ) -> None:
        super().__init__(message, kind=kind, report=report)
        self.partial_text = partial_text
        self.usage = usage


class StreamStalledError(RiprapError, TimeoutError):
    """A stream sent nothing for longer than its limit; riprap cut it (kind `timeout`)."""


class UnexpectedResponseError(RiprapError):
    """A successful status whose body is not the API's answer (kind `response_invalid`).

    Both SDKs return a 2xx body with a non-JSON content type as a `str` instead of
    raising; riprap treats it as the failure it is, and retries it once.
    """


class UnsupportedClientError(RiprapError, TypeError):
    """`riprap.wrap` was given an object that is not a supported SDK client."""


def report_of(error: BaseException) -> CallReport | None:
    """The history of the call that ended in `error`, or `None` if riprap saw no call.

    Works for provider exceptions (riprap attaches the report to the error it re-raises)
    and for riprap's own.
    """
    if isinstance(error, RiprapError):
        return error.report
    report: CallReport | None = getattr(error, _REPORT_ATTR, None)
    return report


def scrub(error: BaseException, secrets: tuple[str, ...]) -> None:
    """Remove `secrets` from an exception raised to the caller, in place, and its chain.

    Providers echo parts of a bad key back in error bodies ("Incorrect API key provided:
    sk-…"), and the SDKs put the body into the exception's message. An exception is
    logged and reported far from where it was raised, so the key goes before it leaves.
    """
    if not any(secrets):
        return
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(redact(a, secrets) for a in current.args)
        for name in ("message", "api_message", "body"):
            if isinstance(getattr(current, name, None), (str, dict, list)):
                setattr(current, name, redact(getattr(current, name), secrets))
        current = current.__cause__ or current.__context__


def attach_report(error: BaseException, report: CallReport) -> None:
    """Attach `report` to a provider exception, and add a one-line note for tracebacks."""
    if isinstance(error, RiprapError):
        error.report = report
    else:
        setattr(error, _REPORT_ATTR, report)
    error.add_note(f"riprap: {report.summary()}")
