"""The limiter as the call loop uses it, over both backends, on a fake clock.

Every test here runs twice: on the in-process backend and on a real Redis (with the
fake clock's time passed to the Lua script), and must give the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from limiter_support import make_limiter

from riprap.limiter import Limits, Need, RateLimitWaitBeyondDeadlineError, Scope

if TYPE_CHECKING:
    from riprap.testing import FakeClock

__all__ = ["make_limiter"]

SCOPE = Scope.of("anthropic", "claude-sim", api_key="sk-ant-test")
ONE = Need(input_tokens=10, output_tokens=20)
PER_SECOND = Limits(rpm=60, burst_seconds=2, headroom=1.0, jitter=0.0)


def headers(remaining: int, *, limit: int = 60, reset: str | None = None) -> dict[str, str]:
    """Anthropic request-limit headers."""
    out = {
        "anthropic-ratelimit-requests-limit": str(limit),
        "anthropic-ratelimit-requests-remaining": str(remaining),
    }
    if reset is not None:
        out["anthropic-ratelimit-requests-reset"] = reset
    return out


def test_waits_are_slept_on_the_clock(make_limiter: Any, clock: FakeClock) -> None:
    """Past the burst, each acquire sleeps exactly until its slot."""
    limiter = make_limiter(PER_SECOND)
    permits = [limiter.acquire(SCOPE, ONE, deadline_at=clock.now() + 10) for _ in range(4)]
    assert clock.sleeps == [1.0, 1.0]
    assert [p.waited for p in permits] == [0.0, 0.0, 1.0, 1.0]


def test_a_wait_past_the_deadline_fails_at_once(make_limiter: Any, clock: FakeClock) -> None:
    """A wait longer than the deadline raises before sleeping, and reserves nothing."""
    limiter = make_limiter(PER_SECOND)
    for _ in range(2):
        limiter.acquire(SCOPE, ONE, deadline_at=clock.now() + 10)
    with pytest.raises(RateLimitWaitBeyondDeadlineError) as caught:
        limiter.acquire(SCOPE, ONE, deadline_at=clock.now() + 0.5)
    assert (caught.value.wait, caught.value.remaining) == (1.0, 0.5)
    assert caught.value.kind == "rate_limited"
    assert clock.sleeps == []
    limiter.acquire(SCOPE, ONE, deadline_at=clock.now() + 10)
    assert clock.sleeps == [1.0]  # the refused call held no slot


def test_settle_gives_back_unused_output(make_limiter: Any, clock: FakeClock) -> None:
    """A call that used less than max_tokens frees the rest for the next caller at once."""
    limiter = make_limiter(Limits(output_tpm=600, burst_seconds=1, headroom=1.0, jitter=0.0))
    permit = limiter.acquire(SCOPE, Need(input_tokens=0, output_tokens=10), deadline_at=1e9)
    permit.settle(input_tokens=0, output_tokens=4)
    limiter.acquire(SCOPE, Need(input_tokens=0, output_tokens=10), deadline_at=1e9)
    assert clock.sleeps == [pytest.approx(0.4)]


def test_ending_a_permit_twice_does_nothing(make_limiter: Any, clock: FakeClock) -> None:
    """A second settle or refund of the same permit is ignored."""
    limiter = make_limiter(PER_SECOND)
    permit = limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    permit.refund()
    permit.refund()
    permit.settle(input_tokens=1, output_tokens=1)
    assert not permit.open
    for _ in range(2):
        limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    assert clock.sleeps == []


def test_other_traffic_in_the_headers_slows_the_queue(make_limiter: Any, clock: FakeClock) -> None:
    """Headers showing less left than riprap reserved push the next start back."""
    limiter = make_limiter(PER_SECOND)
    permit = limiter.acquire(SCOPE, ONE, deadline_at=1e9)  # riprap: 1 left of 2
    permit.settle(input_tokens=10, output_tokens=20, headers=headers(remaining=0))
    limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    assert clock.sleeps == [2.0]  # the missing one, and a margin of one


def test_a_429_explained_by_headers_does_not_pause(make_limiter: Any, clock: FakeClock) -> None:
    """A 429 whose headers show the exhausted limit is paced by them, not by retry-after."""
    limiter = make_limiter(PER_SECOND)
    permit = limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    permit.rate_limited(retry_after=30.0, headers=headers(remaining=0))
    limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    assert clock.sleeps == [2.0]  # the headers' pace (and a margin), not 30 s


def test_an_unexplained_429_pauses_the_scope(make_limiter: Any, clock: FakeClock) -> None:
    """A 429 with no sign of which limit ran out pauses the scope for its retry-after."""
    limiter = make_limiter(PER_SECOND)
    permit = limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    permit.rate_limited(retry_after=5.0, headers=headers(remaining=2))
    limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    assert clock.sleeps == [5.0]


def test_pause_moves_waiting_callers_back(make_limiter: Any, clock: FakeClock) -> None:
    """A pause while callers are queued holds them until it ends."""
    limiter = make_limiter(PER_SECOND)
    limiter.pause(SCOPE, until=clock.now() + 3.0)
    limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    assert clock.sleeps == [3.0]


def test_a_cold_scope_learns_from_its_first_call(make_limiter: Any, clock: FakeClock) -> None:
    """With no limits configured, one call goes first; its headers set the pace for all."""
    limiter = make_limiter(Limits(headroom=1.0, jitter=0.0), poll_interval=0.25)
    probe = limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    assert probe.probe
    with pytest.raises(RateLimitWaitBeyondDeadlineError, match="learning"):
        limiter.acquire(SCOPE, ONE, deadline_at=clock.now() + 0.6)
    assert clock.sleeps == [0.25, 0.25]  # it asked again twice, then ran out of time
    probe.settle(input_tokens=10, output_tokens=20, headers=headers(remaining=1, limit=60))
    clock.sleeps.clear()
    for _ in range(3):
        assert not limiter.acquire(SCOPE, ONE, deadline_at=1e9).probe
    assert clock.sleeps == [1.0, 1.0]


def test_configured_limits_need_no_learning(make_limiter: Any) -> None:
    """A scope with any configured limit paces at once, without a probe."""
    limiter = make_limiter(Limits(rpm=60))
    assert not limiter.acquire(SCOPE, ONE, deadline_at=1e9).probe
    assert not limiter.acquire(SCOPE, ONE, deadline_at=1e9).probe


def test_scopes_are_independent(make_limiter: Any, clock: FakeClock) -> None:
    """Two models (or two keys) do not share a bucket."""
    limiter = make_limiter(PER_SECOND)
    other = Scope.of("anthropic", "claude-sim", api_key="sk-ant-other")
    for scope in (SCOPE, SCOPE, other, other):
        limiter.acquire(scope, ONE, deadline_at=1e9)
    assert clock.sleeps == []


def test_cancelled_wait_gives_the_slot_back(make_limiter: Any, clock: FakeClock) -> None:
    """A caller interrupted while waiting for its slot does not keep the slot."""
    limiter = make_limiter(PER_SECOND)
    for _ in range(2):
        limiter.acquire(SCOPE, ONE, deadline_at=1e9)

    def interrupted(seconds: float) -> None:
        del seconds
        raise KeyboardInterrupt

    real_sleep = clock.sleep
    clock.sleep = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    clock.sleep = real_sleep  # type: ignore[method-assign]
    limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    assert clock.sleeps == [1.0]


def test_need_from_request_arguments(make_limiter: Any) -> None:
    """`need` estimates the input from the SDK arguments and reserves the output asked for."""
    limiter = make_limiter()
    need = limiter.need({"messages": [{"role": "user", "content": "x" * 400}]}, output_tokens=64)
    assert need.output_tokens == 64
    assert 100 <= need.input_tokens <= 120


@pytest.mark.anyio
async def test_async_acquire_and_settle(make_limiter: Any, clock: FakeClock) -> None:
    """The async shell waits and settles the same way, on `asleep`."""
    limiter = make_limiter(PER_SECOND)
    try:
        permits = [await limiter.aacquire(SCOPE, ONE, deadline_at=1e9) for _ in range(3)]
        await permits[0].asettle(input_tokens=10, output_tokens=20, headers=headers(0))
        await permits[1].afail()
        await permits[2].arate_limited(retry_after=2.0, headers=headers(remaining=5))
        with pytest.raises(RateLimitWaitBeyondDeadlineError):
            await limiter.aacquire(SCOPE, ONE, deadline_at=clock.now() + 0.1)
        await limiter.apause(SCOPE, until=clock.now() + 1.0)
        await limiter.aobserve(SCOPE, headers(3))
    finally:
        await limiter.aclose()
    assert clock.sleeps[0] == 1.0
