"""Fitting a workload to each kind of scenario, and its physical minimum."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from riprap._bench._contenders import Contender
from riprap._bench._run import Named, reseeded, rotated, warm_up
from riprap._bench._sdk import Request
from riprap._bench._workload import Workload, fit, latencies, minimum, primary_model
from riprap.sim import Bucket, Outage, RateLimits, Scenario, estimate_input_tokens

if TYPE_CHECKING:
    from riprap._bench._contenders import Session, Setup

FLAKY = Scenario(seed=7, fault_rate=0.25, faults={529: 1, "reset": 1}, latency=(0.02, 0.1))
STREAMS = Scenario(seed=5, fault_rate=0.3, faults={"stream_cut": 1}, latency=(0.01, 0.05))
LIMITED = Scenario(
    seed=11,
    latency=(0.01, 0.05),
    rate_limits=RateLimits(requests=Bucket(per_minute=120, burst=10), foreign=0.1),
)
DOWN = (Outage(start=0, end=20, model="claude-sonnet-4-5-20250929"),)


def test_a_plain_fault_mix_gets_a_closed_loop_of_400_calls_on_32_slots() -> None:
    """Flaky: 400 calls, 32 in flight, paced by the CPU, to the default model."""
    plan = fit(FLAKY, (), provider="anthropic", calls=None, quick=False)
    w = plan.workload
    assert (w.shape, w.calls, w.slots, w.stream) == ("closed", 400, 32, False)
    assert w.model == "claude-haiku-4-5-20251001"
    assert not plan.paced
    assert plan.minimum.bound == "latency"


def test_stream_faults_get_streamed_calls() -> None:
    """A scenario with stream faults reads 200 streamed calls."""
    w = fit(STREAMS, (), provider="openai", calls=None, quick=False).workload
    assert (w.calls, w.stream, w.model) == (200, True, "gpt-4o-mini")


def test_a_rate_limit_gets_calls_that_keep_it_binding_for_20_seconds() -> None:
    """Burst 10, 2/s with 10 % foreign: 10 + 1.8 * 20 = 46 calls, minimum (46-10)/1.8 = 20 s."""
    plan = fit(LIMITED, (), provider="anthropic", calls=None, quick=False)
    assert plan.workload.calls == 46
    assert plan.workload.slots == 46
    assert plan.paced
    assert plan.minimum.bound == "requests bucket"
    assert plan.minimum.seconds == pytest.approx(20.0)


def test_an_input_token_bucket_bounds_by_the_exact_prompt_sizes() -> None:
    """With only an input-token bucket the minimum is (sum of prompts - burst) / rate."""
    limits = RateLimits(input_tokens=Bucket(per_minute=600, burst=100))
    scenario = Scenario(rate_limits=limits)
    plan = fit(scenario, (), provider="anthropic", calls=30, quick=False)
    tokens = sum(estimate_input_tokens(r.messages) for r in plan.workload.requests())
    assert plan.minimum.bound == "input-token bucket"
    assert plan.minimum.seconds == pytest.approx((tokens - 100) / 10)


def test_an_outage_gets_an_open_loop_across_its_window_and_a_quarter_more() -> None:
    """A 0-20 s outage: arrivals over 25 s at 10/s, to the model that is down."""
    plan = fit(Scenario(latency=(0.01, 0.05)), DOWN, provider="anthropic", calls=None, quick=False)
    w = plan.workload
    assert (w.shape, w.calls, w.model) == ("open", 250, "claude-sonnet-4-5-20250929")
    assert w.interval == pytest.approx(0.1)
    assert w.arrivals()[:3] == pytest.approx([0.0, 0.1, 0.2])
    assert plan.paced
    assert plan.outages == DOWN


def test_the_model_asked_is_the_one_down_on_this_provider() -> None:
    """An outage of an OpenAI model is not the Anthropic workload's business."""
    outages = (Outage(start=0, end=5, model="gpt-4o"), *DOWN)
    assert primary_model("openai", outages) == "gpt-4o"
    assert primary_model("anthropic", outages) == "claude-sonnet-4-5-20250929"
    assert primary_model("anthropic", (Outage(start=0, end=5),)) == "claude-haiku-4-5-20251001"


