"""`riprap.wrap` end to end: real SDK clients, the simulator, and the guarantees users rely on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anthropic
import openai
import pytest

import riprap
from riprap import Kind
from riprap.sim import Reply
from riprap.testing import EventLog
from support import call_once, create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

PROVIDERS = pytest.mark.parametrize("provider", ["anthropic", "openai"])
MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


@PROVIDERS
def test_keeps_the_sdk_return_type(provider: str, sim: Simulator) -> None:
    """The wrapped client returns the SDK's own response type."""
    value, error = call_once(provider, sim, is_async=False, wrap=riprap.wrap)
    assert error is None
    expected = (
        anthropic.types.Message if provider == "anthropic" else openai.types.chat.ChatCompletion
    )
    assert isinstance(value, expected)


@MODES
@PROVIDERS
def test_sdk_retries_are_off(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A client built with max_retries=5 makes exactly max_attempts requests: no multiplying."""
    sim.script(*[Reply(status=500)] * 20)

    def wrap(_client: Any) -> Any:
        client = make_client(provider, sim, is_async=is_async, max_retries=5)
        return riprap.wrap(client, retry=riprap.Retry(max_attempts=3), clock=clock)

    _, error = call_once(provider, sim, is_async=is_async, wrap=wrap)
    assert error is not None
    assert len(sim.requests) == 3


@PROVIDERS
def test_with_options_keeps_sdk_retries_off(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """`with_options(max_retries=…)` on a wrapped client cannot turn the SDK's retries back on."""
    sim.script(*[Reply(status=503)] * 10)
    client = riprap.wrap(
        make_client(provider, sim, is_async=False), clock=clock, retry=riprap.Retry(max_attempts=2)
    )
    with pytest.raises(Exception, match="503"):
        create(provider, client.with_options(max_retries=4))
    assert len(sim.requests) == 2


@MODES
@PROVIDERS
def test_long_retry_after_fails_at_once(provider: str, is_async: bool, sim: Simulator) -> None:
    """A 429 asking for 30 s under a 10 s deadline fails in < 0.1 s, naming both numbers."""
    sim.script(Reply(status=429, headers={"retry-after": "30"}))
    _, error = call_once(
        provider,
        sim,
        is_async=is_async,
        wrap=lambda c: riprap.wrap(c, retry=riprap.Retry(deadline=10.0)),
    )
    assert isinstance(error, riprap.RetryAfterBeyondDeadlineError)
    assert isinstance(error, TimeoutError)
    # Measured by riprap's own (monotonic) clock from the call's start: building the SDK
    # client is not part of the call.
    assert error.report is not None
    assert error.report.elapsed < 0.1
    assert len(sim.requests) == 1
    assert error.retry_after == 30.0
    assert 9.5 < error.remaining <= 10.0
    assert "wait 30s" in str(error)
    assert "10s deadline" in str(error)
    assert error.kind is Kind.RATE_LIMITED
    sdk_error = anthropic.RateLimitError if provider == "anthropic" else openai.RateLimitError
    assert isinstance(error.__cause__, sdk_error)


@MODES
@PROVIDERS
def test_hanging_server_never_holds_a_call_past_its_deadline(
    provider: str, is_async: bool, sim: Simulator
) -> None:
    """Every attempt's timeout is cut to the deadline: a 1 s deadline ends within 1.5 s."""
    sim.script(*[Reply(hang=True)] * 5)
    _, error = call_once(
        provider,
        sim,
        is_async=is_async,
        wrap=lambda c: riprap.wrap(c, retry=riprap.Retry(deadline=1.0)),
    )
    assert isinstance(error, riprap.DeadlineExceededError)
    # The call's own span on the monotonic clock (building and closing the client, which
    # a loaded test machine can make slow, is not part of the call).
    assert error.report is not None
    assert 0.9 <= error.report.elapsed < 1.5
    assert error.kind is Kind.TIMEOUT
    assert "deadline of 1s exceeded" in str(error)


@PROVIDERS
def test_deadline_counts_waits_too(provider: str, sim: Simulator, clock: FakeClock) -> None:
    """Waits and attempts share one deadline; the last wait is cut to leave room for an attempt."""
    sim.script(*[Reply(status=529)] * 20)
    _, error = call_once(
        provider,
        sim,
        is_async=False,
        wrap=lambda c: riprap.wrap(
            c, clock=clock, retry=riprap.Retry(deadline=10.0), random=lambda: 0.99
        ),
    )
    assert isinstance(error, riprap.DeadlineExceededError)
    # Overload backoff at u=0.99: 1.98 s, 3.96 s, then 7.92 s cut to the 3.81 s that
    # leaves 0.25 s for a last attempt; after it nothing is left.
    assert clock.sleeps == pytest.approx([1.98, 3.96, 3.81])
    assert len(sim.requests) == 4


@PROVIDERS
def test_attempt_timeout_scales_with_max_tokens(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """The SDK is handed the scaled per-attempt timeout, not its ten-minute default."""
    sim.script(Reply(delay=0.0))
    log = EventLog()
    client = riprap.wrap(make_client(provider, sim, is_async=False), clock=clock, hooks=[log])
    create(provider, client, max_tokens=64)
    started = log.of(riprap.AttemptStarted)
    assert [e.timeout for e in started] == [pytest.approx(31.8)]


@PROVIDERS
def test_results_form_does_not_raise(provider: str, sim: Simulator, clock: FakeClock) -> None:
    """`riprap.results(client)` returns a typed Result with kind, retryability and request ids."""
    sim.script(Reply(status=529), Reply(status=401))
    client = riprap.wrap(make_client(provider, sim, is_async=False), clock=clock)
    result = create(provider, riprap.results(client))
    assert isinstance(result, riprap.Result)
    assert not result.ok
    assert result.kind is Kind.AUTHENTICATION
    assert not result.retryable
    assert [a.kind for a in result.attempts] == [Kind.OVERLOADED, Kind.AUTHENTICATION]
    assert result.request_ids == ("req_sim_000000", "req_sim_000001")
    with pytest.raises(Exception, match="401"):
        result.unwrap()
    ok = create(provider, riprap.results(client))
    assert ok.ok
    assert ok.usage is not None
    assert ok.usage.output_tokens > 0
    assert ok.unwrap() is ok.value


@PROVIDERS
def test_programming_errors_are_raised_not_retried(provider: str, sim: Simulator) -> None:
    """A bad argument raises the SDK's TypeError at once; nothing is sent."""
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    with pytest.raises(TypeError):
        create(provider, client, not_a_parameter=1)
    with pytest.raises(TypeError):
        create(provider, riprap.results(client), not_a_parameter=1)
    assert sim.requests == ()


@PROVIDERS
def test_with_policy_overrides_per_call(provider: str, sim: Simulator, clock: FakeClock) -> None:
    """`riprap.with_policy` gives a copy with another policy; the original keeps its own."""
    sim.script(*[Reply(status=500)] * 10)
    client = riprap.wrap(make_client(provider, sim, is_async=False), clock=clock)
    strict = riprap.with_policy(client, retry=riprap.Retry(max_attempts=1))
    with pytest.raises(Exception, match="500"):
        create(provider, strict)
    assert len(sim.requests) == 1
    with pytest.raises(Exception, match="500"):
        create(provider, riprap.with_policy(client, retry=riprap.Retry(max_attempts=2)))
    assert len(sim.requests) == 3


@PROVIDERS
def test_events_tell_the_whole_story(provider: str, sim: Simulator, clock: FakeClock) -> None:
    """One attempt event each, one retry event per retry, one call-end event with usage."""
    sim.script(Reply(status=503, headers={"retry-after-ms": "250"}), Reply())
    log = EventLog()
    client = riprap.wrap(
        make_client(provider, sim, is_async=False), clock=clock, hooks=[log], random=lambda: 0.0
    )
    create(provider, client)
    names = [e.name for e in log.events]
    assert names == [
        "riprap.attempt.started",
        "riprap.attempt.ended",
        "riprap.retry.scheduled",
        "riprap.attempt.started",
        "riprap.attempt.ended",
        "riprap.call.ended",
    ]
    first, second = log.of(riprap.AttemptEnded)
    assert (first.kind, first.status, first.request_id) == (
        Kind.SERVER_ERROR,
        503,
        "req_sim_000000",
    )
    assert (second.kind, second.request_id) == (None, "req_sim_000001")
    assert second.output_tokens is not None
    (retry,) = log.of(riprap.RetryScheduled)
    assert (retry.kind, retry.wait, retry.retry_after) == (Kind.SERVER_ERROR, 0.25, 0.25)
    (end,) = log.of(riprap.CallEnded)
    assert end.ok
    assert end.attempts == 2
    assert end.request_ids == ("req_sim_000000", "req_sim_000001")
    assert end.output_tokens is not None
    assert end.output_tokens > 0
    assert len({e.call_id for e in log.events}) == 1


def test_a_failing_hook_does_not_break_the_call(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that raises is logged; the call goes on."""

    def broken(_event: riprap.Event) -> None:
        raise RuntimeError("hook bug")

    client = riprap.wrap(make_client("anthropic", sim, is_async=False), hooks=[broken])
    assert create("anthropic", client).content
    assert "hook bug" in caplog.text


def test_retry_budget_limits_retries_in_an_outage(sim: Simulator, clock: FakeClock) -> None:
    """In a full outage, 40 calls make at most 40 + 0.5*40 + 10 attempts, not 40 * 8."""
    sim.script(*[Reply(status=503)] * 1000)
    client = riprap.wrap(
        make_client("anthropic", sim, is_async=False), clock=clock, random=lambda: 0.0
    )
    stops = []
    for _ in range(40):
        with pytest.raises(anthropic.InternalServerError) as info:
            create("anthropic", client)
        report = riprap.report_of(info.value)
        assert report is not None
        stops.append(report.stop)
    assert len(sim.requests) == 40 + 20 + 10
    # The reserve (10 retries) lets the first call use all 8 attempts; from then on the
    # budget, not max_attempts, ends every call.
    assert stops[0] is riprap.Stop.MAX_ATTEMPTS
    assert set(stops[2:]) == {riprap.Stop.RETRY_BUDGET}


def test_unsupported_client_is_named() -> None:
    """wrap() of something else raises UnsupportedClientError naming its type."""
    with pytest.raises(riprap.UnsupportedClientError, match=r"builtins\.object is not a supported"):
        riprap.wrap(object())


def test_wrapping_twice_does_not_double_retries(sim: Simulator, clock: FakeClock) -> None:
    """wrap(wrap(c)) wraps the SDK client once."""
    sim.script(*[Reply(status=500)] * 10)
    inner = riprap.wrap(make_client("openai", sim, is_async=False), clock=clock)
    client = riprap.wrap(inner, clock=clock, retry=riprap.Retry(max_attempts=2))
    with pytest.raises(openai.InternalServerError):
        create("openai", client)
    assert len(sim.requests) == 2


def test_other_attributes_pass_through(sim: Simulator) -> None:
    """Everything riprap does not wrap is the SDK's own object."""
    raw = make_client("anthropic", sim, is_async=False)
    client = riprap.wrap(raw)
    assert client.base_url == raw.base_url
    assert "ANTHROPIC" not in repr(client)
    assert "riprap.wrap(Anthropic)" in repr(client)


@PROVIDERS
def test_methods_riprap_does_not_wrap_keep_the_sdks_own_retries(
    provider: str, sim: Simulator
) -> None:
    """An unwrapped method (models.list) behaves as before wrap: the SDK retries it itself."""
    sim.script(Reply(status=500), Reply())
    raw = make_client(provider, sim, is_async=False, max_retries=1)
    client = riprap.wrap(raw)
    client.models.list()
    assert len(sim.requests) == 2
    assert client.models is raw.models
