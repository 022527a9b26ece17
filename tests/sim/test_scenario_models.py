"""Per-model scenario overrides: each model its own fault mix and latency."""

from __future__ import annotations

import anthropic
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap.sim import Bucket, RateLimits, Scenario, Simulator

DOWN = Scenario(fault_rate=1.0, faults={503: 1.0})
MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Hi."}]


@given(index=st.integers(min_value=0, max_value=10_000))
def test_a_named_model_is_decided_by_its_override(index: int) -> None:
    """A model in `models` gets exactly its override's decision; others the outer one's."""
    outer = Scenario(seed=4, fault_rate=0.5, models={"down": DOWN})
    assert outer.decide(index, 0.0, model="down") == DOWN.decide(index, 0.0)
    assert outer.decide(index, 0.0, model="up") == Scenario(seed=4, fault_rate=0.5).decide(
        index, 0.0
    )
    assert outer.decide(index, 0.0) == outer.decide(index, 0.0, model="up")


def test_an_override_sets_its_own_latency() -> None:
    """The override's latency range applies to its model only."""
    slow = Scenario(latency=(2.0, 2.0))
    outer = Scenario(models={"slow": slow})
    assert outer.decide(0, 0.0, model="slow").delay == 2.0
    assert outer.decide(0, 0.0, model="fast").delay == 0.0


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({"": DOWN}, "models key must be a non-empty str, got ''"),
        ({"m": 5}, "models['m'] must be a Scenario, got 5"),
        ({"m": Scenario(models={"n": DOWN})}, "models['m'] may not set models or rate_limits"),
        (
            {"m": Scenario(rate_limits=RateLimits(requests=Bucket(per_minute=1)))},
            "models['m'] may not set models or rate_limits",
        ),
        ([("m", DOWN)], "models must be a mapping of model name to Scenario"),
    ],
)
def test_bad_overrides_are_refused(models: object, message: str) -> None:
    """Overrides are plain Scenarios keyed by a model name; nothing else is accepted."""
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        Scenario(models=models)  # type: ignore[arg-type]


def test_overrides_reach_real_sdk_calls(
    sim: Simulator, claude: anthropic.Anthropic, gpt: openai.OpenAI
) -> None:
    """Through the wire, the overridden model fails and the others succeed, either SDK."""
    sim.scenario = Scenario(models={"claude-down": DOWN, "gpt-down": DOWN})
    with pytest.raises(anthropic.InternalServerError) as caught:
        claude.messages.create(model="claude-down", max_tokens=8, messages=MESSAGES)
    assert caught.value.status_code == 503
    ok = claude.messages.create(model="claude-up", max_tokens=8, messages=MESSAGES)
    assert ok.type == "message"
    with pytest.raises(openai.InternalServerError):
        gpt.chat.completions.create(model="gpt-down", messages=[{"role": "user", "content": "x"}])
    assert [r.reply.status for r in sim.requests] == [503, 200, 503]


def test_overrides_apply_under_rate_limits(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """With rate limits set, the override decides the admitted requests of its model."""
    limits = RateLimits(requests=Bucket(per_minute=600, burst=5))
    sim.scenario = Scenario(rate_limits=limits, models={"claude-down": DOWN})
    with pytest.raises(anthropic.InternalServerError) as caught:
        claude.messages.create(model="claude-down", max_tokens=8, messages=MESSAGES)
    headers = caught.value.response.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "600"
    assert headers["anthropic-ratelimit-requests-remaining"] == "4"
    ok = claude.messages.create(model="claude-up", max_tokens=8, messages=MESSAGES)
    assert ok.type == "message"
