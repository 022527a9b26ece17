"""Header parsing shared by the providers: retry-after, x-should-retry, message clipping."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riprap._failure import MESSAGE_LIMIT, clip_message, parse_retry_after, should_retry_override

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z


def test_retry_after_ms_wins_over_seconds() -> None:
    """The millisecond header is more precise and takes precedence."""
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}, now_epoch=NOW) == 1.5


def test_retry_after_seconds_and_floats() -> None:
    """Delta-seconds, integer or not."""
    assert parse_retry_after({"retry-after": "30"}, now_epoch=NOW) == 30.0
    assert parse_retry_after({"retry-after": " 2.5 "}, now_epoch=NOW) == 2.5


def test_retry_after_http_date_is_read_against_now() -> None:
    """An HTTP-date 45 s after now means 45 s; one in the past means 0."""
    assert (
        parse_retry_after({"retry-after": "Sun, 15 Jun 2025 15:07:25 GMT"}, now_epoch=NOW) == 45.0
    )
    assert parse_retry_after({"retry-after": "Sun, 15 Jun 2025 15:00:00 GMT"}, now_epoch=NOW) == 0.0
    assert (
        parse_retry_after({"retry-after": "Sun, 15 Jun 2025 15:07:25 -0000"}, now_epoch=NOW) == 45.0
    )


def test_garbage_retry_after_means_not_asked() -> None:
    """Unparseable, negative or infinite values are ignored, falling back to backoff."""
    for value in ("soon", "-3", "inf", "nan", ""):
        assert parse_retry_after({"retry-after": value}, now_epoch=NOW) is None
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "4"}, now_epoch=NOW) == 4.0
    assert parse_retry_after({}, now_epoch=NOW) is None


@given(st.text())
def test_retry_after_never_raises_or_goes_negative(value: str) -> None:
    """Any header text parses to None or a non-negative number."""
    result = parse_retry_after({"retry-after": value}, now_epoch=NOW)
    assert result is None or result >= 0


def test_should_retry_header() -> None:
    """Only an explicit true/false counts."""
    assert should_retry_override({"x-should-retry": "true"}) is True
    assert should_retry_override({"x-should-retry": "False"}) is False
    assert should_retry_override({"x-should-retry": "maybe"}) is None
    assert should_retry_override({}) is None


def test_clip_removes_secrets_before_cutting() -> None:
    """A key in a message is removed, and the message is cut to the limit."""
    key = "sk-ant-CANARY-1234567890"
    clipped = clip_message(f"Incorrect API key provided: {key}. " + "x" * 500, secrets=(key,))
    assert key not in clipped
    assert "[redacted]" in clipped
    assert len(clipped) == MESSAGE_LIMIT
