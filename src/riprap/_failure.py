"""One classified failure, and the header parsing every provider shares.

A `Failure` is what a provider adapter makes of an exception: the kind, and the few
facts later layers need (status, retry-after, request id). Parsing here is pure: the
current time is passed in, so an HTTP-date retry-after is exact under a fake clock.
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

from riprap._kinds import RULES, Kind
from riprap._redact import redact_text

if TYPE_CHECKING:
    from collections.abc import Mapping

#: How much of a provider's error message riprap keeps (design §2): enough to read, not
#: enough to carry a whole echoed prompt into logs.
MESSAGE_LIMIT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A failure of one attempt, classified once by the provider adapter."""

    kind: Kind
    #: Whether the retry loop may try again: the kind's rule, unless the server said
    #: otherwise with `x-should-retry`.
    retryable: bool
    provider: str
    status: int | None = None
    #: Seconds the provider asked us to wait, from `retry-after-ms` or `retry-after`.
    retry_after: float | None = None
    request_id: str | None = None
    #: The provider's stable error code, when it sends one (`insufficient_quota`, …).
    error_code: str | None = None
    #: The first `MESSAGE_LIMIT` characters of the provider's message, redacted.
    message: str = ""

    @property
    def counts_against_breaker(self) -> bool:
        """Whether this failure says the target is unhealthy."""
        return RULES[self.kind].counts_against_breaker


def should_retry_override(headers: Mapping[str, str]) -> bool | None:
    """The server's explicit `x-should-retry: true|false`, which beats the table."""
    value = headers.get("x-should-retry", "").strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def parse_retry_after(headers: Mapping[str, str], *, now_epoch: float) -> float | None:
    """Seconds to wait as the server asked, or `None` when it did not ask.

    `retry-after-ms` (Anthropic and OpenAI send it; more precise) wins over `retry-after`,
    which is either delta-seconds (floats accepted) or an HTTP-date (RFC 9110 §10.2.3),
    read against `now_epoch`. Negative, non-finite and unparseable values mean "not asked".
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        seconds = _finite_nonnegative(raw_ms)
        if seconds is not None:
            return seconds / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _finite_nonnegative(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # The parser returns a naive datetime for "-0000"; HTTP dates are always GMT.
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_epoch)


def _finite_nonnegative(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


def clip_message(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    """The provider's message cut to `MESSAGE_LIMIT`, with any known secret removed.

    Providers echo parts of a bad key back ("Incorrect API key provided: sk-…"), so the
    secrets are removed before the text is cut: cutting first could leave half a key.
    """
    text = " ".join(redact_text(text, secrets).split())
    if len(text) > MESSAGE_LIMIT:
        return text[: MESSAGE_LIMIT - 1] + "…"
    return text
