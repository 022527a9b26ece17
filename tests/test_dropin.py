"""The wrapped client stands in for the SDK client: timeouts, copies, subclasses, headers."""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2
import openai
import pytest

import riprap
from riprap.providers import adapter_for
from riprap.sim import Reply
from riprap.testing import EventLog
from support import ANTHROPIC_KEY, create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

PROVIDERS = pytest.mark.parametrize("provider", ["anthropic", "openai"])


def timeouts_seen(provider: str, client: Any, **overrides: Any) -> list[float]:
    """The attempt limits riprap chose for one call with `overrides`."""
    log = EventLog()
    create(provider, riprap.wrap(client, hooks=[log]), **overrides)
    return [e.timeout for e in log.of(riprap.AttemptStarted)]


@PROVIDERS
def test_sdk_sentinels_mean_not_given(provider: str, sim: Simulator) -> None:
    """`timeout=NOT_GIVEN` (what wrappers pass through) leaves the limit to riprap."""
    sentinel = anthropic.NOT_GIVEN if provider == "anthropic" else openai.NOT_GIVEN
    client = make_client(provider, sim, is_async=False)
    assert timeouts_seen(provider, client, timeout=sentinel) == [pytest.approx(30.9)]


@PROVIDERS
def test_a_timeout_object_sets_the_limit(provider: str, sim: Simulator) -> None:
    """`timeout=Timeout(900)` allows 900 s per attempt, whatever max_tokens says."""
    client = make_client(provider, sim, is_async=False)
    assert timeouts_seen(provider, client, timeout=httpx2.Timeout(900)) == [900.0]


@PROVIDERS
def test_a_client_timeout_is_honoured(provider: str, sim: Simulator) -> None:
    """A client built with timeout=5 keeps 5 s attempts; riprap does not replace it."""
    client = make_client(provider, sim, is_async=False, timeout=5.0)
    assert timeouts_seen(provider, client) == [5.0]


def test_long_non_streaming_anthropic_call_is_refused_as_the_sdk_would(sim: Simulator) -> None:
    """max_tokens=64000 without streaming raises the SDK's ValueError; nothing is sent."""
    client = riprap.wrap(make_client("anthropic", sim, is_async=False))
    with pytest.raises(ValueError, match="Streaming is required"):
        create("anthropic", client, max_tokens=64_000)
    assert sim.requests == ()


@PROVIDERS
def test_retries_carry_the_retry_count_header(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """Each retry tells the provider its number, merged with the caller's own headers."""
    sim.script(Reply(status=500), Reply(status=500), Reply())
    client = riprap.wrap(make_client(provider, sim, is_async=False), clock=clock)
    create(provider, client, extra_headers={"x-mine": "1"})
    assert [r.headers.get("x-stainless-retry-count") for r in sim.requests] == ["0", "1", "2"]
    assert all(r.headers["x-mine"] == "1" for r in sim.requests)


def test_isinstance_copy_and_introspection_work(sim: Simulator) -> None:
    """isinstance, copy.copy and the endpoint's name and doc match the SDK's."""
    raw = make_client("anthropic", sim, is_async=False)
    client = riprap.wrap(raw)
    assert isinstance(client, anthropic.Anthropic)
    assert copy.copy(client) is not None
    assert client.messages.create.__name__ == "create"
    assert client.messages.create.__doc__ == raw.messages.create.__doc__


def test_a_subclass_of_an_sdk_client_is_supported(sim: Simulator) -> None:
    """Users' own subclasses of the SDK clients are wrapped like the SDK's."""

    class MyClient(anthropic.Anthropic):
        pass

    client = MyClient(api_key=ANTHROPIC_KEY, base_url=sim.base_url)
    assert adapter_for(client).name == "anthropic"
    assert create("anthropic", riprap.wrap(client)).content
    client.close()


def test_with_policy_can_turn_the_budget_off(sim: Simulator, clock: FakeClock) -> None:
    """A policy with budget=None is not limited by the original client's budget."""
    sim.script(*[Reply(status=503)] * 200)
    tight = riprap.Retry(max_attempts=3, budget=riprap.RetryBudget(ratio=0.0, min_per_second=0.0))
    client = riprap.wrap(make_client("openai", sim, is_async=False), clock=clock, retry=tight)
    with pytest.raises(openai.InternalServerError):
        create("openai", client)
    assert len(sim.requests) == 1
    free = riprap.with_policy(client, retry=riprap.Retry(max_attempts=3, budget=None))
    with pytest.raises(openai.InternalServerError):
        create("openai", free)
    assert len(sim.requests) == 4


def test_rotated_key_is_scrubbed_too(sim: Simulator, clock: FakeClock) -> None:
    """A key set through with_options after wrap is removed from errors as well."""
    new_key = "sk-ant-ROTATED-5a5a5a5a5a5a"
    sim.script(Reply(status=401, message=f"Incorrect API key provided: {new_key}"))
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), clock=clock)
    with pytest.raises(anthropic.AuthenticationError) as info:
        create("anthropic", client.with_options(api_key=new_key))
    assert new_key not in str(info.value) + repr(info.value.body)


def test_cancelled_call_still_ends(sim: Simulator) -> None:
    """A task cancelled mid-call emits CallEnded with stop=cancelled; nothing is lost."""
    sim.script(Reply(hang=True))
    log = EventLog()

    async def go() -> None:
        client = riprap.wrap(make_client("anthropic", sim, is_async=True), hooks=[log])
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(create("anthropic", client), timeout=0.2)
        finally:
            await client.close()

    asyncio.run(go())
    (end,) = log.of(riprap.CallEnded)
    assert end.stop is riprap.Stop.CANCELLED
    assert not end.ok


def test_failures_wrapped_by_middleware_are_classified_through_their_cause(
    sim: Simulator,
) -> None:
    """An error whose __cause__ is an API failure is that failure, as the SDKs see it."""
    adapter = adapter_for(make_client("anthropic", sim, is_async=False))
    request = httpx2.Request("POST", f"{sim.base_url}/v1/messages")
    inner = anthropic.APIConnectionError(request=request)
    outer = RuntimeError("middleware wrapped it")
    outer.__cause__ = inner
    failure = adapter.classify(outer, now_epoch=0.0)
    assert failure is not None
    assert failure.kind is riprap.Kind.CONNECTION
    assert adapter.classify(RuntimeError("unrelated"), now_epoch=0.0) is None


@PROVIDERS
def test_raw_transport_errors_are_classified(provider: str, sim: Simulator) -> None:
    """httpx2 errors that escape the SDK (a streamed error body cut mid-way) are not lost."""
    adapter = adapter_for(make_client(provider, sim, is_async=False))
    cut = adapter.classify(httpx2.RemoteProtocolError("peer closed connection"), now_epoch=0.0)
    slow = adapter.classify(httpx2.ReadTimeout("timed out"), now_epoch=0.0)
    assert cut is not None
    assert cut.kind is riprap.Kind.CONNECTION
    assert slow is not None
    assert slow.kind is riprap.Kind.TIMEOUT
