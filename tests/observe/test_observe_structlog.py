"""structlog: events as structured entries, and the call's id bound while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import structlog
from observe_support import call
from structlog.testing import capture_logs

from riprap import Kind
from riprap.observe import CallEnded, Event, RetryScheduled, StructlogHook
from riprap.sim import Reply

if TYPE_CHECKING:
    from riprap.observe import Hook
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


@MODES
def test_events_are_structured_entries(is_async: bool, sim: Simulator, clock: FakeClock) -> None:
    """Each event is one entry named after it, with its fields, at its level."""
    sim.script(Reply(status=529), Reply())
    with capture_logs() as entries:
        call("anthropic", sim, is_async=is_async, hooks=[StructlogHook()], clock=clock)
    assert [(e["event"], e["log_level"]) for e in entries] == [
        ("riprap.attempt.started", "debug"),
        ("riprap.attempt.ended", "info"),
        ("riprap.retry.scheduled", "info"),
        ("riprap.attempt.started", "debug"),
        ("riprap.attempt.ended", "debug"),
        ("riprap.call.ended", "debug"),
    ]
    retry = entries[2]
    assert retry["kind"] == "overloaded"
    assert retry["attempt"] == 1
    assert {e["call_id"] for e in entries} == {retry["call_id"]}


def test_a_failed_call_is_a_warning(sim: Simulator, clock: FakeClock) -> None:
    """The call the application saw fail is logged at warning."""
    sim.script(Reply(status=404))
    with capture_logs() as entries:
        call("openai", sim, is_async=False, hooks=[StructlogHook()], clock=clock)
    [warning] = [e for e in entries if e["log_level"] == "warning"]
    assert warning["event"] == "riprap.call.ended"
    assert warning["kind"] == "not_found"


@MODES
def test_the_calls_context_is_bound_while_it_runs(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """During the call its id is in structlog's contextvars; after it, the caller's are back."""
    sim.script(Reply(status=500), Reply())
    seen: list[dict[str, object]] = []

    def look(event: Event) -> None:
        if isinstance(event, RetryScheduled):
            seen.append({**structlog.contextvars.get_contextvars(), "call": event.call_id})

    structlog.contextvars.bind_contextvars(request="r-1")
    try:
        with capture_logs():
            call("openai", sim, is_async=is_async, hooks=[StructlogHook(), look], clock=clock)
        after = structlog.contextvars.get_contextvars()
    finally:
        structlog.contextvars.clear_contextvars()
    [during] = seen
    if not is_async:
        # A sync call runs in the caller's own context, so the caller's binding shows too.
        assert during["request"] == "r-1"
    assert during["riprap_call_id"] == during["call"]
    assert during["riprap_provider"] == "openai"
    assert during["riprap_model"] == "gpt-sim"
    assert after == {"request": "r-1"}


def test_binding_can_be_turned_off(sim: Simulator, clock: FakeClock) -> None:
    """`bind_context=False` logs the same entries and binds nothing."""
    seen: list[dict[str, object]] = []
    hooks: list[Hook] = [
        StructlogHook(bind_context=False),
        lambda _e: seen.append(structlog.contextvars.get_contextvars()),
    ]
    with capture_logs() as entries:
        call("anthropic", sim, is_async=False, hooks=hooks, clock=clock)
    assert len(entries) == 3
    assert all(s == {} for s in seen)


def test_an_event_after_the_calls_end_binds_nothing() -> None:
    """A late event of a finished call logs, but does not bind that call's id again."""
    hook = StructlogHook()
    fields: Any = {"call_id": "c1", "provider": "openai", "model": "gpt-sim", "time": 1e9}
    with capture_logs() as entries:
        hook(CallEnded(**fields, ok=True, attempts=1, elapsed=0.1, kind=None, stop=None,
                       request_ids=()))  # fmt: skip
        hook(RetryScheduled(**fields, attempt=1, kind=Kind.TIMEOUT, wait=1.0, retry_after=None))
    assert len(entries) == 2
    assert structlog.contextvars.get_contextvars() == {}
