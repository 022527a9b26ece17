"""The simulator's rate limits: token buckets per model, headers, 429s, foreign traffic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anthropic
import openai
import pytest

from riprap.sim import Bucket, RateLimits, Scenario, Simulator
from riprap.sim._limits import Buckets, go_duration, rfc3339
from riprap.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

HELLO: list[Any] = [{"role": "user", "content": "Hello"}]  # 9 input tokens in the simulator


@pytest.fixture
def fake() -> FakeClock:
    """The simulator's clock: buckets refill only when the test advances it."""
    return FakeClock(start=100.0, wall_start=1_750_000_000.0)


def limited(fake: FakeClock, limits: RateLimits) -> Simulator:
    """A simulator on the fake clock with `limits` for every model."""
    return Simulator(scenario=Scenario(rate_limits=limits), clock=fake.now, wall_clock=fake.wall)


@pytest.fixture
def claude_on(fake: FakeClock) -> Iterator[Any]:
    """Starts a limited simulator and yields an Anthropic client for it."""
    made: list[Any] = []

    def start(limits: RateLimits) -> tuple[Simulator, anthropic.Anthropic]:
        sim = limited(fake, limits)
        sim.start()
        client = anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0)
        made.append((sim, client))
        return sim, client

    yield start
    for sim, client in made:
        client.close()
        sim.close()


def test_bucket_admits_refills_and_refuses() -> None:
    """A request needs room in every bucket; refusals say how long until there is."""
    buckets = Buckets(RateLimits(requests=Bucket(per_minute=60, burst=2)), now=0.0)
    assert buckets.admit(0.0, (1, 0, 0, 0)) == 0.0
    assert buckets.admit(0.0, (1, 0, 0, 0)) == 0.0
    assert buckets.admit(0.0, (1, 0, 0, 0)) == 1.0
    assert buckets.admit(0.5, (1, 0, 0, 0)) == 0.5
    assert buckets.admit(1.0, (1, 0, 0, 0)) == 0.0


def test_all_or_nothing() -> None:
    """A request refused by one bucket takes nothing from the others."""
    limits = RateLimits(
        requests=Bucket(per_minute=60, burst=5), input_tokens=Bucket(per_minute=600, burst=10)
    )
    buckets = Buckets(limits, now=0.0)
    assert buckets.admit(0.0, (1, 20, 0, 20)) == 0.0  # oversized: from a full bucket, into debt
    assert buckets.admit(0.0, (1, 5, 0, 5)) == pytest.approx(1.5)
    assert buckets.levels[0] == 4.0


def test_output_is_counted_as_max_tokens_until_delivered() -> None:
    """max_tokens is taken on arrival; what was not produced comes back at delivery."""
    buckets = Buckets(RateLimits(output_tokens=Bucket(per_minute=60, burst=100)), now=0.0)
    buckets.admit(0.0, (1, 0, 80, 80))
    buckets.credit(2.0, 70)
    buckets.advance(1.0)
    assert buckets.levels[2] == pytest.approx(21.0)
    buckets.advance(2.0)
    assert buckets.levels[2] == pytest.approx(92.0)


def test_foreign_traffic_takes_its_share_of_the_refill() -> None:
    """With 30 % foreign traffic, the simulator's clients get 70 % of every refill."""
    limits = RateLimits(requests=Bucket(per_minute=60, burst=10), foreign=0.3)
    buckets = Buckets(limits, now=0.0)
    for _ in range(10):
        buckets.admit(0.0, (1, 0, 0, 0))
    buckets.advance(10.0)
    assert buckets.levels[0] == pytest.approx(7.0)


def test_anthropic_429_with_headers(claude_on: Any, fake: FakeClock) -> None:
    """Over the limit: a 429 with a whole-second retry-after and the limits in headers."""
    sim, client = claude_on(RateLimits(requests=Bucket(per_minute=60, burst=2)))
    for _ in range(2):
        client.messages.create(model="claude-sim", max_tokens=8, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model="claude-sim", max_tokens=8, messages=HELLO)
    headers = caught.value.response.headers
    assert headers["retry-after"] == "1"
    assert headers["anthropic-ratelimit-requests-limit"] == "60"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-requests-reset"] == "2025-06-15T15:06:42.000Z"
    fake.advance(1.0)
    client.messages.create(model="claude-sim", max_tokens=8, messages=HELLO)
    assert [r.reply.status for r in sim.requests] == [200, 200, 429, 200]


