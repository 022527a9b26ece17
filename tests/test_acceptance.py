"""The numbers riprap promises, on a seeded flaky scenario (fake clock: instant waits)."""

from __future__ import annotations

import anthropic
import pytest

import riprap
from riprap.sim import Scenario, Simulator
from riprap.testing import EventLog, FakeClock
from support import ANTHROPIC_KEY

FLAKY = Scenario(seed=7, fault_rate=0.25, faults={529: 1, 500: 1, 503: 1, "reset": 1})


@pytest.mark.parametrize("seed", [7, 11, 2026])
def test_flaky_scenario_all_succeed_with_few_attempts(seed: int) -> None:
    """400 calls with 25 % transient faults: 100 % succeed, at most 1.45 attempts per success."""
    calls = 400
    log = EventLog()
    with Simulator(scenario=Scenario(seed=seed, fault_rate=0.25, faults=FLAKY.faults)) as sim:
        client = riprap.wrap(
            anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=sim.base_url),
            clock=FakeClock(),
            hooks=[log],
        )
        for i in range(calls):
            client.messages.create(
                model="claude-sim", max_tokens=16, messages=[{"role": "user", "content": f"n{i}"}]
            )
        attempts = len(sim.requests)
    ends = log.of(riprap.CallEnded)
    assert len(ends) == calls
    assert all(e.ok for e in ends)
    assert attempts / calls <= 1.45
    assert attempts == sum(e.attempts for e in ends)
