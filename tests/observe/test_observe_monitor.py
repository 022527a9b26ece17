"""SuccessRateMonitor: one alert when a scope's rate dips, one when it recovers, exactly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from observe_support import base

import riprap
from riprap import Kind, Stop
from riprap.errors import ConfigError
from riprap.observe import (
    AlertState,
    AttemptEnded,
    CallEnded,
    RateAlert,
    SuccessRateMonitor,
    TargetEnded,
)
from riprap.sim import Reply
from riprap.testing import FakeClock
from support import create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator


def ended(ok: bool, *, model: str = "claude-sim", stop: Stop | None = None) -> CallEnded:
    """A call's end, as the call layer reports it."""
    failed = None if ok else Kind.OVERLOADED
    stop = stop if stop is not None else (None if ok else Stop.MAX_ATTEMPTS)
    return CallEnded(
        **base(model=model), ok=ok, attempts=1, elapsed=1.0, kind=failed, stop=stop, request_ids=()
    )


def attempt(ok: bool) -> AttemptEnded:
    """An attempt's end."""
    return AttemptEnded(
        **base(), attempt=1, kind=None if ok else Kind.OVERLOADED, status=None, request_id=None,
        latency=0.1,
    )  # fmt: skip


def monitor(clock: FakeClock, alerts: list[RateAlert], **options: float) -> SuccessRateMonitor:
    """A monitor on `clock` that appends its alerts to `alerts`."""
    return SuccessRateMonitor(alerts.append, clock=clock, **options)  # type: ignore[arg-type]


def feed(watch: SuccessRateMonitor, clock: FakeClock, outcomes: str, every: float = 1.0) -> None:
    """One call per `every` seconds: "o" succeeded, "x" failed."""
    for outcome in outcomes:
        watch(ended(outcome == "o"))
        clock.advance(every)


def test_one_alert_and_one_recovery_across_a_dip(clock: FakeClock) -> None:
    """A dip below 95 % over 5 minutes fires exactly one alert, its end exactly one recovery."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts)
    feed(watch, clock, "o" * 100)  # healthy: 100 calls in 100 s
    feed(watch, clock, "ox" * 20)  # the dip: half of 40 calls fail
    feed(watch, clock, "o" * 400)  # recovery: the failures age out of the window
    assert [a.state for a in alerts] == [AlertState.BELOW, AlertState.RECOVERED]
    below, recovered = alerts
    # The sixth failure is the first that takes 100+ calls below 95 %: 100 + 12 calls, 6 bad.
    assert below.calls == 112
    assert below.rate == pytest.approx(106 / 112)
    assert below.time == 1_000.0 + 111
    assert below.threshold == 0.95
    assert below.window == 300.0
    assert recovered.rate >= 0.95
    assert (recovered.provider, recovered.model) == ("anthropic", "claude-sim")


def test_no_alert_below_the_minimum_number_of_calls(clock: FakeClock) -> None:
    """With fewer than `min_calls` calls in the window, even all-failing calls do not alert."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts)
    feed(watch, clock, "x" * 19)
    assert alerts == []
    feed(watch, clock, "x")
    assert [a.state for a in alerts] == [AlertState.BELOW]


def test_scopes_are_separate(clock: FakeClock) -> None:
    """Failures of one model do not alert, or dilute, another's rate."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts)
    for _ in range(30):
        watch(ended(ok=True, model="good"))
        watch(ended(ok=False, model="bad"))
        clock.advance(1)
    assert [(a.model, a.state) for a in alerts] == [("bad", AlertState.BELOW)]
    snapshot = watch.snapshot()
    assert snapshot["anthropic", "good"].rate == 1.0
    assert snapshot["anthropic", "bad"].alerting


def test_cancelled_calls_are_not_counted(clock: FakeClock) -> None:
    """A call the application cancelled failed nobody: it is neither success nor failure."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts)
    for _ in range(50):
        watch(ended(ok=False, stop=Stop.CANCELLED))
    assert alerts == []
    assert watch.snapshot() == {}


