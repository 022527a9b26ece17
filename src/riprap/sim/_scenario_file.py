"""Scenario files: a simulator setup written in TOML, checked key by key, and the shipped ones.

The schema is documented in ``docs/simulator.md``; in short::

    name = "flaky"                 # default: the file's stem
    description = "what it does"
    seed = 7
    fault_rate = 0.25              # the default fault mix ...
    faults = { 529 = 1, 500 = 1, 503 = 1, reset = 1 }
    latency = [0.05, 0.4]
    retry_after = 2
    stream_fault_after = [1, 6]
    stream_stall_for = 5

    [models."claude-haiku-4-5-20251001"]   # ... and per-model overrides of any of it
    fault_rate = 0.02

    [rate_limits]                  # token buckets every model gets
    requests = { per_minute = 50, burst = 5 }
    foreign = 0.1

    [[outages]]                    # windows in which a model fails, then recovers
    model = "claude-sonnet-4-6"
    start = 0
    end = 20
    status = 529

Every value is checked before anything starts; an error names the file, the key path and
the bad value. Unknown keys are errors.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypedDict, Unpack

from riprap.sim._limits import Bucket, RateLimits
from riprap.sim._outage import Outage
from riprap.sim._script import Scenario
from riprap.sim._server import Simulator
from riprap.sim._toml_check import ScenarioFileError, Table

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

#: Named faults a scenario's mix may weigh, besides HTTP statuses.
SCENARIO_FAULTS: Final = (
    "reset",
    "close",
    "hang",
    "bad_json",
    "stream_error",
    "stream_cut",
    "stream_stall",
    "stream_truncate",
)
#: Named faults an outage may answer with (no stream faults: an outage refuses requests).
OUTAGE_FAULTS: Final = ("reset", "close", "hang", "bad_json")
_BUCKETS: Final = ("requests", "input_tokens", "output_tokens", "tokens")
_SHIPPED: Final = "scenarios"


class SimulatorOptions(TypedDict, total=False):
    """Keyword arguments of `Simulator` that `ScenarioFile.simulator` passes through."""

    host: str
    port: int
    scenario: Scenario
    outages: Iterable[Outage]
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    max_records: int | None


class _Mix(TypedDict, total=False):
    """`Scenario` keywords as read from a table (each value already checked)."""

    seed: int
    fault_rate: float
    faults: Mapping[int | str, float]
    latency: tuple[float, float]
    retry_after: float
    stream_fault_after: tuple[int, int]
    stream_stall_for: float
    models: Mapping[str, Scenario]
    rate_limits: RateLimits | None


@dataclass(frozen=True, kw_only=True)
class ScenarioFile:
    """A scenario file, read and checked: what the simulator should do, and why.

    Attributes:
        name: The ``name`` key, or the file's stem.
        description: The ``description`` key: what the scenario does, in a sentence or two.
        scenario: The seeded fault mix, per-model overrides and rate limits.
        outages: The outage windows, timed from the simulator's first request.
        source: Where it was read from (a path, or ``NAME.toml`` for a shipped one).
    """

    name: str
    description: str
    scenario: Scenario
    outages: tuple[Outage, ...] = ()
    source: str = "<string>"

    def simulator(self, **overrides: Unpack[SimulatorOptions]) -> Simulator:
        """An unstarted `Simulator` set up by this file; `overrides` replace its arguments."""
        options: SimulatorOptions = {"scenario": self.scenario, "outages": self.outages}
        options.update(overrides)
        return Simulator(**options)


def scenario_names() -> tuple[str, ...]:
    """The names of the scenarios shipped with riprap, sorted."""
    folder = resources.files("riprap.sim").joinpath(_SHIPPED)
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


def _is_name(source: str) -> bool:
    """Whether `source` names a shipped scenario rather than a file (no slash, no .toml)."""
    return "/" not in source and os.sep not in source and not source.endswith(".toml")


def load_scenario(source: str | os.PathLike[str]) -> ScenarioFile:
    """Read a scenario: a TOML file's path, or the name of a shipped one (`scenario_names`).

    A string without a slash and without the ``.toml`` suffix is a shipped name; anything
    else is a path. Raises `ScenarioFileError` naming the file, key path and bad value.
    """
    if isinstance(source, str) and _is_name(source):
        shown = f"{source}.toml"
        if source not in scenario_names():
            raise ScenarioFileError(
                shown,
                None,
                f"no shipped scenario named {source!r} (shipped: "
                f"{', '.join(scenario_names())}); a file path needs a '/' or '.toml'",
            )
        text = resources.files("riprap.sim").joinpath(_SHIPPED, shown).read_text("utf-8")
        return parse_scenario(text, file=shown, default_name=source)
    path = Path(source)
    shown = os.fspath(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioFileError(shown, None, "no such file") from None
    except UnicodeDecodeError:
        raise ScenarioFileError(shown, None, "is not UTF-8 text") from None
    except OSError as exc:
        raise ScenarioFileError(shown, None, f"cannot be read ({exc.strerror})") from None
    return parse_scenario(text, file=shown, default_name=path.stem)


def parse_scenario(text: str, *, file: str = "<string>", default_name: str = "") -> ScenarioFile:
    """Read a scenario from TOML `text`; `file` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioFileError(file, None, f"is not valid TOML ({exc})") from None
    top = Table(file, "", data)
    name = top.string("name", default_name) or "scenario"
    description = top.string("description", "")
    seed = top.integer("seed", 0)
    mix = _mix(top, {"seed": seed})
    models: dict[str, Scenario] = {}
    if (model_tables := top.table("models")) is not None:
        for model in model_tables.data:
            sub = model_tables.table(model)
            assert sub is not None  # noqa: S101 -- the key exists
            models[model] = _scenario(sub, _mix(sub, mix))
            sub.done()
        model_tables.done()
    limits = _rate_limits(top.table("rate_limits"))
    outages = tuple(_outage(t, seed) for t in top.tables("outages"))
    scenario = _scenario(top, {**mix, "models": models, "rate_limits": limits})
    top.done()
    return ScenarioFile(
        name=name, description=description, scenario=scenario, outages=outages, source=file
    )


