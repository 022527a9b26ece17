"""One logical call across fallback targets, and the outer layers' events, over real SDKs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from observe_support import call, otel_sdk
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

import riprap
from riprap.budget import Budget, Budgets
from riprap.observe import (
    BudgetReserved,
    BudgetSettled,
    CallDegraded,
    CallEnded,
    OutputReasked,
    PrometheusHook,
    RateAlert,
    SuccessRateMonitor,
    TargetEnded,
)
from riprap.observe._catalog import SPECS
from riprap.sim import Outage, Reply
from riprap.testing import EventLog
from support import create, make_client

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from riprap.sim import Simulator
    from riprap.testing import FakeClock

MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
#: Two attempts per target: a failing target shows a retry before the move.
FAST = riprap.Retry(max_attempts=2)


def down(model: str) -> Outage:
    """`model` answers 529 to every request."""
    return Outage(start=0, model=model, faults={529: 1.0})


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    """`parent`'s child spans, in start order."""
    assert parent.context is not None
    found = [
        s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]
    return sorted(found, key=lambda s: s.start_time or 0)


@MODES
def test_a_fallback_is_one_call_span_with_a_span_per_target(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Primary down, fallback serves: one CLIENT root, two target spans, each with attempts."""
    sim.outages = [down("claude-sim")]
    log = EventLog()
    with otel_sdk() as otel:
        _, error = call(
            "anthropic", sim, is_async=is_async, hooks=[otel.hook, log], clock=clock,
            retry=FAST, fallbacks=["claude-sim-b"], validate=False,
        )  # fmt: skip
        assert error is None
        spans = otel.spans()
        [duration] = otel.points("gen_ai.client.operation.duration")
        assert otel.hook._calls == {}
    [root] = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert root.parent is None
    assert root.name == "chat claude-sim"
    assert root.status.status_code is StatusCode.UNSET
    root_attrs = dict(root.attributes or {})
    assert root_attrs["riprap.attempts"] == 3
    assert root_attrs["riprap.target"] == "anthropic:claude-sim-b"
    assert "error.type" not in root_attrs
    assert [e.name for e in root.events] == ["riprap.fallback.used"]
    first, second = children(spans, root)
    assert (first.name, second.name) == ("riprap.target", "riprap.target")
    assert dict(first.attributes or {})["gen_ai.request.model"] == "claude-sim"
    assert dict(first.attributes or {})["error.type"] == "overloaded"
    assert first.status.status_code is StatusCode.ERROR
    assert dict(second.attributes or {})["gen_ai.request.model"] == "claude-sim-b"
    assert second.status.status_code is StatusCode.UNSET
    assert [s.name for s in children(spans, first)] == ["riprap.attempt"] * 2
    assert [e.name for e in first.events] == ["riprap.retry.scheduled"]
    assert [s.name for s in children(spans, second)] == ["riprap.attempt"]
    assert len(spans) == 1 + 2 + 3
    # One operation in the metrics, labelled with the model the user asked for.
    assert duration.count == 1
    assert duration.attributes["gen_ai.request.model"] == "claude-sim"
    assert "error.type" not in duration.attributes
    # The events: every target's end, then the one logical end, all under one operation.
    [ended] = log.of(CallEnded)
    assert [t.ok for t in log.of(TargetEnded)] == [False, True]
    assert {e.operation_id for e in log.events} == {ended.call_id}
    assert ended.operation_id == ended.call_id


@MODES
def test_a_chain_that_fails_everywhere_is_one_failed_call(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Every target down: one ERROR root with error.type, each target span failed too."""
    sim.outages = [down("claude-sim"), down("claude-sim-b")]
    alerts: list[RateAlert] = []
    monitor = SuccessRateMonitor(alerts.append, min_calls=1, clock=clock)
    with otel_sdk() as otel:
        _, error = call(
            "anthropic", sim, is_async=is_async, hooks=[otel.hook, monitor], clock=clock,
            retry=FAST, fallbacks=["claude-sim-b"], validate=False,
        )  # fmt: skip
        assert isinstance(error, riprap.AllTargetsFailedError)
        spans = otel.spans()
    [root] = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert root.status.status_code is StatusCode.ERROR
    assert dict(root.attributes or {})["error.type"] == "overloaded"
    targets = children(spans, root)
    assert [t.status.status_code for t in targets] == [StatusCode.ERROR] * 2
    # The monitor saw one call (failed) and four attempts (all failed), under the primary.
    [alert] = alerts
    assert (alert.calls, alert.rate) == (1, 0.0)
    snapshot = monitor.snapshot()
    assert snapshot["anthropic", "claude-sim"].calls == 1
    assert snapshot["anthropic", "claude-sim-b"].calls == 0


@MODES
def test_a_degraded_answer_is_reported_and_counted_as_a_failure(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """The degrade handler answering: CallDegraded, then a CallEnded marked degraded."""
    sim.outages = [down("claude-sim"), down("claude-sim-b")]
    log = EventLog()
    alerts: list[RateAlert] = []
    monitor = SuccessRateMonitor(alerts.append, min_calls=1, clock=clock)
    value, error = call(
        "anthropic", sim, is_async=is_async, hooks=[log, monitor], clock=clock, retry=FAST,
        fallbacks=["claude-sim-b"], degrade=riprap.degrade_with_text("later"), validate=False,
    )  # fmt: skip
    assert error is None
    assert value.content[0].text == "later"
    [degraded] = log.of(CallDegraded)
    assert (degraded.failed, degraded.kind) == (2, riprap.Kind.OVERLOADED)
    [ended] = log.of(CallEnded)
    assert (ended.ok, ended.degraded, ended.attempts, ended.target) == (True, True, 4, "")
    assert log.events.index(degraded) < log.events.index(ended)
    [alert] = alerts
    assert alert.rate == 0.0


def test_prometheus_counts_a_fallback_as_one_operation(sim: Simulator, clock: FakeClock) -> None:
    """The duration histogram counts one call; the targets' ends are resilience events."""
    sim.outages = [down("claude-sim")]
    registry = CollectorRegistry()
    _, error = call(
        "anthropic", sim, is_async=False, hooks=[PrometheusHook(registry=registry)],
        clock=clock, retry=FAST, fallbacks=["claude-sim-b"], validate=False,
    )  # fmt: skip
    assert error is None
    count = registry.get_sample_value
    labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "anthropic",
              "gen_ai_request_model": "claude-sim", "gen_ai_response_model": "claude-sim-b",
              "error_type": ""}  # fmt: skip
    assert count("gen_ai_client_operation_duration_seconds_count", labels) == 1
    target = {"event_name": "riprap.target.ended", "gen_ai_provider_name": "anthropic"}
    failed = count("riprap_events_total", {**target, "gen_ai_request_model": "claude-sim",
                                            "error_type": "overloaded",
                                            "riprap_outcome": "max_attempts"})  # fmt: skip
    assert failed == 1


@MODES
def test_budget_hold_and_settlement_are_events(is_async: bool, sim: Simulator) -> None:
    """A priced call with a budget reports its worst case held, then what it cost."""
    log = EventLog()
    client_options: Any = {"hooks": [log], "budgets": Budgets(running=(Budget(limit=5.0),))}

    def wrap(client: Any) -> Any:
        return riprap.wrap(client, **client_options)

    from support import call_once  # noqa: PLC0415 - the shared one-call helper

    _, error = call_once(
        "anthropic", sim, is_async=is_async, wrap=wrap, model="claude-haiku-4-5-20251001"
    )
    assert error is None
    [held] = log.of(BudgetReserved)
    [settled] = log.of(BudgetSettled)
    [ended] = log.of(CallEnded)
    assert held.call_id == settled.call_id == ended.call_id
    assert held.estimate == settled.estimate > 0
    assert settled.spent is not None
    assert 0 < settled.spent < held.estimate
    assert ended.cost == pytest.approx(settled.spent)


def test_a_reask_is_an_event_without_the_answer(sim: Simulator) -> None:
    """Output validation asking again reports which answer failed, never its text."""
    sim.script(Reply(text="SECRET not json"), Reply(text='{"answer": 42}'))
    log = EventLog()
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), hooks=[log])
    got = create("anthropic", riprap.expect(client, riprap.Expect.json(max_attempts=3)))
    assert got.value == {"answer": 42}
    [reask] = log.of(OutputReasked)
    first, _ = log.of(CallEnded)
    assert (reask.attempt, reask.max_attempts, reask.call_id) == (1, 3, first.call_id)
    assert "SECRET" not in repr(reask)


def test_every_event_is_catalogued_and_logged_with_its_name() -> None:
    """Each event class riprap.observe exports has a catalog entry and logs as its name."""
    events = [
        getattr(riprap.observe, name)
        for name in riprap.observe.__all__
        if isinstance(getattr(riprap.observe, name), type)
        and issubclass(getattr(riprap.observe, name), riprap.observe.Event)
        and getattr(riprap.observe, name) is not riprap.observe.Event
    ]
    names = {cls.name for cls in events}
    assert names == set(SPECS)
    assert names == {
        "riprap.attempt.started", "riprap.attempt.ended", "riprap.retry.scheduled",
        "riprap.call.ended", "riprap.target.ended", "riprap.call.degraded",
        "riprap.breaker.changed", "riprap.fallback.used", "riprap.limiter.waited",
        "riprap.budget.reserved", "riprap.budget.settled", "riprap.validation.reasked",
    }  # fmt: skip
