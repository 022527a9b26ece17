"""Circuit breakers in the call path: real SDK clients on the simulator, a fake clock."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Literal

import anthropic
import pytest

import riprap
from riprap import Stop
from riprap.breaker import State
from riprap.sim import Outage
from riprap.testing import EventLog
from support import create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

#: Trips after three failed attempts in a row, for 5 s; one attempt per call.
TRIP = riprap.Breaker(consecutive_failures=3, break_duration=5.0)
ONCE = riprap.Retry(max_attempts=1)


def wrapped(sim: Simulator, clock: FakeClock, log: EventLog, **options: Any) -> Any:
    """A sync Anthropic client with the breaker on."""
    return riprap.wrap(
        make_client("anthropic", sim, is_async=False),
        breaker=options.pop("breaker", TRIP),
        retry=ONCE,
        clock=clock,
        hooks=[log],
        validate=False,
        **options,
    )


def trip(client: Any) -> None:
    """Three overloaded calls in a row: the circuit opens."""
    for _ in range(3):
        with pytest.raises(anthropic.APIStatusError):
            create("anthropic", client)


def test_open_circuit_sends_nothing_until_the_break_ends(sim: Simulator, clock: FakeClock) -> None:
    """After it trips, calls fail at once without a request; after the break one probe goes."""
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    log = EventLog()
    client = wrapped(sim, clock, log)
    trip(client)
    assert len(sim.requests) == 3
    with pytest.raises(riprap.CircuitOpenError) as caught:
        create("anthropic", client)
    assert len(sim.requests) == 3
    assert caught.value.retry_in == pytest.approx(5.0)
    report = riprap.report_of(caught.value)
    assert report is not None
    assert report.stop is Stop.CIRCUIT_OPEN
    assert report.attempts == ()
    sim.outages = []
    clock.advance(5.0)
    create("anthropic", client)  # the probe, which closes the circuit
    create("anthropic", client)
    assert len(list(sim.requests)) == 5
    changes = [(e.previous, e.current) for e in log.of(riprap.BreakerChanged)]
    assert changes == [
        (State.CLOSED, State.OPEN),
        (State.OPEN, State.HALF_OPEN),
        (State.HALF_OPEN, State.CLOSED),
    ]
    assert log.of(riprap.BreakerChanged)[0].key == "anthropic:claude-sim:messages.create"


def test_failed_probe_opens_the_circuit_again(sim: Simulator, clock: FakeClock) -> None:
    """A probe that fails sends the circuit back to open: the next call sends nothing."""
    sim.outages = [Outage(start=0, faults={503: 1.0})]
    log = EventLog()
    client = wrapped(sim, clock, log)
    trip(client)
    clock.advance(5.0)
    with pytest.raises(anthropic.InternalServerError):
        create("anthropic", client)
    with pytest.raises(riprap.CircuitOpenError):
        create("anthropic", client)
    assert len(sim.requests) == 4
    assert log.of(riprap.BreakerChanged)[-1].current is State.OPEN


def test_client_errors_never_trip_the_breaker(sim: Simulator, clock: FakeClock) -> None:
    """400s and 429s say nothing about the target's health: the circuit stays closed."""
    sim.outages = [Outage(start=0, faults={400: 1.0, 429: 1.0})]
    log = EventLog()
    client = wrapped(sim, clock, log)
    for _ in range(6):
        with pytest.raises(anthropic.APIStatusError):
            create("anthropic", client)
    assert len(sim.requests) == 6
    assert log.of(riprap.BreakerChanged) == []


def test_with_policy_copies_share_the_breakers(sim: Simulator, clock: FakeClock) -> None:
    """A `with_policy` copy sees the circuit its original tripped."""
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    client = wrapped(sim, clock, EventLog())
    trip(client)
    other = riprap.with_policy(client, retry=riprap.Retry(max_attempts=5))
    with pytest.raises(riprap.CircuitOpenError):
        create("anthropic", other)
    assert len(sim.requests) == 3


def test_breaker_is_off_by_default(sim: Simulator, clock: FakeClock) -> None:
    """Without `breaker=`, a dead target is still called on every call."""
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    client = riprap.wrap(
        make_client("anthropic", sim, is_async=False), retry=ONCE, clock=clock, validate=False
    )
    for _ in range(12):
        with pytest.raises(anthropic.APIStatusError):
            create("anthropic", client)
    assert len(sim.requests) == 12


