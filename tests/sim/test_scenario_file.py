"""Scenario files: the TOML schema, its errors, and the shipped scenarios."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from riprap.sim import (
    Bucket,
    Outage,
    RateLimits,
    Scenario,
    ScenarioFileError,
    load_scenario,
    scenario_names,
)
from riprap.sim._scenario_file import parse_scenario

if TYPE_CHECKING:
    from pathlib import Path

FULL = """
name = "full"
description = "every key"
seed = 9
fault_rate = 0.5
faults = { 529 = 3, reset = 1, stream_cut = 1 }
latency = [0.1, 0.2]
retry_after = 4
stream_fault_after = [2, 3]
stream_stall_for = 1.5

[models."claude-x"]
fault_rate = 0.1
latency = [0, 0]

[rate_limits]
requests = { per_minute = 60, burst = 5 }
input_tokens = { per_minute = 1000 }
output_tokens = { per_minute = 500, burst = 50 }
tokens = { per_minute = 1500 }
foreign = 0.25

[[outages]]
model = "claude-x"
start = 5
end = 10
status = 503
retry_after = 1

[[outages]]
start = 30
fault_rate = 0.5
faults = { 500 = 1, reset = 1 }
"""


def test_every_key_maps_onto_the_simulator_objects() -> None:
    """A file setting every key gives exactly the Scenario, overrides, limits and outages."""
    loaded = parse_scenario(FULL, file="full.toml")
    assert (loaded.name, loaded.description, loaded.source) == ("full", "every key", "full.toml")
    limits = RateLimits(
        requests=Bucket(per_minute=60, burst=5),
        input_tokens=Bucket(per_minute=1000),
        output_tokens=Bucket(per_minute=500, burst=50),
        tokens=Bucket(per_minute=1500),
        foreign=0.25,
    )
    mix = {
        "seed": 9,
        "faults": {529: 3.0, "reset": 1.0, "stream_cut": 1.0},
        "retry_after": 4.0,
        "stream_fault_after": (2, 3),
        "stream_stall_for": 1.5,
    }
    override = Scenario(fault_rate=0.1, latency=(0.0, 0.0), **mix)  # type: ignore[arg-type]
    assert loaded.scenario == Scenario(
        fault_rate=0.5,
        latency=(0.1, 0.2),
        rate_limits=limits,
        models={"claude-x": override},
        **mix,  # type: ignore[arg-type]
    )
    assert loaded.outages == (
        Outage(start=5, end=10, model="claude-x", faults={503: 1}, retry_after=1, seed=9),
        Outage(start=30, fault_rate=0.5, faults={500: 1, "reset": 1}, seed=9),
    )


def test_an_empty_file_is_the_always_succeeding_simulator() -> None:
    """No keys: the default Scenario, no outages, the name from the file's stem."""
    loaded = parse_scenario("", file="x.toml", default_name="x")
    assert (loaded.name, loaded.scenario, loaded.outages) == ("x", Scenario(), ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[models."claude-x"]\nfault_rate = 1.5',
            'models."claude-x".fault_rate: 1.5 is not in [0, 1]',
        ),
        ("fault_rat = 0.5", "fault_rat: unknown key (this table takes:"),
        ("seed = 1.5", "seed: 1.5 is not an integer"),
        ("latency = [0.5, 0.1]", "latency: [0.5, 0.1]: low exceeds high"),
        ("latency = 0.5", "latency: 0.5 is not a [low, high] pair"),
        ('latency = [0, "x"]', "latency: 'x' is not a number"),
        ("faults = { 200 = 1 }", "faults.200: is not an HTTP error status (400..599)"),
        ("faults = { boom = 1 }", "faults.boom: is not a status or one of: reset,"),
        ("faults = { 529 = 0 }", "faults: needs at least one fault with a weight > 0"),
        ("faults = { 529 = -1 }", "faults.529: -1 is not >= 0"),
        ("retry_after = true", "retry_after: true is not a number"),
        ("stream_fault_after = [3, 1]", "stream_fault_after: [3, 1]: low exceeds high"),
        ("stream_fault_after = [-1, 1]", "stream_fault_after: -1 is not an integer >= 0"),
        ("[rate_limits]\nforeign = 0.1", "rate_limits: sets no bucket (one of: requests,"),
        (
            "[rate_limits]\nforeign = 1\nrequests = { per_minute = 1 }",
            "rate_limits.foreign: 1.0 is not below 1",
        ),
        ("[rate_limits.requests]\nburst = 5", "rate_limits.requests.per_minute: is required"),
        (
            "[rate_limits.requests]\nper_minute = 0",
            "rate_limits.requests.per_minute: 0 is not a number > 0",
        ),
        (
            "[rate_limits.requests]\nper_minute = 5\nrate = 1",
            "rate_limits.requests.rate: unknown key",
        ),
        ("[[outages]]\nstart = 5\nend = 5", "outages[0].end: 5.0 is not after start (5.0)"),
        ("[[outages]]\nstatus = 200", "outages[0].status: 200 is not an HTTP error status"),
        (
            "[[outages]]\nstatus = 529\nfaults = { 500 = 1 }",
            "outages[0].status: and faults are exclusive",
        ),
        (
            "[[outages]]\nfaults = { stream_cut = 1 }",
            "outages[0].faults.stream_cut: is not a status",
        ),
        ("[[outages]]\nfault_rate = 2", "outages[0].fault_rate: 2 is not in [0, 1]"),
        ("[[outages]]\nmodel = 5", "outages[0].model: 5 is not a string"),
        ("outages = 5", "outages: 5 is not an array of tables"),
        ("models = 5", "models: 5 is not a table"),
        ('[models."m"]\nrate_limits = 1', "models.m.rate_limits: unknown key"),
        ("seed = ", "is not valid TOML"),
    ],
)
def test_bad_values_name_the_file_the_key_path_and_the_value(text: str, message: str) -> None:
    """Each bad value is refused before anything runs, naming file, key path and value."""
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenario(text, file="flaky.toml")
    assert str(caught.value).startswith(f"flaky.toml: {message}")
    assert isinstance(caught.value, ValueError)
    assert caught.value.file == "flaky.toml"