def test_quick_compresses_outage_windows_to_four_seconds() -> None:
    """--quick: the 0-20 s window becomes 0-4 s, 40 calls arrive over 5 s."""
    plan = fit(Scenario(), DOWN, provider="anthropic", calls=None, quick=True)
    assert (plan.outages[0].start, plan.outages[0].end) == (0.0, 4.0)
    assert plan.workload.calls == 40
    assert plan.workload.interval == pytest.approx(5.0 / 40)


def test_calls_overrides_the_fitted_size() -> None:
    """--calls 7 makes 7 calls whatever the scenario."""
    for scenario, outages in ((FLAKY, ()), (LIMITED, ()), (Scenario(), DOWN)):
        assert (
            fit(scenario, outages, provider="anthropic", calls=7, quick=False).workload.calls == 7
        )


def test_latencies_are_the_simulators_draws_per_model() -> None:
    """The drawn latency of request i is what the scenario (or the model's mix) decides."""
    quick = Scenario(seed=1, latency=(0.5, 0.5))
    scenario = Scenario(seed=1, latency=(0.1, 0.2), fault_rate=0.5, models={"m": quick})
    assert latencies(scenario, "m", 3) == [0.5, 0.5, 0.5]
    drawn = latencies(scenario, "other", 20)
    assert drawn == [scenario.decide(i, 0.0).delay for i in range(20)]
    assert all(0.1 <= d <= 0.2 for d in drawn)


def test_minimum_of_a_closed_loop_schedules_the_drawn_latencies() -> None:
    """Constant 0.5 s latency, 10 calls on 4 slots: 3 rounds, 1.5 s."""
    scenario = Scenario(latency=(0.5, 0.5))
    w = Workload(shape="closed", model="m", calls=10, slots=4)
    assert minimum(w, scenario).seconds == pytest.approx(1.5)


def test_minimum_of_an_open_loop_is_the_last_arrival_plus_its_latency() -> None:
    """Constant 0.5 s latency, 10 arrivals 1 s apart: 9.5 s."""
    scenario = Scenario(latency=(0.5, 0.5))
    w = Workload(shape="open", model="m", calls=10, interval=1.0)
    assert minimum(w, scenario).seconds == pytest.approx(9.5)


def test_describe_says_shape_size_and_model() -> None:
    """One line for the table heading."""
    closed = Workload(shape="closed", model="m", calls=10, slots=4, stream=True)
    assert closed.describe() == "10 streamed calls to m, 4 in flight (closed loop)"
    open_ = Workload(shape="open", model="m", calls=10, interval=0.1)
    assert open_.describe() == "10 calls to m arriving at 10/s (open loop)"


def test_requests_are_numbered_and_carry_the_model() -> None:
    """Each call has its own prompt, hence its own answer."""
    requests = Workload(shape="closed", model="m", calls=2).requests()
    assert requests == [Request(index=0, model="m"), Request(index=1, model="m")]
    assert requests[0].messages != requests[1].messages


def test_rotation_starts_each_scenario_with_the_next_contender() -> None:
    """Position 1 of [a, b, c] starts at b; 4 wraps to b as well."""
    assert rotated(["a", "b", "c"], 1) == ["b", "c", "a"]
    assert rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
    assert rotated([], 3) == []


def test_reseeding_reaches_per_model_mixes_and_outages() -> None:
    """--seed replaces every seed in the scenario, not just the top one."""
    scenario = Scenario(seed=1, models={"m": Scenario(seed=1)})
    named = Named("n", "d", scenario, (Outage(start=0, end=1, seed=1),))
    again = reseeded(named, 9)
    assert again.scenario.seed == 9
    assert again.scenario.models["m"].seed == 9
    assert again.outages[0].seed == 9
    assert reseeded(named, None) is named


def test_a_contender_that_cannot_make_a_clean_call_is_reported_not_run() -> None:
    """Warm-up names the contender whose library fails, with the error, instead of crashing."""

    def opens(setup: Setup) -> Session:
        raise RuntimeError(f"boom on {setup.model}")

    broken = asyncio.run(warm_up([Contender(key="x", label="X", opens=opens)], "anthropic"))
    assert broken == {"x": "could not run: RuntimeError: boom on claude-haiku-4-5-20251001"}
