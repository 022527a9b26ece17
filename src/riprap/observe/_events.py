"""Typed events: every layer reports what it did as one frozen value.

Hooks (`wrap(client, hooks=[...])`) receive them; logging, metrics and tracing are
adapters over them. No event carries prompt or answer text, headers or keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeAlias

if TYPE_CHECKING:
    from riprap._kinds import Kind
    from riprap._report import Stop
    from riprap.breaker import Reason, State


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Fields every event has."""

    #: Stable name, used as the log message and the metric/span name.
    name: ClassVar[str] = "riprap.event"
    call_id: str
    provider: str
    model: str | None
    #: Wall-clock seconds since the epoch.
    time: float
    #: The logical call this event belongs to: what the user called once. A call with a
    #: fallback chain runs one call per target (each its own `call_id`), all under one
    #: `operation_id`; a call without one has `operation_id == call_id`. Empty: the same
    #: as `call_id` (an event made outside a call).
    operation_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptStarted(Event):
    """An attempt is about to be sent."""

    name: ClassVar[str] = "riprap.attempt.started"
    attempt: int
    #: The attempt's time limit, already cut to the call's deadline.
    timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptEnded(Event):
    """An attempt came back, with an answer or a failure."""

    name: ClassVar[str] = "riprap.attempt.ended"
    attempt: int
    #: `None` when the attempt succeeded.
    kind: Kind | None
    status: int | None
    request_id: str | None
    latency: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    #: The provider's error message (first 200 characters, secrets removed).
    error_message: str = ""
    #: The model that answered, as the response names it.
    response_model: str | None = None
    #: Why generation stopped (`end_turn`, `stop`, `length`, …), per choice.
    finish_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryScheduled(Event):
    """A failed attempt will be tried again after `wait` seconds."""

    name: ClassVar[str] = "riprap.retry.scheduled"
    attempt: int
    kind: Kind
    wait: float
    retry_after: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ended(Event):
    """What `CallEnded` and `TargetEnded` both say: the outcome of a call."""

    ok: bool
    attempts: int
    elapsed: float
    #: The last failure's kind when the call failed.
    kind: Kind | None
    stop: Stop | None
    request_ids: tuple[str, ...]
    input_tokens: int | None = None
    output_tokens: int | None = None
    #: Dollars at the model registry's prices; `None` if a price is unknown.
    cost: float | None = None
    response_model: str | None = None
    finish_reasons: tuple[str, ...] = ()
    #: Prompt and answer text: set only when a hook asks for content (`content_limit`),
    #: cut to the largest limit asked for.
    input_text: str | None = None
    output_text: str | None = None
    #: "provider:model" of the target that served the call (the last one tried, if none).
    target: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(Ended):
    """The logical call is over: it succeeded, or riprap gave up and raised.

    Exactly one per call the user made, fallback chain or not (`call_id ==
    operation_id`); with a chain its fields sum every target's attempts, tokens and cost.
    """

    name: ClassVar[str] = "riprap.call.ended"
    #: Every target failed and the `degrade` handler answered (`ok` is then true: the
    #: caller got a value, not an exception).
    degraded: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetEnded(Ended):
    """One target of a fallback chain is done (its retry loop succeeded or gave up).

    The logical call goes on to the next target or ends with a `CallEnded` of its own.
    """

    name: ClassVar[str] = "riprap.target.ended"


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerChanged(Event):
    """A target's circuit breaker changed state (opened, went half-open, closed)."""

    name: ClassVar[str] = "riprap.breaker.changed"
    #: The breaker's key: "provider:model:endpoint".
    key: str
    previous: State
    current: State
    reason: Reason
    #: Seconds until the next probe may go, when the circuit is now open.
    retry_in: float


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackUsed(Event):
    """A call moved from one target to the next (`provider`/`model`: the one left)."""

    name: ClassVar[str] = "riprap.fallback.used"
    #: "provider:model" of the target left, and of the next one.
    from_target: str
    to_target: str
    #: The failure kind that moved it, "circuit_open", or "skipped: <why>" when the
    #: target was skipped without a call (a request it cannot express, a smaller window).
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LimiterWaited(Event):
    """The client-side rate limiter held an attempt back until its scope had room."""

    name: ClassVar[str] = "riprap.limiter.waited"
    attempt: int
    #: Seconds the attempt waited for request and token capacity.
    wait: float
    #: The limiter scope, "provider:model:key-hash" (a hash, never the key).
    scope: str
    #: Whether this attempt was the one a cold scope let through to learn its limits.
    probe: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallDegraded(Event):
    """Every target failed or was skipped, and the `degrade` handler answered instead."""

    name: ClassVar[str] = "riprap.call.degraded"
    #: Target calls that failed (a target refitted once counts twice); 0: all skipped.
    failed: int
    #: The last failure's kind, if a target was called.
    kind: Kind | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetReserved(Event):
    """The budget layer reserved the call's worst-case cost before sending it."""

    name: ClassVar[str] = "riprap.budget.reserved"
    #: Dollars held: the prompt estimate plus `max_tokens` at the model's prices.
    estimate: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetSettled(Event):
    """The reservation was replaced by what the call cost (after it ended, either way)."""

    name: ClassVar[str] = "riprap.budget.settled"
    estimate: float
    #: Dollars spent, from the usage reported (0 when the call failed); `None`: unpriced.
    spent: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputReasked(Event):
    """The answer failed the caller's output validation; the model is asked again.

    `call_id` is the call whose answer failed; the re-ask is a call of its own. The
    validation error is not carried: it may quote the answer.
    """

    name: ClassVar[str] = "riprap.validation.reasked"
    #: The answer that failed (1 for the first), and how many answers may be asked for.
    attempt: int
    max_attempts: int


#: A hook takes one event. It must not raise; if it does, riprap logs and goes on.
Hook: TypeAlias = Callable[[Event], None]
