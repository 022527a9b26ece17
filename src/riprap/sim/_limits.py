"""Provider-faithful rate limits for the simulator: token buckets and their headers.

Each (provider, model) the simulator sees gets its own buckets, as the providers limit
per model. A bucket refills continuously at its rate up to its size (Anthropic documents
its limits so); a request needs room in every limited bucket at once, or it is refused
with a 429 and a `retry-after` (whole seconds, as Anthropic sends it). What a request
counts, at arrival: one request, its input tokens, and its `max_tokens` of output
(Anthropic: "OTPM is estimated from max_tokens at the beginning of each request and
adjusted at the end"); the unused output is given back when the response is delivered.

"Foreign" traffic, a share of every bucket's refill taken by clients the simulator does
not see, models another application on the same key.

Every response to a limited route carries the limits in its provider's format:
Anthropic ``anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,
remaining,reset}`` (RFC 3339 reset), OpenAI ``x-ratelimit-{limit,remaining,reset}-
{requests,tokens}`` (Go duration reset).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from riprap.sim._wire import Provider

REQUESTS, INPUT, OUTPUT, TOKENS = range(4)


def _positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a positive number, got {value!r}")  # noqa: TRY004 -- the project reports bad values as ValueError
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Bucket:
    """One limit: a rate per minute, and how much of it may be spent at once.

    Attributes:
        per_minute: Units per minute (the number the provider's ``limit`` header states).
        burst: The bucket's size in units; None means a full minute's worth.
    """

    per_minute: float
    burst: float | None = None

    def __post_init__(self) -> None:
        """Validate both numbers."""
        _positive("per_minute", self.per_minute)
        if self.burst is not None:
            _positive("burst", self.burst)

    @property
    def size(self) -> float:
        """Units the bucket holds when full."""
        return self.per_minute if self.burst is None else self.burst

    @property
    def rate(self) -> float:
        """Units per second."""
        return self.per_minute / 60.0


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """The buckets every model gets, and the share of them foreign traffic takes.

    Attributes:
        requests: Requests per minute.
        input_tokens: Input tokens per minute (Anthropic's ITPM).
        output_tokens: Output tokens per minute, counted as ``max_tokens`` on arrival.
        tokens: Input plus output tokens per minute (OpenAI's TPM).
        foreign: Share, 0..1, of every bucket's refill used by traffic the simulator's
            clients do not see (another application on the same key).
    """

    requests: Bucket | None = None
    input_tokens: Bucket | None = None
    output_tokens: Bucket | None = None
    tokens: Bucket | None = None
    foreign: float = 0.0

    def __post_init__(self) -> None:
        """Validate the buckets and the foreign share."""
        for name in ("requests", "input_tokens", "output_tokens", "tokens"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Bucket):
                raise ValueError(f"{name} must be None or a Bucket, got {value!r}")
        if isinstance(self.foreign, bool) or not isinstance(self.foreign, int | float):
            raise ValueError(f"foreign must be a number in 0..1, got {self.foreign!r}")  # noqa: TRY004 -- as above
        if not 0.0 <= self.foreign < 1.0:
            raise ValueError(f"foreign must be a number in 0..1 (1 excluded), got {self.foreign!r}")

    @property
    def buckets(self) -> tuple[Bucket | None, Bucket | None, Bucket | None, Bucket | None]:
        """The buckets in (requests, input, output, combined) order."""
        return (self.requests, self.input_tokens, self.output_tokens, self.tokens)


#: OpenAI counts this much output for a call that sets no max_tokens.
DEFAULT_OPENAI_MAX_TOKENS: Final = 4096


class Buckets:
    """The live buckets of one (provider, model): levels advanced by the simulator's clock."""

    def __init__(self, limits: RateLimits, now: float) -> None:
        """Start every bucket full at `now`."""
        self.limits = limits
        self.levels = [0.0 if b is None else b.size for b in limits.buckets]
        self._updated = now
        # (due time, dimension, units): output reserved as max_tokens and given back when
        # the response is delivered.
        self._credits: list[tuple[float, int, float]] = []

    def advance(self, now: float) -> None:
        """Refill up to `now`, and apply the credits that fell due."""
        while self._credits and self._credits[0][0] <= now:
            due, d, units = heapq.heappop(self._credits)
            self._refill(due)
            bucket = self.limits.buckets[d]
            if bucket is not None:
                self.levels[d] = min(bucket.size, self.levels[d] + units)
        self._refill(now)

    def _refill(self, now: float) -> None:
        elapsed = now - self._updated
        if elapsed <= 0:
            return
        share = 1.0 - self.limits.foreign
        for d, bucket in enumerate(self.limits.buckets):
            if bucket is not None:
                self.levels[d] = min(bucket.size, self.levels[d] + bucket.rate * share * elapsed)
        self._updated = now

    def admit(self, now: float, cost: tuple[float, float, float, float]) -> float:
        """Take `cost` if every bucket has room: 0.0; else the seconds until they would.

        A cost above a bucket's size needs a full bucket and leaves it in debt, so an
        oversized request is slow rather than impossible.
        """
        self.advance(now)
        wait = 0.0
        share = 1.0 - self.limits.foreign
        for d, bucket in enumerate(self.limits.buckets):
            if bucket is None or cost[d] <= 0:
                continue
            short = min(cost[d], bucket.size) - self.levels[d]
            if short > 0:
                wait = max(wait, short / (bucket.rate * share))
        if wait > 0:
            return wait
        for d, bucket in enumerate(self.limits.buckets):
            if bucket is not None:
                self.levels[d] -= cost[d]
        return 0.0

    def credit(self, due: float, output_units: float) -> None:
        """Give back `output_units` of output (and combined) tokens at time `due`."""
        if output_units > 0:
            heapq.heappush(self._credits, (due, OUTPUT, output_units))
            heapq.heappush(self._credits, (due, TOKENS, output_units))

    def headers(self, provider: Provider | None, now_wall: float) -> list[tuple[str, str]]:
        """The rate-limit headers of a response sent now, in `provider`'s format."""
        families = self._families()
        out: list[tuple[str, str]] = []
        if provider == "openai":
            for family, name in (("requests", "requests"), ("tokens", "tokens")):
                if family in families:
                    limit, remaining, reset_in = families[family]
                    out.append((f"x-ratelimit-limit-{name}", str(limit)))
                    out.append((f"x-ratelimit-remaining-{name}", str(remaining)))
                    out.append((f"x-ratelimit-reset-{name}", go_duration(reset_in)))
            return out
        for family in ("requests", "input-tokens", "output-tokens", "tokens"):
            if family in families:
                limit, remaining, reset_in = families[family]
                prefix = f"anthropic-ratelimit-{family}"
                out.append((f"{prefix}-limit", str(limit)))
                out.append((f"{prefix}-remaining", str(remaining)))
                out.append((f"{prefix}-reset", rfc3339(now_wall + reset_in)))
        return out

    def _families(self) -> dict[str, tuple[int, int, float]]:
        """(limit, remaining, seconds to full) per header family name."""
        found: dict[str, tuple[int, int, float]] = {}
        names = ("requests", "input-tokens", "output-tokens", "tokens")
        for d, bucket in enumerate(self.limits.buckets):
            if bucket is not None:
                level = self.levels[d]
                # Time to full at the bucket's own rate, as a server computes it: it cannot
                # know what other clients will send meanwhile.
                to_full = max(0.0, (bucket.size - level) / bucket.rate)
                found[names[d]] = (round(bucket.per_minute), max(0, math.floor(level)), to_full)
        if "tokens" not in found and "input-tokens" in found and "output-tokens" in found:
            # Anthropic's `tokens` family is input and output together.
            i, o = found["input-tokens"], found["output-tokens"]
            found["tokens"] = (i[0] + o[0], i[1] + o[1], max(i[2], o[2]))
        return found


def rfc3339(epoch: float) -> str:
    """`epoch` as an RFC 3339 UTC time with milliseconds (`2025-06-15T15:06:40.250Z`)."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def go_duration(seconds: float) -> str:
    """`seconds` as Go prints a duration, to the millisecond: `250ms`, `1s`, `6m0s`."""
    millis = max(0, round(seconds * 1000))
    if millis < 1000:  # noqa: PLR2004 -- Go switches units at one second
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
