"""Config objects: frozen, keyword-only, validated with the bad value in the message."""

from __future__ import annotations

import dataclasses

import pytest

from riprap import ConfigError, Kind, Retry, RetryBudget, Timeouts
from riprap.policy import default_deadline


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Retry(max_attempts=0), "Retry.max_attempts: 0 is not an int >= 1"),
        (lambda: Retry(deadline=-1.0), "Retry.deadline: -1.0 is not a positive finite number"),
        (lambda: Retry(cap=float("nan")), "Retry.cap: nan is not a finite number >= 0"),
        (
            lambda: Retry(kind_base_delays={Kind.OVERLOADED: -2}),
            "Retry.kind_base_delays[overloaded]: -2",
        ),
        (lambda: RetryBudget(window=0), "RetryBudget.window: 0 is not a positive finite number"),
        (lambda: Timeouts(attempt=0.0), "Timeouts.attempt: 0.0 is not a positive finite number"),
        (lambda: Timeouts(assumed_output_tokens=0), "Timeouts.assumed_output_tokens: 0"),
    ],
)
def test_bad_values_are_named(make: object, message: str) -> None:
    """Every bad value raises ConfigError naming the field and the value."""
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()  # type: ignore[operator]


def test_config_is_frozen_and_keyword_only() -> None:
    """Config objects cannot be changed in place or built positionally."""
    retry = Retry()
    with pytest.raises(dataclasses.FrozenInstanceError):
        retry.max_attempts = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        Retry(3)  # type: ignore[call-arg]
    assert dataclasses.replace(retry, max_attempts=3).max_attempts == 3


def test_attempt_timeout_scales_with_max_tokens() -> None:
    """64 tokens get 31.8 s, 16,000 get 480 s, 100,000 are capped at 600 s."""
    t = Timeouts()
    assert t.attempt_for(64) == pytest.approx(31.8)
    assert t.attempt_for(16_000) == pytest.approx(480.0)
    assert t.attempt_for(100_000) == 600.0
    assert t.attempt_for(None) == pytest.approx(30 + 4096 * 3600 / 128_000)
    assert Timeouts(attempt=7.0).attempt_for(64_000) == 7.0


def test_default_deadline_is_twice_the_attempt_and_at_least_two_minutes() -> None:
    """The derived deadline covers a long generation and leaves room to retry a short one."""
    assert default_deadline(Retry(), 31.8) == 120.0
    assert default_deadline(Retry(), 480.0) == 960.0
    assert default_deadline(Retry(deadline=10.0), 480.0) == 10.0


def test_kind_base_delays_cannot_be_mutated_through_the_policy() -> None:
    """The mapping given is copied and frozen."""
    delays = {Kind.OVERLOADED: 5.0}
    retry = Retry(kind_base_delays=delays)
    delays[Kind.OVERLOADED] = 0.0
    assert retry.base_delay_for(Kind.OVERLOADED) == 5.0
    assert retry.base_delay_for(Kind.SERVER_ERROR) == 0.5
