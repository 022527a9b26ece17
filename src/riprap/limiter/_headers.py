"""Reading the providers' rate-limit headers into one shape, purely (the time is passed in).

Anthropic (docs "Rate limits", "Response headers")::

    anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,remaining,reset}

`reset` is an RFC 3339 time at which the bucket is full again (whole seconds in
practice). The `tokens` family is the input and output families together (its limit is
their sum), so it is read only when neither of those is present.

OpenAI (docs "Rate limits")::

    x-ratelimit-{limit,remaining,reset}-{requests,tokens}

`reset` is a Go duration until the bucket is back to its initial state: `6m0s`, `1s`,
`250ms`, `17.28s`. OpenAI's `tokens` is one combined input-plus-output limit.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Final

from riprap.limiter._bucket import Announced, Observation
from riprap.limiter._config import INPUT, OUTPUT, REQUESTS, TOKENS

if TYPE_CHECKING:
    from collections.abc import Mapping

_ANTHROPIC_FAMILIES: Final = (
    (REQUESTS, "requests"),
    (INPUT, "input-tokens"),
    (OUTPUT, "output-tokens"),
    (TOKENS, "tokens"),
)
_OPENAI_FAMILIES: Final = ((REQUESTS, "requests"), (TOKENS, "tokens"))
_FRACTION: Final = re.compile(r"\.\d+")
_GO_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|μs|ns|m|s)")
_GO_UNITS: Final = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ns": 1e-9,
}


def parse_rate_limit_headers(
    provider: str, headers: Mapping[str, str], *, now_epoch: float
) -> Observation | None:
    """What `headers` announce, per dimension; `None` when they carry no rate-limit header.

    Unknown providers and unparseable values read as "not announced": a quirky header
    must never break a call.
    """
    lower = {k.lower(): v for k, v in headers.items() if "ratelimit" in k.lower()}
    if not lower:
        return None
    found: list[Announced | None] = [None, None, None, None]
    if provider == "anthropic":
        for d, family in _ANTHROPIC_FAMILIES:
            prefix = f"anthropic-ratelimit-{family}-"
            found[d] = _announced(
                lower.get(prefix + "limit"),
                lower.get(prefix + "remaining"),
                _rfc3339_in(lower.get(prefix + "reset"), now_epoch),
            )
        if found[INPUT] is not None or found[OUTPUT] is not None:
            found[TOKENS] = None
    elif provider == "openai":
        for d, family in _OPENAI_FAMILIES:
            found[d] = _announced(
                lower.get(f"x-ratelimit-limit-{family}"),
                lower.get(f"x-ratelimit-remaining-{family}"),
                _go_duration_in(lower.get(f"x-ratelimit-reset-{family}")),
            )
    if all(a is None for a in found):
        return None
    return (found[0], found[1], found[2], found[3])


def _announced(
    limit: str | None, remaining: str | None, reset: tuple[float, float] | None
) -> Announced | None:
    lim, rem = _number(limit), _number(remaining)
    if lim is None and rem is None:
        return None
    if reset is None:
        return Announced(limit=lim, remaining=rem, reset_in=None)
    return Announced(limit=lim, remaining=rem, reset_in=reset[0], resolution=reset[1])


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _rfc3339_in(text: str | None, now_epoch: float) -> tuple[float, float] | None:
    """Seconds from `now_epoch` until the RFC 3339 time `text`, and its precision.

    Negative when the time is past (a full bucket's reset, read a moment later).
    """
    if text is None:
        return None
    text = text.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # RFC 3339 requires an offset; a naive time could be any zone
    fraction = _FRACTION.search(text)
    resolution = 1.0 if fraction is None else 10.0 ** -(len(fraction.group(0)) - 1)
    return when.timestamp() - now_epoch, resolution


def _go_duration_in(text: str | None) -> tuple[float, float] | None:
    seconds = parse_go_duration(text)
    if seconds is None or text is None:
        return None
    resolution = (
        min(
            _GO_UNITS[unit] * 10.0 ** -len(number.partition(".")[2])
            for number, unit in _GO_PART.findall(text.strip())
        )
        if text.strip() != "0"
        else 1.0
    )
    return seconds, resolution


def parse_go_duration(text: str | None) -> float | None:
    """Seconds in a Go duration (`6m0s`, `1h2m3.5s`, `250ms`, `0s`); `None` if not one."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if text == "0":
        return 0.0
    position, total = 0, 0.0
    for match in _GO_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    return total if position == len(text) and position > 0 else None
