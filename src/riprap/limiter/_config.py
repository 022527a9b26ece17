"""What the limiter is told: the limits of a scope, the scope itself, and one call's need.

Every default lives here, with the reason for its number.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Final

from riprap.errors import ConfigError

#: The four dimensions a provider limits, in the order every vector in the limiter uses.
DIMENSIONS: Final = ("requests", "input_tokens", "output_tokens", "tokens")
REQUESTS, INPUT, OUTPUT, TOKENS = range(4)

#: Seconds per "per minute": every provider states its limits per minute.
MINUTE: Final = 60.0


def _check(condition: bool, name: str, value: object, want: str) -> None:  # noqa: FBT001
    if not condition:
        raise ConfigError(f"Limits.{name}: {value!r} is not {want}")


def _optional_positive(name: str, value: float | None) -> None:
    if value is not None:
        _check(
            not isinstance(value, bool)
            and isinstance(value, int | float)
            and math.isfinite(value)
            and value > 0,
            name,
            value,
            "None or a positive finite number",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """The limits riprap keeps one scope (provider + model + key) under.

    Each rate is per minute, as providers state them; `None` means "not configured":
    with `adopt` on, riprap then uses what the provider's rate-limit headers announce.
    A call needs one request, its estimated input tokens, its `max_tokens` of output
    tokens, and both together from `tpm` (OpenAI counts one combined token limit).
    """

    #: Requests per minute.
    rpm: float | None = None
    #: Input tokens per minute (Anthropic's ITPM).
    input_tpm: float | None = None
    #: Output tokens per minute (Anthropic's OTPM); a call reserves its `max_tokens`.
    output_tpm: float | None = None
    #: Input plus output tokens per minute (OpenAI's TPM).
    tpm: float | None = None
    #: How many seconds of each rate may be spent at once: the bucket's size. Anthropic
    #: documents its limits as token buckets "continuously replenished up to your maximum
    #: limit", i.e. one minute's worth; a provider that enforces over shorter windows is
    #: described by a smaller number (1.0 for "60 RPM enforced as 1 request per second").
    burst_seconds: float = MINUTE
    #: The share of each limit riprap plans to use. The 2 % left refills the provider's
    #: bucket by one request in fifty, which absorbs what pacing cannot see: a request
    #: that overtakes the one before it on the network, an input estimate that fell short
    #: until the call settles. 0.98 keeps a paced run within 1.05x of the physical
    #: minimum (bench/limiter.py); 0.95 alone would cost 1/0.95 = 1.053x.
    headroom: float = 0.98
    #: Seconds by which a request may reach the provider later than riprap let it go
    #: (event loop turns, a new connection's handshake, the network). A provider's bucket
    #: that is full when such a request arrives has lost that much refill, so that many
    #: seconds of every rate stay in reserve, on top of the headroom. 50 ms covers a
    #: loopback or LAN connection set-up and a busy event loop; against a minute-sized
    #: bucket it is below the headroom's share and changes nothing.
    jitter: float = 0.05
    #: Use the limits the provider's headers announce for every limit not configured
    #: here, and never exceed an announced limit that is lower than a configured one.
    adopt: bool = True

    def __post_init__(self) -> None:
        for name in ("rpm", "input_tpm", "output_tpm", "tpm"):
            _optional_positive(name, getattr(self, name))
        _optional_positive("burst_seconds", self.burst_seconds)
        _check(
            not isinstance(self.jitter, bool)
            and isinstance(self.jitter, int | float)
            and math.isfinite(self.jitter)
            and self.jitter >= 0,
            "jitter",
            self.jitter,
            "a finite number >= 0",
        )
        _check(
            not isinstance(self.headroom, bool)
            and isinstance(self.headroom, int | float)
            and 0 < self.headroom <= 1,
            "headroom",
            self.headroom,
            "a number in (0, 1]",
        )
        _check(isinstance(self.adopt, bool), "adopt", self.adopt, "a bool")

    @property
    def per_minute(self) -> tuple[float | None, float | None, float | None, float | None]:
        """The configured rates in `DIMENSIONS` order."""
        return (self.rpm, self.input_tpm, self.output_tpm, self.tpm)

    @property
    def configured(self) -> bool:
        """Whether any limit is configured (a scope with none learns before it paces)."""
        return any(rate is not None for rate in self.per_minute)


@dataclass(frozen=True, kw_only=True, slots=True)
class Scope:
    """Who shares one set of limits: a provider, a model, and (optionally) an API key.

    The key itself is never kept: `Scope.of` keeps a 12-hex-digit SHA-256 prefix of it,
    enough to tell keys apart and useless for recovering one.
    """

    provider: str
    model: str
    #: A short hash of the API key, or `None` when all keys share the limits.
    key_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("provider", "model"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"Scope.{name}: {value!r} is not a non-empty str")
        if self.key_id is not None and (
            not isinstance(self.key_id, str) or not self.key_id.isalnum()
        ):
            raise ConfigError(f"Scope.key_id: {self.key_id!r} is not None or an alphanumeric str")

    @classmethod
    def of(cls, provider: str, model: str, *, api_key: str | None = None) -> Scope:
        """The scope of calls to `model` of `provider` made with `api_key`."""
        key_id = None if not api_key else key_fingerprint(api_key)
        return cls(provider=provider, model=model, key_id=key_id)

    def key(self) -> str:
        """This scope as one string, for storage keys; parts are escaped, so it is unique."""
        parts = (self.provider, self.model, self.key_id or "-")
        return ":".join(p.replace("%", "%25").replace(":", "%3A") for p in parts)


def key_fingerprint(api_key: str) -> str:
    """A 12-hex-digit SHA-256 prefix of `api_key`: tells keys apart, reveals nothing."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


@dataclass(frozen=True, kw_only=True, slots=True)
class Need:
    """What one attempt reserves: a request, its estimated input and its `max_tokens`."""

    input_tokens: int
    output_tokens: int
    requests: int = 1

    def __post_init__(self) -> None:
        for name in ("input_tokens", "output_tokens", "requests"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"Need.{name}: {value!r} is not an int >= 0")

    def vector(self) -> tuple[float, float, float, float]:
        """The need in `DIMENSIONS` order."""
        total = self.input_tokens + self.output_tokens
        return (
            float(self.requests),
            float(self.input_tokens),
            float(self.output_tokens),
            float(total),
        )
