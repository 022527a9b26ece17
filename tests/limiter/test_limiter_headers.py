"""Reading the providers' rate-limit headers."""

from __future__ import annotations

from datetime import datetime

import pytest

from riprap.limiter import parse_go_duration, parse_rate_limit_headers
from riprap.limiter._bucket import Announced

# A real Anthropic response's headers (values as the API sends them), at 12:41:00 UTC.
NOW = datetime.fromisoformat("2025-08-21T12:41:00Z").timestamp()
ANTHROPIC = {
    "anthropic-ratelimit-input-tokens-limit": "80000",
    "anthropic-ratelimit-input-tokens-remaining": "80000",
    "anthropic-ratelimit-input-tokens-reset": "2025-08-21T12:40:59Z",
    "anthropic-ratelimit-output-tokens-limit": "16000",
    "anthropic-ratelimit-output-tokens-remaining": "16000",
    "anthropic-ratelimit-output-tokens-reset": "2025-08-21T12:41:00Z",
    "anthropic-ratelimit-requests-limit": "1000",
    "anthropic-ratelimit-requests-remaining": "999",
    "anthropic-ratelimit-requests-reset": "2025-08-21T12:40:59Z",
    "anthropic-ratelimit-tokens-limit": "96000",
    "anthropic-ratelimit-tokens-remaining": "96000",
    "anthropic-ratelimit-tokens-reset": "2025-08-21T12:40:59Z",
    "request-id": "req_011",
}
OPENAI = {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-limit-tokens": "160000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-remaining-tokens": "159976",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-reset-tokens": "6m0s",
}


def test_anthropic_headers() -> None:
    """Requests, input and output families are read; RFC 3339 resets become seconds."""
    seen = parse_rate_limit_headers("anthropic", ANTHROPIC, now_epoch=NOW)
    assert seen == (
        Announced(1000, 999, -1.0, resolution=1.0),
        Announced(80000, 80000, -1.0, resolution=1.0),
        Announced(16000, 16000, 0.0, resolution=1.0),
        None,  # `tokens` is input + output together: not a limit of its own
    )


def test_anthropic_tokens_family_alone_is_the_combined_limit() -> None:
    """Without input and output families, Anthropic's `tokens` is read as the combined one."""
    headers = {
        "Anthropic-RateLimit-Tokens-Limit": "1000",
        "anthropic-ratelimit-tokens-remaining": "10",
        "anthropic-ratelimit-tokens-reset": "2025-08-21T12:41:00.250+00:00",
    }
    seen = parse_rate_limit_headers("anthropic", headers, now_epoch=NOW)
    assert seen == (None, None, None, Announced(1000, 10, 0.25, resolution=0.001))


def test_openai_headers() -> None:
    """Requests and the combined token limit; Go durations become seconds."""
    seen = parse_rate_limit_headers("openai", OPENAI, now_epoch=NOW)
    assert seen == (
        Announced(5000, 4999, 0.012, resolution=0.001),
        None,
        None,
        Announced(160000, 159976, 360.0, resolution=1.0),
    )


def test_no_rate_limit_headers_reads_as_none() -> None:
    """A response without rate-limit headers announces nothing."""
    assert parse_rate_limit_headers("anthropic", {"request-id": "x"}, now_epoch=NOW) is None
    assert parse_rate_limit_headers("openai", {}, now_epoch=NOW) is None
    assert parse_rate_limit_headers("gemini", OPENAI, now_epoch=NOW) is None


@pytest.mark.parametrize("value", ["", "soon", "-5", "nan", "inf", "2025-08-21T12:41:00", "1e999"])
def test_bad_values_read_as_not_announced(value: str) -> None:
    """A quirky header never breaks a call: unparseable parts are simply not announced."""
    headers = {
        "anthropic-ratelimit-requests-limit": value,
        "anthropic-ratelimit-requests-remaining": "5",
        "anthropic-ratelimit-requests-reset": value,
    }
    seen = parse_rate_limit_headers("anthropic", headers, now_epoch=NOW)
    assert seen is not None
    assert seen[0] is not None
    assert seen[0].remaining == 5.0
    assert seen[0].reset_in is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("250ms", 0.25),
        ("17.28s", 17.28),
        ("1h2m3.5s", 3723.5),
        ("0s", 0.0),
        ("0", 0.0),
        ("1.5µs", 1.5e-6),
        ("20ns", 2e-8),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    """Go's duration strings, as OpenAI sends its resets."""
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "5", "5x", "1m s", "-1s", "1s2", "ms"])
def test_not_go_durations(text: str) -> None:
    """Anything else is not a duration."""
    assert parse_go_duration(text) is None
