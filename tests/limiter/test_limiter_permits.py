"""Every limiter permit a call takes is ended, on every way out, with the right charge.

Real SDK clients against the simulator, the limiter on a fake clock. A permit left open
holds its reservation; a cold scope's first call (its probe) left open holds every
other caller of the scope back for `PROBE_TIMEOUT`, which is what these tests look for.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

import riprap
from riprap import Limiter, Limits
from riprap._report import Stop
from riprap.limiter import MemoryBackend, Scope
from riprap.limiter._config import TOKENS
from riprap.observe import AttemptStarted, CallEnded, LimiterWaited
from riprap.sim import Reply, Simulator
from riprap.testing import EventLog, FakeClock
from support import ANTHROPIC_KEY, OPENAI_KEY, create, make_client

PROVIDERS = ("anthropic", "openai")
MODEL = {"anthropic": "claude-sim", "openai": "gpt-sim"}
KEY = {"anthropic": ANTHROPIC_KEY, "openai": OPENAI_KEY}


def _interrupt_first_attempt(event: object) -> None:
    """A hook that stops the process at the first attempt (as Ctrl-C would, mid-call)."""
    if isinstance(event, AttemptStarted) and event.attempt == 1:
        raise KeyboardInterrupt


class _Once:
    """Interrupts the first attempt of the client's first call only."""

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, event: object) -> None:
        if not self.fired and isinstance(event, AttemptStarted):
            self.fired = True
            _interrupt_first_attempt(event)


async def _received(sim: Simulator) -> None:
    """Return once the simulator (in its own thread) has read a request."""
    while not sim.requests:  # noqa: ASYNC110 - another thread's list: nothing to await
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_interrupted_while_opening_ends_its_permit(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """Ctrl-C while a cold scope's first stream opens: the next call goes at once.

    Left open, the interrupted stream's permit would stay the scope's probe, and the next
    call would wait `PROBE_TIMEOUT` (10 s) for an answer that never comes.
    """
    log = EventLog()
    client = riprap.wrap(
        make_client(provider, sim, is_async=False),
        limiter=Limiter(clock=clock),
        clock=clock,
        hooks=[_Once(), log],
    )
    with pytest.raises(KeyboardInterrupt):
        create(provider, client, stream=True)
    create(provider, client)
    assert log.of(LimiterWaited) == []
    assert len(sim.requests) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_async_stream_cancelled_while_opening_ends_its_permit(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """A task cancelled while its stream waits for headers: the next call goes at once."""
    sim.script(Reply(hang=True), Reply())
    log = EventLog()

    async def go() -> None:
        client = riprap.wrap(
            make_client(provider, sim, is_async=True),
            limiter=Limiter(clock=clock),
            clock=clock,
            hooks=[log],
        )
        try:
            opening = asyncio.ensure_future(create(provider, client, stream=True))
            await _received(sim)  # the provider has the request and hangs
            opening.cancel()
            with pytest.raises(asyncio.CancelledError):
                await opening
            await create(provider, client)
        finally:
            await client.close()

    asyncio.run(go())
    assert log.of(LimiterWaited) == []
    assert len(sim.requests) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_async_call_cancelled_in_flight_ends_its_permit(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """The same for a plain call: cancelled mid-request, its probe is given up."""
    sim.script(Reply(hang=True), Reply())
    log = EventLog()

    async def go() -> None:
        client = riprap.wrap(
            make_client(provider, sim, is_async=True),
            limiter=Limiter(clock=clock),
            clock=clock,
            hooks=[log],
        )
        try:
            calling = asyncio.ensure_future(create(provider, client))
            await _received(sim)
            calling.cancel()
            with pytest.raises(asyncio.CancelledError):
                await calling
            await create(provider, client)
        finally:
            await client.close()

    asyncio.run(go())
    assert log.of(LimiterWaited) == []


def _tokens_charged(limiter: Limiter, provider: str, since: float) -> float:
    """Tokens the scope's combined-token bucket holds for calls since `since` (no refill)."""
    assert isinstance(limiter.backend, MemoryBackend)
    scope = Scope.of(provider, MODEL[provider], api_key=KEY[provider])
    state = limiter.backend.state(scope.key())
    tat = state.tat[TOKENS]
    assert tat is not None
    return (tat - since) * 100.0  # 6,000 tokens a minute: 100 a second


def test_a_stream_that_reports_no_usage_keeps_its_reservation(
    sim: Simulator, clock: FakeClock
) -> None:
    """An OpenAI stream without `include_usage` says nothing of its tokens: the estimate stays.

    Settling it as zero tokens would hand the whole reservation back, and every such
    stream would then go unpaced by the token limit.
    """
    limiter = Limiter(limits=Limits(tpm=6000, burst_seconds=10, headroom=1.0, jitter=0.0))
    limiter.clock = clock
    client = riprap.wrap(make_client("openai", sim, is_async=False), limiter=limiter, clock=clock)
    request: dict[str, Any] = {
        "model": MODEL["openai"],
        "max_tokens": 90,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    start = clock.now()
    for _ in create("openai", client, stream=True, max_tokens=90):
        pass
    need = limiter.need(request, output_tokens=90)
    assert _tokens_charged(limiter, "openai", start) == pytest.approx(
        need.input_tokens + need.output_tokens
    )


def test_a_stream_that_reports_usage_is_charged_what_it_used(
    sim: Simulator, clock: FakeClock
) -> None:
    """With `include_usage` the stream's own counts are charged, as for a plain call."""
    sim.script(Reply(usage=(7, 11)))
    limiter = Limiter(limits=Limits(tpm=6000, burst_seconds=10, headroom=1.0, jitter=0.0))
    limiter.clock = clock
    client = riprap.wrap(make_client("openai", sim, is_async=False), limiter=limiter, clock=clock)
    start = clock.now()
    stream = create(
        "openai", client, stream=True, max_tokens=90, stream_options={"include_usage": True}
    )
    for _ in stream:
        pass
    assert _tokens_charged(limiter, "openai", start) == pytest.approx(7 + 11)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_dropped_unread_ends_its_permit(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """A stream opened and then dropped without reading or closing: the next call goes at once."""
    log = EventLog()
    client = riprap.wrap(
        make_client(provider, sim, is_async=False),
        limiter=Limiter(clock=clock),
        clock=clock,
        hooks=[log],
    )
    stream = create(provider, client, stream=True)
    del stream
    gc.collect()
    create(provider, client)
    assert log.of(LimiterWaited) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_async_stream_dropped_unread_ends_its_permit(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """The same for an async stream: its books are settled on its event loop."""
    log = EventLog()

    async def go() -> None:
        client = riprap.wrap(
            make_client(provider, sim, is_async=True),
            limiter=Limiter(clock=clock),
            clock=clock,
            hooks=[log],
        )
        try:
            stream = await create(provider, client, stream=True)
            del stream
            gc.collect()
            assert [e.stop for e in log.of(CallEnded)] == [Stop.CANCELLED]
            for _ in range(3):  # the settlement is a task on the loop: let it run
                await asyncio.sleep(0)
            await create(provider, client)
        finally:
            await client.close()

    asyncio.run(go())
    assert log.of(LimiterWaited) == []
