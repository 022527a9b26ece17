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
class CallEnded(Event):
    """The call is over: it succeeded, or riprap gave up and raised."""

    name: ClassVar[str] = "riprap.call.ended"
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


#: A hook takes one event. It must not raise; if it does, riprap logs and goes on.
Hook: TypeAlias = Callable[[Event], None]
