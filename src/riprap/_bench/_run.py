"""The benchmark run: every scenario, every contender, each on a fresh simulator.

All in one process and one event loop. Each contender runs against its own simulator
with the same scenario and seed, so each meets the same faults in the same request
order. How they share the machine depends on what paces the workload:

- paced by the CPU (a closed loop, no rate limit): one after the other, since at once
  they would slow each other down unevenly; the order rotates from scenario to
  scenario, so no contender always runs first (on a machine just warmed up) or last;
- paced by the clock (arrivals, a rate limit): all at once, interleaved on one event
  loop, since each needs little CPU and the clock, not the machine, sets the makespan.

A quick run (a smoke test) runs everything at once.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
import time
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from riprap._bench._contenders import Setup
from riprap._bench._drive import drive
from riprap._bench._sdk import MODELS
from riprap._bench._summary import Row, sent_of, summarize, windows_of
from riprap._bench._table import Block, render
from riprap._bench._workload import fit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from riprap._bench._contenders import Contender
    from riprap._bench._sdk import Provider
    from riprap._bench._workload import Plan
    from riprap.sim import Outage, Scenario

T = TypeVar("T")

#: Numbers the runs of a process, for their API keys (see `Setup.run`).
_RUNS = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Named:
    """A scenario to run, as the benchmark needs it.

    Attributes:
        name: Its name.
        description: What it simulates, in a sentence or two.
        scenario: The simulator's per-request faults, latency and rate limits.
        outages: Its outage windows.
    """

    name: str
    description: str
    scenario: Scenario
    outages: tuple[Outage, ...] = ()


def rotated(items: Sequence[T], by: int) -> list[T]:
    """`items` starting at position `by` (mod their number), wrapping around."""
    if not items:
        return []
    k = by % len(items)
    return [*items[k:], *items[:k]]


def reseeded(named: Named, seed: int | None) -> Named:
    """`named` with every seed in it (per-model mixes and outages too) replaced by `seed`."""
    if seed is None:
        return named
    scenario = named.scenario
    models = {name: replace(mix, seed=seed) for name, mix in scenario.models.items()}
    return replace(
        named,
        scenario=replace(scenario, seed=seed, models=models),
        outages=tuple(replace(o, seed=seed) for o in named.outages),
    )


class _Arena:
    """One contender on its own simulator: opened, run, closed.

    Opening (starting the simulator, making the client) blocks the event loop for a
    moment, so every arena of a scenario is opened before any of them runs.
    """

    def __init__(self, contender: Contender, provider: Provider, plan: Plan, seed: int) -> None:
        from riprap.sim import Simulator  # noqa: PLC0415 - the sim extra

        self.contender, self.provider, self.plan = contender, provider, plan
        self.sim = Simulator(scenario=plan.scenario, outages=plan.outages)
        self.sim.start()
        try:
            model = plan.workload.model
            setup = Setup(
                provider=provider, base_url=self.sim.base_url, model=model, seed=seed,
                run=f"{contender.key}-{next(_RUNS)}",
            )  # fmt: skip
            self.session = contender.opens(setup)
        except BaseException:
            self.sim.close()
            raise

    async def run(self, progress: Callable[[str], None], name: str) -> Row:
        """Drive the workload, close everything, and sum it up."""
        began = time.monotonic()
        try:
            outcomes = await drive(self.session, self.provider, self.plan.workload)
        finally:
            try:
                await self.session.aclose()
            finally:
                self.sim.close()
        label = self.contender.label
        progress(f"  {name}: {label} done in {time.monotonic() - began:.1f} s")
        sent = sent_of(self.sim.requests)
        return summarize(label, outcomes, sent, windows_of(self.plan.outages))


async def run_scenario(
    named: Named,
    *,
    contenders: Sequence[Contender],
    provider: Provider,
    calls: int | None,
    quick: bool,
    position: int,
    progress: Callable[[str], None],
    broken: Mapping[str, str],
) -> Block:
    """Run every contender on `named`; the block of its table.

    `broken` holds the contenders that failed their warm-up, and why: they get a row
    saying so instead of a run.
    """
    plan = fit(named.scenario, named.outages, provider=provider, calls=calls, quick=quick)
    seed = named.scenario.seed
    # The SDKs' and tenacity's jitter read the global generator: seed it per scenario.
    random.seed(seed)
    rows: dict[str, Row] = {}
    runnable = []
    model_down = plan.workload.model != MODELS[provider]
    for contender in rotated(contenders, position):
        missing = contender.missing() or broken.get(contender.key)
        if contender.needs_fallback and not model_down:
            missing = "n/a: no model is down"
        if missing is None:
            runnable.append(contender)
        else:
            rows[contender.key] = Row(label=contender.label, missing=missing)
    if plan.paced or quick:
        arenas: list[_Arena] = []
        try:
            # One by one, not a comprehension: a failure must close the arenas opened.
            for contender in runnable:
                arenas.append(_Arena(contender, provider, plan, seed))  # noqa: PERF401
        except BaseException:
            for arena in arenas:
                await arena.session.aclose()
                arena.sim.close()
            raise
        async with asyncio.TaskGroup() as group:
            tasks = {
                a.contender.key: group.create_task(a.run(progress, named.name)) for a in arenas
            }
        rows.update({key: task.result() for key, task in tasks.items()})
    else:
        for contender in runnable:
            arena = _Arena(contender, provider, plan, seed)
            rows[contender.key] = await arena.run(progress, named.name)
    return Block(
        name=named.name,
        description=named.description,
        workload=plan.workload.describe(),
        seed=named.scenario.seed,
        minimum=plan.minimum,
        rows=[rows[c.key] for c in contenders],
    )


async def warm_up(contenders: Sequence[Contender], provider: Provider) -> dict[str, str]:
    """One plain and one streamed call through every contender, on a clean simulator.

    The first call in a process pays for lazy imports and the SDKs' first parse of a
    response type; nobody should pay it inside a measured run. Returns the contenders
    that cannot make a call on a simulator injecting no fault (a library of another
    version than the one written for, say), with the reason: they are not run.
    """
    broken: dict[str, str] = {}
    from riprap._bench._sdk import Request  # noqa: PLC0415
    from riprap.sim import Simulator  # noqa: PLC0415 - the sim extra

    with Simulator() as sim:
        for contender in contenders:
            setup = Setup(
                provider=provider, base_url=sim.base_url, model=MODELS[provider], seed=0,
                run=f"{contender.key}-warm-up",
            )  # fmt: skip
            try:
                session = contender.opens(setup)
                try:
                    for stream in (False, True):
                        await session.call(Request(index=0, model=setup.model, stream=stream))
                finally:
                    await session.aclose()
            except Exception as error:  # noqa: BLE001 - reported in the table, not raised
                broken[contender.key] = f"could not run: {type(error).__name__}: {error}"[:100]
    return broken


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # noqa: T201


def run_bench(
    scenarios: Sequence[Named],
    *,
    contenders: Sequence[Contender],
    provider: Provider,
    calls: int | None,
    seed: int | None,
    quick: bool,
    out: Callable[[str], None] = print,
    progress: Callable[[str], None] = _stderr,
) -> list[Block]:
    """Run and print every scenario's table, in order; the blocks printed."""
    broken: dict[str, str] = {}

    async def scenario(position: int, named: Named) -> Block:
        return await run_scenario(
            reseeded(named, seed), contenders=contenders, provider=provider, calls=calls,
            quick=quick, position=position, progress=progress, broken=broken,
        )  # fmt: skip

    async def run_all() -> list[Block]:
        broken.update(await warm_up([c for c in contenders if c.missing() is None], provider))
        if quick:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(scenario(*item)) for item in enumerate(scenarios)]
            blocks = [t.result() for t in tasks]
            for block in blocks:
                out(render(block) + "\n")
            return blocks
        blocks = []
        for position, named in enumerate(scenarios):
            block = await scenario(position, named)
            out(render(block) + "\n")
            blocks.append(block)
        return blocks

    with warnings.catch_warnings():
        # The Anthropic SDK warns on every call to a model it knows is retiring; a shipped
        # scenario may well fail such a model on purpose, and the table is the output.
        warnings.filterwarnings("ignore", "The model .* is deprecated", DeprecationWarning)
        return asyncio.run(run_all())