def test_a_path_is_read_and_named_by_its_stem(tmp_path: Path) -> None:
    """A path loads the file; with no `name` key the scenario takes the file's stem."""
    path = tmp_path / "mine.toml"
    path.write_text("fault_rate = 1\nfaults = { 500 = 1 }\n")
    loaded = load_scenario(path)
    assert (loaded.name, loaded.source) == ("mine", str(path))
    assert loaded.scenario == Scenario(fault_rate=1.0, faults={500: 1.0})
    assert load_scenario(str(path)) == loaded


def test_a_missing_file_or_unknown_name_is_a_clear_error(tmp_path: Path) -> None:
    """A missing file says so; an unknown bare name lists the shipped scenarios."""
    missing = tmp_path / "gone.toml"
    with pytest.raises(ScenarioFileError, match=r"gone\.toml: no such file"):
        load_scenario(missing)
    with pytest.raises(ScenarioFileError, match=r"no shipped scenario named 'flakey' \(shipped: "):
        load_scenario("flakey")


def test_shipped_scenarios_are_the_promised_names() -> None:
    """The five shipped names are stable: `riprap bench` and the batch runner use them."""
    assert scenario_names() == (
        "broken-streams",
        "flaky",
        "outage",
        "overloaded-afternoon",
        "rate-limited",
    )


@pytest.mark.parametrize("name", scenario_names())
def test_every_shipped_scenario_loads_with_a_description(name: str) -> None:
    """Each shipped scenario parses, is named by its file and says what it does."""
    loaded = load_scenario(name)
    assert loaded.name == name
    assert loaded.source == f"{name}.toml"
    assert len(loaded.description) > 40


def test_simulator_builds_an_unstarted_simulator_with_overrides() -> None:
    """`simulator()` passes the scenario and outages; keywords override them."""
    loaded = load_scenario("outage")
    built = loaded.simulator(port=0)
    assert not built.running
    assert built.scenario is loaded.scenario
    assert built.outages == loaded.outages
    assert loaded.simulator(outages=()).outages == ()
