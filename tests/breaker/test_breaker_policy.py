"""`Breaker`: defaults, validation, and the break's growth."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from riprap.breaker import Breaker
from riprap.errors import ConfigError


def test_defaults_are_the_documented_ones() -> None:
    """The defaults users read in the docs are the ones they get."""
    policy = Breaker()
    assert (policy.failure_ratio, policy.window, policy.min_throughput) == (0.5, 10.0, 20)
    assert (policy.consecutive_failures, policy.break_duration, policy.probes) == (10, 5.0, 1)
    assert (policy.break_growth, policy.max_break, policy.slow_call) == (1.0, 60.0, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("failure_ratio", 0),
        ("failure_ratio", 1.5),
        ("failure_ratio", "0.5"),
        ("failure_ratio", True),
        ("window", 0),
        ("window", float("inf")),
        ("min_throughput", 0),
        ("min_throughput", 2.0),
        ("min_throughput", True),
        ("consecutive_failures", 0),
        ("break_duration", -1),
        ("break_growth", 0.5),
        ("break_growth", float("nan")),
        ("max_break", 1.0),
        ("probes", 0),
        ("probe_timeout", 0),
        ("slow_call", -0.1),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(field: str, value: Any) -> None:
    """A bad value fails when the policy is made, with the field and the value in the message."""
    with pytest.raises(ConfigError, match=rf"Breaker\.{field}: {value!r}"):
        Breaker(**{field: value})


def test_policy_is_frozen_and_keyword_only() -> None:
    """A policy cannot change after it is made, and takes no positional arguments."""
    policy = Breaker()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.probes = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Breaker(0.5)  # type: ignore[call-arg]


def test_break_is_constant_by_default() -> None:
    """Without growth every break lasts `break_duration`."""
    assert [Breaker().break_for(n) for n in (1, 2, 10)] == [5.0, 5.0, 5.0]


def test_break_grows_per_trip_up_to_the_cap() -> None:
    """With growth 2 the breaks double from the first trip and stop at `max_break`."""
    policy = Breaker(break_duration=5.0, break_growth=2.0, max_break=30.0)
    assert [policy.break_for(n) for n in range(1, 6)] == [5.0, 10.0, 20.0, 30.0, 30.0]
    assert Breaker(break_growth=10.0).break_for(10_000) == 60.0
