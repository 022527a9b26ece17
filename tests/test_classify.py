"""Every row of the failure taxonomy, for both SDKs, sync and async, over the wire.

Each test scripts the simulator with one failure then a success, and checks what riprap
made of it: the kind, and whether it tried again (exactly one attempt when it must not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anthropic
import openai
import pytest

import riprap
from riprap import Kind
from riprap.sim import Reply
from support import call_once

if TYPE_CHECKING:
    from collections.abc import Callable

    from riprap.sim import Simulator
    from riprap.testing import FakeClock

PROVIDERS = ("anthropic", "openai")
PROVIDERS_PARAM = pytest.mark.parametrize("provider", PROVIDERS)
MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


@dataclass(frozen=True)
class Row:
    """One taxonomy row: what the server does, what riprap must call it, and whether to retry."""

    name: str
    reply: Callable[[str], Reply]
    kind: Kind
    retried: bool


def same(reply: Reply) -> Callable[[str], Reply]:
    """The same reply for both providers."""
    return lambda _provider: reply


def per_provider(anthropic_reply: Reply, openai_reply: Reply) -> Callable[[str], Reply]:
    """A reply in each provider's own words."""
    return lambda provider: anthropic_reply if provider == "anthropic" else openai_reply


ROWS = [
    Row("400", same(Reply(status=400)), Kind.INVALID_REQUEST, retried=False),
    Row("422", same(Reply(status=422)), Kind.INVALID_REQUEST, retried=False),
    Row(
        "400-context-overflow",
        per_provider(
            Reply(status=400, message="prompt is too long: 210000 tokens > 200000 maximum"),
            Reply(status=400, error_code="context_length_exceeded"),
        ),
        Kind.CONTEXT_OVERFLOW,
        retried=False,
    ),
    Row("413", same(Reply(status=413)), Kind.CONTEXT_OVERFLOW, retried=False),
    Row("401", same(Reply(status=401)), Kind.AUTHENTICATION, retried=False),
    Row("402", same(Reply(status=402)), Kind.QUOTA_EXHAUSTED, retried=False),
    Row(
        "429-billing",
        per_provider(
            Reply(status=429, error_code="enforced_spend_limit_reached"),
            Reply(status=429, error_code="insufficient_quota"),
        ),
        Kind.QUOTA_EXHAUSTED,
        retried=False,
    ),
    Row(
        "429-billing-despite-should-retry",
        per_provider(
            Reply(
                status=429,
                error_code="contract_spend_limit_reached",
                headers={"x-should-retry": "true"},
            ),
            Reply(status=429, error_code="insufficient_quota", headers={"x-should-retry": "true"}),
        ),
        Kind.QUOTA_EXHAUSTED,
        retried=False,
    ),
    Row(
        "400-context-limit",
        per_provider(
            Reply(
                status=400,
                message="input length and `max_tokens` exceed context limit: "
                "199000 + 8192 > 200000, decrease input length or `max_tokens` and try again",
            ),
            Reply(status=400, error_code="context_length_exceeded"),
        ),
        Kind.CONTEXT_OVERFLOW,
        retried=False,
    ),
    Row(
        "400-credit-balance",
        per_provider(
            Reply(
                status=400,
                message="Your credit balance is too low to access the Anthropic API. "
                "Please go to Plans & Billing to upgrade or purchase credits.",
            ),
            Reply(status=429, error_code="insufficient_quota"),
        ),
        Kind.QUOTA_EXHAUSTED,
        retried=False,
    ),
    Row("403", same(Reply(status=403)), Kind.PERMISSION, retried=False),
    Row("404", same(Reply(status=404)), Kind.NOT_FOUND, retried=False),
    Row("429", same(Reply(status=429)), Kind.RATE_LIMITED, retried=True),
    Row("529", same(Reply(status=529)), Kind.OVERLOADED, retried=True),
    Row("500", same(Reply(status=500)), Kind.SERVER_ERROR, retried=True),
    Row("502", same(Reply(status=502)), Kind.SERVER_ERROR, retried=True),
    Row("503", same(Reply(status=503)), Kind.SERVER_ERROR, retried=True),
    Row("504", same(Reply(status=504)), Kind.SERVER_ERROR, retried=True),
    Row("408", same(Reply(status=408)), Kind.REQUEST_TIMEOUT, retried=True),
    Row("409", same(Reply(status=409)), Kind.CONFLICT, retried=True),
    Row("reset", same(Reply(disconnect="reset")), Kind.CONNECTION, retried=True),
    Row("close", same(Reply(disconnect="close")), Kind.CONNECTION, retried=True),
    Row("hang", same(Reply(hang=True)), Kind.TIMEOUT, retried=True),
    Row("bad-json", same(Reply(body="{not json")), Kind.RESPONSE_INVALID, retried=True),
    Row(
        "html-200",
        same(Reply(body="<html>captive portal</html>", content_type="text/html")),
        Kind.RESPONSE_INVALID,
        retried=True,
    ),
    Row(
        "html-502",
        same(Reply(status=502, body="<html>bad gateway</html>", content_type="text/html")),
        Kind.SERVER_ERROR,
        retried=True,
    ),
    Row(
        "500-should-retry-false",
        same(Reply(status=500, headers={"x-should-retry": "false"})),
        Kind.SERVER_ERROR,
        retried=False,
    ),
    Row(
        "400-should-retry-true",
        same(Reply(status=400, headers={"x-should-retry": "true"})),
        Kind.INVALID_REQUEST,
        retried=True,
    ),
]


