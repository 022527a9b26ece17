"""Running a workload through one contender's session, and judging every answer.

A call succeeds only when the caller got the whole, right text: a stream that ended
without its end marker, or an answer whose text is not the simulator's, is a failure
even if no exception said so (the bare SDKs return a truncated stream as if complete).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from riprap._bench._contenders import failure_label
from riprap._bench._metrics import Outcome
from riprap._bench._sdk import expected

if TYPE_CHECKING:
    from riprap._bench._contenders import Session
    from riprap._bench._sdk import Provider, Request
    from riprap._bench._workload import Workload

#: The failure label of a call the caller abandoned (after the workload's patience).
GAVE_UP = "gave up"
#: The failure label of an answer that came back cut or wrong, without an error.
INCOMPLETE = "incomplete answer"


async def _one(
    session: Session, provider: Provider, request: Request, patience: float
) -> str | None:
    """Make one call; its failure label, or None."""
    try:
        async with asyncio.timeout(patience) as limit:
            answer = await session.call(request)
    except TimeoutError as error:
        if limit.expired():
            return GAVE_UP
        return failure_label(error, provider)
    except Exception as error:  # noqa: BLE001 - every failure is tallied, by kind
        return failure_label(error, provider)
    if not answer.complete or answer.text != expected(provider, request):
        return INCOMPLETE
    return None


async def drive(session: Session, provider: Provider, workload: Workload) -> list[Outcome]:
    """Run `workload` through `session`; one outcome per call, in call order."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    gate = asyncio.Semaphore(workload.slots if workload.shape == "closed" else workload.calls)
    outcomes: list[Outcome | None] = [None] * workload.calls
    arrivals = workload.arrivals() if workload.shape == "open" else [0.0] * workload.calls

    async def run(request: Request, at: float) -> None:
        delay = began + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        async with gate:
            start = loop.time() - began
            failure = await _one(session, provider, request, workload.patience)
            outcomes[request.index] = Outcome(start, loop.time() - began, failure)

    async with asyncio.TaskGroup() as group:
        for request, at in zip(workload.requests(), arrivals, strict=True):
            group.create_task(run(request, at))
    return [o for o in outcomes if o is not None]