def test_a_bad_breaker_is_refused(sim: Simulator) -> None:
    """`breaker=` takes a `riprap.Breaker` (or a registry); anything else names the field."""
    with pytest.raises(riprap.ConfigError, match=r"wrap\.breaker"):
        riprap.wrap(make_client("anthropic", sim, is_async=False), breaker=5)  # type: ignore[arg-type]


def test_fifty_callers_at_the_end_of_a_break_send_one_probe(
    sim: Simulator, clock: FakeClock
) -> None:
    """50 concurrent async calls when the break ends: at most `probes` reach the target."""
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    log = EventLog()

    async def go() -> list[BaseException | None]:
        client = riprap.wrap(
            make_client("anthropic", sim, is_async=True),
            breaker=TRIP,
            retry=ONCE,
            clock=clock,
            hooks=[log],
            validate=False,
        )
        async with client:
            for _ in range(3):
                with pytest.raises(anthropic.APIStatusError):
                    await create("anthropic", client)
            sim.outages = []
            clock.advance(5.0)

            async def one() -> BaseException | None:
                try:
                    await create("anthropic", client)
                except riprap.CircuitOpenError as error:
                    return error
                return None

            return list(await asyncio.gather(*(one() for _ in range(50))))

    outcomes = asyncio.run(go())
    assert len(sim.requests) == 3 + TRIP.probes
    assert sum(o is None for o in outcomes) == TRIP.probes
    assert all(isinstance(o, riprap.CircuitOpenError) for o in outcomes if o is not None)
    assert log.of(riprap.BreakerChanged)[-1].current is State.CLOSED


def test_breaker_changes_are_logged_at_info(
    sim: Simulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The built-in logging hook writes each breaker change at INFO, with its key."""
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    caplog.set_level(logging.INFO, logger="riprap")
    trip(wrapped(sim, clock, EventLog()))
    [record] = [r for r in caplog.records if r.getMessage().startswith("riprap.breaker.changed")]
    assert record.levelno == logging.INFO
    assert "anthropic:claude-sim:messages.create" in record.getMessage()


@pytest.mark.parametrize("breaker", [None, False], ids=["default", "off"])
def test_breaker_is_on_by_default_when_there_are_fallbacks(
    breaker: Literal[False] | None, sim: Simulator, clock: FakeClock
) -> None:
    """With a fallback, the default breaker opens after 10 failures in a row; False turns it off."""
    sim.outages = [Outage(start=0, model="claude-a", faults={529: 1.0})]
    client = riprap.wrap(
        make_client("anthropic", sim, is_async=False),
        breaker=breaker,
        fallbacks=["claude-b"],
        retry=ONCE,
        clock=clock,
        validate=False,
    )
    for _ in range(15):
        create("anthropic", client, model="claude-a")
    to_primary = sum(
        1 for r in sim.requests if isinstance(r.body, dict) and r.body["model"] == "claude-a"
    )
    assert to_primary == (riprap.Breaker().consecutive_failures if breaker is None else 15)
    assert len(sim.requests) == to_primary + 15


def _stream_four_times(sim: Simulator, *, is_async: bool, **options: Any) -> list[Exception]:
    """Open four streams one after another; what each raised."""

    async def run_async() -> list[Exception]:
        client = riprap.wrap(make_client("anthropic", sim, is_async=True), **options)
        errors: list[Exception] = []
        try:
            for _ in range(4):
                try:
                    async for _event in await create("anthropic", client, stream=True):
                        pass
                except Exception as error:  # noqa: BLE001 - the caller sorts them
                    errors.append(error)
        finally:
            await client.close()
        return errors

    if is_async:
        return asyncio.run(run_async())
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), **options)
    errors: list[Exception] = []
    for _ in range(4):
        try:
            for _event in create("anthropic", client, stream=True):
                pass
        except Exception as error:  # noqa: BLE001 - the caller sorts them
            errors.append(error)
    return errors


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_streams_trip_and_respect_the_breaker(
    sim: Simulator, clock: FakeClock, *, is_async: bool
) -> None:
    """Failed streams count against the target; an open circuit refuses a stream unsent."""
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    log = EventLog()
    errors = _stream_four_times(
        sim, is_async=is_async, breaker=TRIP, retry=ONCE, clock=clock, hooks=[log], validate=False
    )
    assert [isinstance(e, anthropic.APIStatusError) for e in errors] == [True] * 3 + [False]
    assert isinstance(errors[3], riprap.CircuitOpenError)
    assert len(sim.requests) == 3
    [opened] = log.of(riprap.BreakerChanged)
    assert opened.current is State.OPEN
