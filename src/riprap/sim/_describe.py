"""A scenario file in plain words: what `riprap sim` prints before it starts serving."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from riprap.sim._limits import Bucket, RateLimits
    from riprap.sim._outage import Outage
    from riprap.sim._scenario_file import ScenarioFile
    from riprap.sim._script import Scenario


def _seconds(value: float) -> str:
    return f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"


def _mix(faults: Mapping[int | str, float]) -> str:
    total = sum(faults.values())
    if sum(1 for weight in faults.values() if weight > 0) == 1:
        return next(str(kind) for kind, weight in faults.items() if weight > 0)
    parts = [f"{kind} {weight / total:.0%}" for kind, weight in faults.items() if weight > 0]
    return ", ".join(parts)


def _scenario(scenario: Scenario) -> str:
    """One line: fault rate and mix, latency, retry-after, stream fault placement."""
    parts = []
    if scenario.fault_rate > 0:
        parts.append(f"{scenario.fault_rate:.0%} faults ({_mix(scenario.faults)})")
        if any(str(kind).startswith("stream_") for kind in scenario.faults):
            first, last = scenario.stream_fault_after
            stall = scenario.stream_stall_for
            parts.append(f"stream faults after {first}..{last} text deltas")
            if "stream_stall" in scenario.faults:
                parts.append("stalls never resume" if stall is None else f"stalls {stall:g} s")
    else:
        parts.append("no random faults")
    low, high = scenario.latency
    if high > 0:
        parts.append(f"latency {_seconds(low)}..{_seconds(high)}")
    if scenario.retry_after is not None and scenario.fault_rate > 0:
        parts.append(f"retry-after {scenario.retry_after:g} s on 429/503/529")
    return "; ".join(parts)


def _bucket(name: str, bucket: Bucket) -> str:
    burst = "" if bucket.burst is None else f" (burst {bucket.burst:g})"
    return f"{name} {bucket.per_minute:g}/min{burst}"


def _limits(limits: RateLimits) -> str:
    names = ("requests", "input tokens", "output tokens", "tokens")
    parts = [_bucket(n, b) for n, b in zip(names, limits.buckets, strict=True) if b is not None]
    foreign = f"; foreign traffic takes {limits.foreign:.0%}" if limits.foreign else ""
    return "rate limits per model: " + ", ".join(parts) + foreign


def _outage(outage: Outage) -> str:
    model = outage.model or "every model"
    end = "never recovers" if outage.end is None else f"until {outage.end:g} s"
    share = "" if outage.fault_rate == 1 else f"{outage.fault_rate:.0%} of "
    return (
        f"outage: {model} from {outage.start:g} s {end}: {share}requests get {_mix(outage.faults)}"
    )


def describe(loaded: ScenarioFile) -> list[str]:
    """What `loaded` does, one line per part, for a person starting the simulator."""
    lines = [f"seed {loaded.scenario.seed}: {_scenario(loaded.scenario)}"]
    lines.extend(f"model {m}: {_scenario(s)}" for m, s in loaded.scenario.models.items())
    if loaded.scenario.rate_limits is not None:
        lines.append(_limits(loaded.scenario.rate_limits))
    lines.extend(_outage(o) for o in loaded.outages)
    if loaded.outages:
        lines.append("outage times count from the simulator's first request")
    return lines