def test_anthropic_success_headers(claude_on: Any) -> None:
    """Every limited response carries requests, input, output and (their sum) tokens."""
    limits = RateLimits(
        requests=Bucket(per_minute=50),
        input_tokens=Bucket(per_minute=40_000),
        output_tokens=Bucket(per_minute=8_000),
    )
    _, client = claude_on(limits)
    raw = client.messages.with_raw_response.create(
        model="claude-sim", max_tokens=100, messages=HELLO
    )
    message = raw.parse()
    headers = raw.headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "49"
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == str(40_000 - 9)
    # max_tokens was taken on arrival and the unused part given back on delivery; the
    # headers are rendered in between, so they show max_tokens counted.
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == str(8_000 - 100)
    assert headers["anthropic-ratelimit-tokens-limit"] == "48000"
    assert message.usage.input_tokens == 9


def test_openai_headers_and_combined_tokens(fake: FakeClock) -> None:
    """OpenAI responses carry requests and tokens, resets as Go durations."""
    limits = RateLimits(requests=Bucket(per_minute=60, burst=5), tokens=Bucket(per_minute=6000))
    with (
        limited(fake, limits) as sim,
        openai.OpenAI(api_key="k", base_url=sim.base_url + "/v1", max_retries=0) as client,
    ):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-sim", max_tokens=91, messages=HELLO
        )
    headers = raw.headers
    assert headers["x-ratelimit-limit-requests"] == "60"
    assert headers["x-ratelimit-remaining-requests"] == "4"
    assert headers["x-ratelimit-reset-requests"] == "1s"
    assert headers["x-ratelimit-remaining-tokens"] == str(6000 - 100)
    assert headers["x-ratelimit-reset-tokens"] == "1s"


def test_models_have_their_own_buckets(claude_on: Any) -> None:
    """One model's traffic does not use another's limits."""
    _, client = claude_on(RateLimits(requests=Bucket(per_minute=60, burst=1)))
    client.messages.create(model="claude-a", max_tokens=8, messages=HELLO)
    client.messages.create(model="claude-b", max_tokens=8, messages=HELLO)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model="claude-a", max_tokens=8, messages=HELLO)


def test_reset_refills_every_bucket(claude_on: Any) -> None:
    """`reset()` forgets the buckets with the rest of the simulator's state."""
    sim, client = claude_on(RateLimits(requests=Bucket(per_minute=60, burst=1)))
    client.messages.create(model="claude-sim", max_tokens=8, messages=HELLO)
    sim.reset()
    client.messages.create(model="claude-sim", max_tokens=8, messages=HELLO)


def test_no_limits_no_headers(claude_on: Any) -> None:
    """Without `rate_limits`, responses carry no rate-limit headers (as before)."""
    _, client = claude_on(RateLimits())
    raw = client.messages.with_raw_response.create(model="claude-sim", max_tokens=8, messages=HELLO)
    assert not [h for h in raw.headers if "ratelimit" in h]


def test_token_counting_is_not_limited(claude_on: Any) -> None:
    """The token-counting endpoint has limits of its own: it never draws on these."""
    _, client = claude_on(RateLimits(requests=Bucket(per_minute=60, burst=1)))
    for _ in range(3):
        client.messages.count_tokens(model="claude-sim", messages=HELLO)
    client.messages.create(model="claude-sim", max_tokens=8, messages=HELLO)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0ms"), (0.0124, "12ms"), (1.0, "1s"), (17.28, "17.28s"), (360.0, "6m0s"),
     (3723.5, "1h2m3.5s")],
)  # fmt: skip
def test_go_duration_format(seconds: float, text: str) -> None:
    """Resets are written as Go prints durations, to the millisecond."""
    assert go_duration(seconds) == text


def test_rfc3339_format() -> None:
    """Anthropic resets are UTC RFC 3339 times with milliseconds."""
    assert rfc3339(1_750_000_000.25) == "2025-06-15T15:06:40.250Z"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Bucket(per_minute=0), "per_minute"),
        (lambda: Bucket(per_minute=60, burst=-1), "burst"),
        (lambda: RateLimits(foreign=1.0), "foreign"),
        (lambda: RateLimits(requests=60), "requests"),  # type: ignore[arg-type]
        (lambda: Scenario(rate_limits={"rpm": 60}), "rate_limits"),  # type: ignore[arg-type]
    ],
)
def test_bad_limits_are_refused(make: Any, match: str) -> None:
    """Rate-limit config is validated where it is written."""
    with pytest.raises(ValueError, match=match):
        make()
