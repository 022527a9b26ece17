"""The non-raising form: a call's outcome as a value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from riprap._kinds import RULES

if TYPE_CHECKING:
    from riprap._kinds import Kind
    from riprap._report import Attempt, CallReport, Usage

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Result(Generic[T]):
    """What `riprap.results(client).….create(...)` returns instead of raising.

    Exactly one of `value` and `error` is set. A programming error (a bad argument) is
    still raised: a `Result` only ever holds an API call's outcome.
    """

    value: T | None
    error: BaseException | None
    report: CallReport

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error is None

    @property
    def kind(self) -> Kind | None:
        """The last failure's kind, when the call failed."""
        if self.error is None or not self.report.attempts:
            return None
        return self.report.attempts[-1].kind

    @property
    def retryable(self) -> bool:
        """Whether trying the same call later could succeed (by the kind's rule)."""
        kind = self.kind
        return kind is not None and RULES[kind].retryable

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        """Every attempt of the call."""
        return self.report.attempts

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The provider's request ids, for support tickets."""
        return self.report.request_ids

    @property
    def usage(self) -> Usage | None:
        """Tokens used, summed over the attempts that reported usage."""
        return self.report.usage

    def unwrap(self) -> T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set whenever error is None
