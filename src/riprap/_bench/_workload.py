"""Fitting a workload to a scenario, and the physical minimum of that workload.

The scenario says what goes wrong; the workload is what the application asks of the
provider meanwhile. Each scenario gets the shape that exposes its fault:

- rate limits: a burst of calls, enough that the bucket binds for a while;
- outage windows: calls arriving at a steady rate (an open loop), before, during and
  after the windows, so that waiting out an outage shows as latency, not as fewer calls;
- stream faults: streamed answers, read to the end and checked;
- anything else: a closed loop (a fixed number of calls in flight).

The physical minimum is the makespan with no fault and no client overhead: the latency
bound (the simulator's drawn latencies, scheduled as the workload would run them),
or the rate bound of every token bucket, whichever is longer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

from riprap._bench._metrics import bucket_minimum, closed_loop_minimum, open_loop_minimum
from riprap._bench._sdk import MODELS, Request, provider_of

if TYPE_CHECKING:
    from riprap.sim import Outage, Scenario

#: Full runs: sized so every scenario takes seconds to tens of seconds per contender.
SLOTS: Final = 32  # calls in flight in a closed loop: a modest worker pool
CLOSED_CALLS: Final = 400
STREAM_CALLS: Final = 200
ARRIVALS_PER_SECOND: Final = 10.0  # open loop: a steady trickle of user requests
RATE_BOUND_SECONDS: Final = 20.0  # how long the rate limit should bind
OUTAGE_TAIL: Final = 0.25  # open loop: keep arriving this share of the span after the last window
PATIENCE: Final = 120.0  # a caller gives up after this (riprap's shortest default deadline)

#: --quick: a smoke test, seconds per scenario.
QUICK_CALLS: Final = 40
QUICK_SLOTS: Final = 16
QUICK_RATE_BOUND_SECONDS: Final = 2.0
QUICK_SPAN: Final = 4.0  # outage windows are compressed so the open loop spans this
QUICK_PATIENCE: Final = 20.0

#: A window that never ends is followed for this long.
OPEN_ENDED: Final = 30.0
#: Bounds on the calls a rate-limited workload makes.
MIN_CALLS: Final = 20
MAX_CALLS: Final = 2000


@dataclass(frozen=True, slots=True)
class Workload:
    """What the application asks of the provider.

    Attributes:
        shape: "closed": `slots` calls in flight, the next starting when one ends;
            "open": call i starts at i * `interval`, whatever the others do.
        model: The model every call asks.
        calls: How many calls.
        slots: Closed loop: calls in flight.
        interval: Open loop: seconds between arrivals.
        stream: Whether answers are streamed.
        patience: Seconds after which the caller abandons a call (a failure, "gave up").
    """

    shape: Literal["closed", "open"]
    model: str
    calls: int
    slots: int = SLOTS
    interval: float = 0.0
    stream: bool = False
    patience: float = PATIENCE

    def requests(self) -> list[Request]:
        """The calls, in order."""
        return [Request(index=i, model=self.model, stream=self.stream) for i in range(self.calls)]

    def arrivals(self) -> list[float]:
        """Open loop: when each call starts (seconds after the first)."""
        return [i * self.interval for i in range(self.calls)]

    def describe(self) -> str:
        """One line for the table's heading."""
        kind = "streamed calls" if self.stream else "calls"
        if self.shape == "open":
            rate = 1.0 / self.interval if self.interval > 0 else math.inf
            return f"{self.calls} {kind} to {self.model} arriving at {rate:.3g}/s (open loop)"
        return f"{self.calls} {kind} to {self.model}, {self.slots} in flight (closed loop)"


@dataclass(frozen=True, slots=True)
class Minimum:
    """The physical minimum makespan and what sets it.

    Attributes:
        seconds: The minimum.
        bound: What binds: "latency", or the bucket ("requests bucket", ...).
        formula: How it is computed, for the table's heading.
    """

    seconds: float
    bound: str
    formula: str


@dataclass(frozen=True, slots=True)
class Plan:
    """One scenario, ready to run: the workload, and the simulator's settings for it.

    Attributes:
        workload: What the application asks.
        scenario: The simulator's scenario.
        outages: Its outage windows (compressed in a quick run).
        minimum: The workload's physical minimum makespan.
        paced: Whether the clock paces the workload (arrivals, a rate limit) rather than
            the CPU: the contenders may then run at once without slowing each other.
    """

    workload: Workload
    scenario: Scenario
    outages: tuple[Outage, ...]
    minimum: Minimum
    paced: bool


def primary_model(provider: str, outages: tuple[Outage, ...]) -> str:
    """The model the workload asks: the first one an outage hits on `provider`, if any.

    An outage scenario is about its failing model; on any other the default model.
    """
    for outage in outages:
        if outage.model is not None and provider_of(outage.model) == provider:
            return outage.model
    return MODELS[provider]


def _has_stream_faults(scenario: Scenario) -> bool:
    return scenario.fault_rate > 0 and any(
        isinstance(kind, str) and kind.startswith("stream_") and weight > 0
        for kind, weight in scenario.faults.items()
    )


def _span(outages: tuple[Outage, ...]) -> float:
    """Seconds from the start to the end of the last window."""
    return max(o.end if o.end is not None else o.start + OPEN_ENDED for o in outages)