def test_attempt_rate_is_reported_beside_the_call_rate(clock: FakeClock) -> None:
    """The alert carries the attempt-level rate too: how hard retries worked for the calls."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts, min_calls=4)
    for ok in (True, False, False, False):
        watch(attempt(ok))
    for ok in (True, True, True, False):
        watch(ended(ok))
    [alert] = alerts
    assert alert.rate == 0.75
    assert alert.attempt_rate == 0.25
    assert alert.attempts == 4


def test_calls_that_succeed_after_retries_are_successes(sim: Simulator, clock: FakeClock) -> None:
    """Every call retried to success counts as a success, though half the attempts failed."""
    sim.script(*[Reply(status=529), Reply()] * 20)
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts)
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), hooks=[watch], clock=clock)
    for _ in range(20):
        create("anthropic", client)
    [scope] = watch.snapshot().values()
    assert (scope.rate, scope.attempt_rate, scope.calls) == (1.0, 0.5, 20)
    assert alerts == []


def test_the_window_forgets_old_calls(clock: FakeClock) -> None:
    """Failures older than the window no longer count."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts, window=60.0, min_calls=1)
    feed(watch, clock, "x")
    assert [a.state for a in alerts] == [AlertState.BELOW]
    clock.advance(61)
    feed(watch, clock, "o")
    assert [a.state for a in alerts] == [AlertState.BELOW, AlertState.RECOVERED]
    assert alerts[1].calls == 1


@pytest.mark.parametrize(
    ("option", "value"),
    [("window", 0), ("window", float("inf")), ("threshold", 0), ("threshold", 1.5),
     ("min_calls", 0), ("buckets", 2.5)],
)  # fmt: skip
def test_bad_options_are_config_errors(option: str, value: object) -> None:
    """A bad option is a ConfigError that names it and its value."""
    with pytest.raises(ConfigError, match=f"SuccessRateMonitor.{option}: {value!r}"):
        SuccessRateMonitor(print, **{option: value})  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 120)), max_size=300))
def test_alerts_alternate(steps: list[tuple[bool, float]]) -> None:
    """Whatever the traffic, alerts alternate below, recovered, below, …, starting below."""
    clock = FakeClock()
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts, min_calls=5)
    for ok, gap in steps:
        watch(ended(ok))
        clock.advance(gap)
    states = [a.state for a in alerts]
    assert states == [AlertState.BELOW, AlertState.RECOVERED] * (len(states) // 2) + (
        [AlertState.BELOW] if len(states) % 2 else []
    )


def test_each_scope_alerts_and_recovers_once_across_its_own_dip(clock: FakeClock) -> None:
    """Two models dipping at different times: one alert and one recovery each, in order."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts)
    plan = [("o", "o")] * 100 + [("x", "o")] * 30 + [("o", "o")] * 310
    plan += [("o", "x")] * 30 + [("o", "o")] * 310
    for a, b in plan:
        watch(ended(a == "o", model="a"))
        watch(ended(b == "o", model="b"))
        clock.advance(1)
    assert [(x.model, x.state) for x in alerts] == [
        ("a", AlertState.BELOW),
        ("a", AlertState.RECOVERED),
        ("b", AlertState.BELOW),
        ("b", AlertState.RECOVERED),
    ]


def test_a_targets_end_is_not_a_call(clock: FakeClock) -> None:
    """Only the logical call's end counts: a fallback target that failed is not a failed call."""
    alerts: list[RateAlert] = []
    watch = monitor(clock, alerts, min_calls=1)
    fields: Any = {"ok": False, "attempts": 1, "elapsed": 1.0, "kind": Kind.OVERLOADED}
    watch(TargetEnded(**base(), **fields, stop=Stop.MAX_ATTEMPTS, request_ids=()))
    assert watch.snapshot() == {}
    watch(ended(ok=True))
    assert watch.snapshot()["anthropic", "claude-sim"].rate == 1.0
    assert alerts == []