def wrapper(clock: FakeClock, *, attempt: float = 5.0) -> Callable[[Any], Any]:
    """riprap.wrap with a fake clock (instant backoff) and a real attempt timeout.

    Long enough that a loaded CI machine never turns a slow answer into a timeout (which
    would be retried and hide the row under test); the hang row sets a short one.
    """
    return lambda client: riprap.wrap(
        client, clock=clock, timeouts=riprap.Timeouts(attempt=attempt), random=lambda: 0.5
    )


@MODES
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_taxonomy_row(
    row: Row, provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """The failure is classified as the table says, and retried only if the table says so."""
    sim.script(row.reply(provider), Reply())
    attempt = 0.5 if row.name == "hang" else 5.0
    value, error = call_once(provider, sim, is_async=is_async, wrap=wrapper(clock, attempt=attempt))
    if row.retried:
        assert error is None, f"expected a retry to succeed, got {error!r}"
        report = riprap.last_report() if not is_async else None
        assert len(sim.requests) == 2
        assert value is not None
        if report is not None:
            assert [a.kind for a in report.attempts] == [row.kind, None]
    else:
        assert error is not None
        report = riprap.report_of(error)
        assert report is not None
        assert [a.kind for a in report.attempts] == [row.kind]
        assert len(sim.requests) == 1
        assert report.stop is riprap.Stop.NOT_RETRYABLE


@MODES
@pytest.mark.parametrize("provider", PROVIDERS)
def test_final_error_is_the_providers_own(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """`except anthropic.RateLimitError` keeps working: the SDK's own error, with history."""
    policy = riprap.Retry(max_attempts=3)
    sim.script(*[Reply(status=429)] * 3)
    _, error = call_once(
        provider,
        sim,
        is_async=is_async,
        wrap=lambda c: riprap.wrap(c, clock=clock, retry=policy, random=lambda: 0.5),
    )
    sdk_error = anthropic.RateLimitError if provider == "anthropic" else openai.RateLimitError
    assert isinstance(error, sdk_error)
    report = riprap.report_of(error)
    assert report is not None
    assert report.stop is riprap.Stop.MAX_ATTEMPTS
    assert [a.kind for a in report.attempts] == [Kind.RATE_LIMITED] * 3
    assert report.request_ids == ("req_sim_000000", "req_sim_000001", "req_sim_000002")
    assert any("riprap: call" in note for note in error.__notes__)
    # Backoff for a 429 without retry-after: base 1 s, full jitter at u=0.5.
    assert clock.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_after_headers_are_honoured(provider: str, sim: Simulator, clock: FakeClock) -> None:
    """retry-after-ms, seconds and HTTP-date each set the wait (plus a little jitter)."""
    sim.script(
        Reply(status=429, headers={"retry-after-ms": "1500"}),
        Reply(status=529, headers={"retry-after": "3"}),
        Reply(status=503, headers={"retry-after": "Sun, 15 Jun 2025 15:07:25 GMT"}),
        Reply(),
    )
    _, error = call_once(
        provider,
        sim,
        is_async=False,
        wrap=lambda c: riprap.wrap(c, clock=clock, random=lambda: 0.0),
    )
    assert error is None
    # FakeClock's wall clock starts at 1_750_000_000 (15:06:40 GMT); the date is 45 s later
    # than that, less the 1.5 + 3 s already waited.
    assert clock.sleeps == [1.5, 3.0, 40.5]


@MODES
@PROVIDERS_PARAM
def test_unparseable_bodies_are_retried_once(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Two bad bodies in a row end the call: a garbled endpoint is broken, not unlucky."""
    sim.script(
        Reply(body="<html>portal</html>", content_type="text/html"),
        Reply(body="{not json"),
        Reply(),
    )
    _, error = call_once(provider, sim, is_async=is_async, wrap=wrapper(clock))
    assert error is not None
    report = riprap.report_of(error)
    assert report is not None
    assert [a.kind for a in report.attempts] == [Kind.RESPONSE_INVALID] * 2
    assert report.stop is riprap.Stop.MAX_ATTEMPTS
    assert len(sim.requests) == 2