def _compress(outages: tuple[Outage, ...], factor: float) -> tuple[Outage, ...]:
    return tuple(
        replace(o, start=o.start * factor, end=None if o.end is None else o.end * factor)
        for o in outages
    )


def _rate_bound_calls(scenario: Scenario, seconds: float) -> int:
    """Calls that keep the tightest bucket binding for about `seconds`."""
    limits = scenario.rate_limits
    assert limits is not None  # noqa: S101 - callers check
    share = 1.0 - limits.foreign
    per_call = Request(index=0, model="").messages
    from riprap.sim import estimate_input_tokens  # noqa: PLC0415 - the sim extra

    tokens = estimate_input_tokens(per_call)
    costs = ((limits.requests, 1), (limits.input_tokens, tokens), (limits.tokens, tokens))
    found = [
        (bucket.size + bucket.rate * share * seconds) / cost
        for bucket, cost in costs
        if bucket is not None
    ]
    calls = min(found) if found else float(CLOSED_CALLS)
    return max(MIN_CALLS, min(MAX_CALLS, math.ceil(calls)))


def fit(
    scenario: Scenario,
    outages: tuple[Outage, ...],
    *,
    provider: str,
    calls: int | None,
    quick: bool,
) -> Plan:
    """The workload that exposes `scenario`'s fault, sized for a full or a quick run."""
    model = primary_model(provider, outages)
    patience = QUICK_PATIENCE if quick else PATIENCE
    slots = QUICK_SLOTS if quick else SLOTS
    stream = _has_stream_faults(scenario)
    if outages:
        if quick:
            outages = _compress(outages, QUICK_SPAN / _span(outages))
        span = _span(outages) * (1.0 + OUTAGE_TAIL)
        n = calls or (QUICK_CALLS if quick else math.ceil(span * ARRIVALS_PER_SECOND))
        workload = Workload(
            shape="open", model=model, calls=n, interval=span / n, stream=stream,
            patience=patience,
        )  # fmt: skip
    elif scenario.rate_limits is not None:
        seconds = QUICK_RATE_BOUND_SECONDS if quick else RATE_BOUND_SECONDS
        n = calls or _rate_bound_calls(scenario, seconds)
        # A wide pool: the burst that meets the limit, then a queue against it.
        workload = Workload(
            shape="closed", model=model, calls=n, slots=min(n, 2 * slots), stream=stream,
            patience=patience,
        )  # fmt: skip
    else:
        default = STREAM_CALLS if stream else CLOSED_CALLS
        n = calls or (QUICK_CALLS if quick else default)
        workload = Workload(
            shape="closed", model=model, calls=n, slots=slots, stream=stream, patience=patience
        )
    paced = workload.shape == "open" or scenario.rate_limits is not None
    return Plan(workload, scenario, outages, minimum(workload, scenario), paced)


def latencies(scenario: Scenario, model: str, calls: int) -> list[float]:
    """The latency the simulator draws for `model`'s requests 0..calls-1 when none fails."""
    mix = scenario.models.get(model, scenario)
    clean = replace(mix, fault_rate=0.0, models={}, rate_limits=None)
    return [clean.decide(i, 0.0).delay for i in range(calls)]


def minimum(workload: Workload, scenario: Scenario) -> Minimum:
    """The makespan of `workload` on `scenario` with no fault and no client overhead."""
    durations = latencies(scenario, workload.model, workload.calls)
    if workload.shape == "open":
        best = Minimum(
            open_loop_minimum(workload.arrivals(), durations),
            "latency",
            "last arrival + its latency",
        )
    else:
        best = Minimum(
            closed_loop_minimum(durations, workload.slots),
            "latency",
            f"drawn latencies on {workload.slots} slots",
        )
    for candidate in _bucket_minimums(workload, scenario):
        if candidate.seconds > best.seconds:
            best = candidate
    return best


def _bucket_minimums(workload: Workload, scenario: Scenario) -> list[Minimum]:
    """Each limited bucket's (demand - burst) / rate, for the demand that is known exactly.

    Requests and input tokens are known before sending; output is not counted (it is a
    lower bound either way), so the combined `tokens` bucket is bounded by input alone.
    """
    limits = scenario.rate_limits
    if limits is None:
        return []
    from riprap.sim import estimate_input_tokens  # noqa: PLC0415 - the sim extra

    share = 1.0 - limits.foreign
    n = workload.calls
    tokens = sum(estimate_input_tokens(r.messages) for r in workload.requests())
    found = []
    for name, bucket, demand in (
        ("requests bucket", limits.requests, float(n)),
        ("input-token bucket", limits.input_tokens, float(tokens)),
        ("token bucket", limits.tokens, float(tokens)),
    ):
        if bucket is None:
            continue
        per_second = bucket.rate * share
        seconds = bucket_minimum(demand, bucket.size, per_second)
        unit = "" if name == "requests bucket" else " tokens"
        foreign = f" x {share:g} not foreign" if limits.foreign else ""
        formula = f"({demand:g} - {bucket.size:g}{unit}) / {bucket.rate:g}/s{foreign}"
        found.append(Minimum(seconds, name, formula))
    return found
