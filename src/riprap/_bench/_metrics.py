"""The benchmark's arithmetic: pure functions of what was observed, no I/O, no clock.

Two kinds of numbers: what a contender achieved (success rate, makespan, attempts per
success, quantiles of latency, attempts spent on a model while it was down), and the
physical minimum a workload could take on a scenario (the makespan with no faults and
no client overhead), which the makespan is divided by.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


@dataclass(frozen=True, slots=True)
class Outcome:
    """One call as its caller saw it.

    Attributes:
        start: Seconds after the workload began when the caller made the call.
        end: Seconds after the workload began when it returned or raised.
        failure: None if the caller got the full, right answer; else a short label of
            what went wrong (a failure kind, "incomplete answer", "gave up").
    """

    start: float
    end: float
    failure: str | None = None

    @property
    def latency(self) -> float:
        """Seconds the caller waited, answer or error."""
        return self.end - self.start


def successes(outcomes: Sequence[Outcome]) -> int:
    """How many calls got their answer."""
    return sum(1 for o in outcomes if o.failure is None)


def success_rate(outcomes: Sequence[Outcome]) -> float:
    """Share of calls that got their answer, 0..1 (0 for no calls)."""
    return successes(outcomes) / len(outcomes) if outcomes else 0.0


def makespan(outcomes: Sequence[Outcome]) -> float:
    """Seconds from the first call's start to the last call's end (0 for no calls)."""
    if not outcomes:
        return 0.0
    return max(o.end for o in outcomes) - min(o.start for o in outcomes)


def per_success(attempts: int, ok: int) -> float | None:
    """Requests the provider received per call answered; None when nothing was answered."""
    return attempts / ok if ok else None


def ratio(value: float, minimum: float) -> float | None:
    """`value` over `minimum`; None when the minimum is 0 (no meaningful ratio)."""
    return value / minimum if minimum > 0 else None


def quantile(values: Iterable[float], q: float) -> float | None:
    """The `q` quantile by nearest rank: the ceil(q * n)-th smallest; None if empty.

    Nearest rank returns an observed value (no interpolation), so p99 of 100 calls is
    the 99th slowest-but-one, and p50 of 4 is the 2nd smallest.
    """
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q must be in (0, 1], got {q!r}")
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def failure_counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Failed calls per label, commonest first (ties by label, so the order is stable)."""
    counts: dict[str, int] = {}
    for o in outcomes:
        if o.failure is not None:
            counts[o.failure] = counts.get(o.failure, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# -- physical minimums ---------------------------------------------------------------------


def closed_loop_minimum(durations: Sequence[float], slots: int) -> float:
    """Makespan of calls taking `durations`, started in order whenever one of `slots` frees.

    This is what a closed loop of `slots` workers takes if every call succeeds at once
    and the client costs nothing: the latency bound.
    """
    if slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots!r}")
    free_at = [0.0] * min(slots, len(durations))
    heapq.heapify(free_at)
    end = 0.0
    for duration in durations:
        done = heapq.heappop(free_at) + duration
        end = max(end, done)
        heapq.heappush(free_at, done)
    return end


def open_loop_minimum(arrivals: Sequence[float], durations: Sequence[float]) -> float:
    """Makespan of calls arriving at `arrivals` and taking `durations`, none waiting.

    Measured from the first arrival, as `makespan` is.
    """
    if len(arrivals) != len(durations):
        raise ValueError(f"{len(arrivals)} arrivals but {len(durations)} durations")
    if not arrivals:
        return 0.0
    return max(a + d for a, d in zip(arrivals, durations, strict=True)) - min(arrivals)


def bucket_minimum(demand: float, size: float, per_second: float) -> float:
    """Seconds a token bucket needs to admit `demand` units: (demand - size) / rate.

    The bucket starts full (`size` units at once), then refills at `per_second`.
    """
    if per_second <= 0:
        raise ValueError(f"per_second must be > 0, got {per_second!r}")
    return max(0.0, demand - size) / per_second


# -- attempts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A span in which a model was down: [start, end) seconds after the first request.

    Attributes:
        start: When it began.
        end: When it ended; None if it never did.
        model: The model it hit; None for every model.
    """

    start: float
    end: float | None
    model: str | None

    def covers(self, since: float, model: str | None) -> bool:
        """Whether a request for `model` at `since` falls in the window."""
        if self.model is not None and model != self.model:
            return False
        return self.start <= since and (self.end is None or since < self.end)


@dataclass(frozen=True, slots=True)
class Sent:
    """One request the provider received.

    Attributes:
        since: Seconds after the first request of the run.
        model: The request's model.
        failed: Whether it got anything but a clean answer.
        status: The HTTP status sent (0 when no response was sent).
    """

    since: float
    model: str | None
    failed: bool
    status: int


def wasted_in_windows(sent: Iterable[Sent], windows: Sequence[Window]) -> int:
    """Failed requests sent to a model while a window said it was down."""
    return sum(1 for s in sent if s.failed and any(w.covers(s.since, s.model) for w in windows))


def count_status(sent: Iterable[Sent], status: int) -> int:
    """Requests answered with `status`."""
    return sum(1 for s in sent if s.status == status)