def _scenario(table: Table, kwargs: _Mix) -> Scenario:
    try:
        return Scenario(**kwargs)
    except ValueError as exc:  # a rule across keys that _mix does not check
        raise table.error(None, str(exc)) from None


def _mix(table: Table, base: _Mix) -> _Mix:
    """`Scenario` keywords: the fault mix, latency and stream faults `table` sets, over `base`."""
    mix = base.copy()
    if (rate := table.number("fault_rate", None, high=1.0)) is not None:
        mix["fault_rate"] = rate
    if (faults := table.table("faults")) is not None:
        mix["faults"] = _weights(faults, SCENARIO_FAULTS)
    if (latency := table.pair("latency")) is not None:
        low, high = (table.check_number("latency", n) for n in latency)
        if low > high:
            raise table.error("latency", f"{latency!r}: low exceeds high")
        mix["latency"] = (low, high)
    if (retry_after := table.number("retry_after", None)) is not None:
        mix["retry_after"] = retry_after
    if (after := table.pair("stream_fault_after")) is not None:
        ints = [table.integer_in("stream_fault_after", n) for n in after]
        if ints[0] > ints[1]:
            raise table.error("stream_fault_after", f"{after!r}: low exceeds high")
        mix["stream_fault_after"] = (ints[0], ints[1])
    if (stall := table.number("stream_stall_for", None)) is not None:
        mix["stream_stall_for"] = stall
    return mix


def _weights(table: Table, named: tuple[str, ...]) -> dict[int | str, float]:
    """A fault mix: HTTP status (400..599) or named fault -> weight >= 0, one positive."""
    weights: dict[int | str, float] = {}
    for key, value in table.data.items():
        table.has(key)
        kind: int | str = key
        if key.isdigit():
            kind = int(key)
            if not 400 <= kind <= 599:  # noqa: PLR2004
                raise table.error(key, "is not an HTTP error status (400..599)")
        elif key not in named:
            raise table.error(key, f"is not a status or one of: {', '.join(named)}")
        weights[kind] = table.check_number(key, value)
    if not any(weights.values()):
        raise table.error(None, "needs at least one fault with a weight > 0")
    return weights


def _rate_limits(table: Table | None) -> RateLimits | None:
    if table is None:
        return None
    buckets: dict[str, Bucket] = {}
    for name in _BUCKETS:
        if (bucket := table.table(name)) is not None:
            per_minute = bucket.positive("per_minute", None)
            if per_minute is None:
                raise bucket.error("per_minute", "is required")
            buckets[name] = Bucket(per_minute=per_minute, burst=bucket.positive("burst", None))
            bucket.done()
    foreign = table.number("foreign", 0.0, high=1.0)
    if foreign is not None and foreign >= 1.0:
        raise table.error("foreign", f"{foreign!r} is not below 1 (1 leaves no capacity)")
    table.done()
    if not buckets:
        raise table.error(None, f"sets no bucket (one of: {', '.join(_BUCKETS)})")
    return RateLimits(**buckets, foreign=foreign or 0.0)


def _outage(table: Table, seed: int) -> Outage:
    start = table.number("start", 0.0)
    end = table.number("end", None)
    if end is not None and start is not None and end <= start:
        raise table.error("end", f"{end!r} is not after start ({start!r})")
    model = table.string("model", "") or None
    faults: dict[int | str, float] = {529: 1.0}
    status = table.raw("status")
    sub = table.table("faults")
    if status is not None and sub is not None:
        raise table.error("status", "and faults are exclusive: status means faults = {STATUS = 1}")
    if status is not None:
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:  # noqa: PLR2004
            raise table.error("status", f"{status!r} is not an HTTP error status (400..599)")
        faults = {status: 1.0}
    elif sub is not None:
        faults = _weights(sub, OUTAGE_FAULTS)
    rate = table.number("fault_rate", 1.0, high=1.0)
    retry_after = table.number("retry_after", None)
    table.done()
    try:
        return Outage(
            start=start or 0.0,
            end=end,
            model=model,
            fault_rate=1.0 if rate is None else rate,
            faults=faults,
            retry_after=retry_after,
            seed=seed,
        )
    except ValueError as exc:
        raise table.error(None, str(exc)) from None
