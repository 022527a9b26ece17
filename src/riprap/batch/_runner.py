"""The run itself: items in, calls out under a concurrency cap, lines written, journal kept.

One asyncio loop. The feeder takes items (from the journal, or from Redis in shared
mode) while a slot is free and the run is not stopping; each item is one task that reads
its line again from the input, calls the wrapped client (the limiter inside `wrap` sets
the pace, the cap only bounds what is in flight) and hands its record to the writer.

Writing: the record is appended at once (a kill after `write` returns loses nothing:
the kernel holds the line); the syncer then fsyncs what was appended and only after that
marks the items finished in the journal (and in Redis). Ctrl-C / SIGTERM stop the
feeder; items in flight get `grace` seconds, then are cancelled and left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import signal
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import riprap
from riprap.batch._input import Raw, parse, read_at
from riprap.batch._output import STATES_OF, scan
from riprap.batch._records import Outcome, from_error, from_result, invalid
from riprap.budget import BudgetExceededError

if TYPE_CHECKING:
    from collections.abc import Callable

    from riprap.batch._client import Endpoint
    from riprap.batch._input import Shape
    from riprap.batch._journal import Journal, Row
    from riprap.batch._output import Output
    from riprap.batch._progress import Display, Stats
    from riprap.batch._settings import Settings
    from riprap.batch._shared import Claims, Handed

#: Rows read from the journal per query: enough to keep the feeder busy between queries.
PAGE: Final = 256
#: Longest sleep of an idle shared-mode worker before asking Redis again.
MAX_IDLE: Final = 1.0
#: Live progress redraws per second on a terminal.
LIVE_INTERVAL: Final = 0.5


@dataclass
class _Written:
    """Appended, not yet fsynced and committed."""

    outcomes: list[Outcome] = field(default_factory=list)
    #: Output offset of each appended line (shared mode's writing mark).
    offsets: list[int] = field(default_factory=list)


class Run:
    """One run of a batch job in this process."""

    def __init__(
        self,
        *,
        settings: Settings,
        journal: Journal,
        output: Output,
        stats: Stats,
        display: Display,
        shape: Shape,
        endpoint: Endpoint,
        claims: Claims | None,
        log: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.output = output
        self.stats = stats
        self.display = display
        self.shape = shape
        self.endpoint = endpoint
        self.claims = claims
        self.log = log
        self._gate = asyncio.Semaphore(settings.concurrency)
        self._stopping = asyncio.Event()
        self._force = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        #: The first error an item task died of (not a call's failure: e.g. Redis gone).
        self._failure: BaseException | None = None
        #: Items whose call is under way (cancelled when the grace period ends).
        self._calls: dict[int, asyncio.Task[None]] = {}
        self._not_done: list[int] = []
        self._wlock = asyncio.Lock()
        self._written = _Written()
        self._wake = asyncio.Event()
        self._closing = False
        self._input: Any = None
        self._create: Callable[..., Any] | None = None

    # -- the whole run ----------------------------------------------------------------

    async def main(self) -> None:
        """Run until every item is finished, or the run is stopped."""
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, self.stop, f"signal {signal.Signals(number).name}")
        client = self._client()
        view = riprap.results(client)
        self._create = (
            view.messages.create if self.shape == "anthropic" else view.chat.completions.create
        )
        helpers = [asyncio.create_task(self._ticker()), asyncio.create_task(self._syncer())]
        if self.claims is not None:
            helpers.append(asyncio.create_task(self._renewer()))
        try:
            with self.settings.input.open("rb") as self._input:
                if self.claims is None:
                    await self._feed_journal()
                else:
                    await self._feed_shared()
                await self._drain()
            if self._failure is not None:
                raise self._failure
        finally:
            self._closing = True
            self._wake.set()
            # Items still running here mean the run failed (e.g. Redis went away): _drain
            # awaited them otherwise. Await them now, or asyncio prints their tracebacks.
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            try:
                await helpers[1]
            finally:
                for helper in (helpers[0], *helpers[2:]):
                    helper.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
            await self._release()
            with contextlib.suppress(Exception):
                await client.close()
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(number)

    def stop(self, why: str) -> None:
        """Stop taking items; a second call cuts the items in flight at once."""
        if self._stopping.is_set():
            self._force.set()
            self.log(f"{why} again: cancelling {len(self._calls)} call(s) in flight now")
            return
        self.stats.interrupted = True
        self._stopping.set()
        self.log(
            f"{why}: taking no new items; letting {len(self._calls)} in flight finish "
            f"(up to {self.settings.grace:g}s; Ctrl-C again to stop now)"
        )

    def _client(self) -> Any:
        from riprap.batch._client import sdk_client  # noqa: PLC0415 - imports an SDK

        settings = self.settings
        raw = sdk_client(self.shape, base_url=self.endpoint.base_url, api_key=self.endpoint.api_key)
        options: dict[str, Any] = {
            "retry": settings.retry,
            "fallbacks": settings.fallbacks,
            "hooks": [self.stats.hook],
        }
        if settings.redis_url is not None:
            from riprap.limiter import Limiter, RedisBackend  # noqa: PLC0415

            options["limiter"] = Limiter(
                limits=settings.limits, backend=RedisBackend(settings.redis_url)
            )
        elif settings.limits is not None:
            options["limits"] = settings.limits
        budgets = _budgets(settings)
        if budgets is not None:
            options["budgets"] = budgets
        return riprap.wrap(raw, **options)

    # -- feeding ----------------------------------------------------------------------

    async def _feed_journal(self) -> None:
        after = -1
        while not self._stopping.is_set():
            rows = self.journal.pending(after, PAGE)
            if not rows:
                return
            for row in rows:
                after = row.seq
                if not await self._slot():
                    return
                self.journal.claim(row.seq)
                self._start(row)

    async def _feed_shared(self) -> None:
        claims = self.claims
        assert claims is not None  # noqa: S101 - shared mode has claims
        while not self._stopping.is_set():
            if not await self._slot():
                return
            got = await claims.next(1)
            if got is None:
                self._gate.release()
                return
            if not isinstance(got, list):
                self._gate.release()
                await self._idle(min(MAX_IDLE, max(0.01, got.seconds)))
                continue
            handed = got[0]
            row = next(self.journal.rows([handed.seq]))
            if handed.mark is not None and await self._adopted(handed, row):
                self._gate.release()
                continue
            self.journal.claim(row.seq)
            self._start(row)

    async def _slot(self) -> bool:
        """Wait for a free slot; `False` (holding none) when the run stops meanwhile."""
        acquire = asyncio.ensure_future(self._gate.acquire())
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({acquire, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not acquire.done():
            acquire.cancel()
            return False
        if self._stopping.is_set():
            self._gate.release()
            return False
        return True

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _start(self, row: Row) -> None:
        task = asyncio.create_task(self._item(row))
        self._tasks.add(task)
        self._calls[row.seq] = task
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """Forget a finished item task; one that died stops the run with its error."""
        self._tasks.discard(task)
        if task.cancelled() or (error := task.exception()) is None or self._failure is not None:
            return
        self._failure = error
        self._stopping.set()

    async def _item(self, row: Row) -> None:
        try:
            outcome = await self._process(row)
        except asyncio.CancelledError:
            self._not_done.append(row.seq)
            raise
        except _NotDone:
            self._not_done.append(row.seq)
            return
        finally:
            self._calls.pop(row.seq, None)
            self._gate.release()
        await self._put(outcome)

    async def _process(self, row: Row) -> Outcome:
        data = read_at(self._input, row.offset, row.length)
        if row.error is not None:
            return invalid(row.seq, row.line, _ident(data) if row.id_key else None, row.error)
        ident, request = parse(Raw(line=row.line, offset=row.offset, length=row.length, data=data))
        if self.settings.model is not None:
            request = {**request, "model": self.settings.model}
        assert self._create is not None  # noqa: S101 - set in main()
        try:
            result = await self._create(**request)
        except asyncio.CancelledError:
            raise
        except BudgetExceededError as error:
            if error.scope == "call":
                return from_error(row.seq, row.line, ident, error)
            # The run's budget is spent: the rest waits for a run with more money.
            self.stop(f"budget: {error}")
            raise _NotDone from error
        except Exception as error:  # noqa: BLE001 - one item's failure is its record, not the run's
            return from_error(row.seq, row.line, ident, error)
        return from_result(row.seq, row.line, ident, result)

    # -- writing ----------------------------------------------------------------------

    async def _put(self, outcome: Outcome) -> None:
        """Append the record now; the syncer makes it durable and commits it."""
        if self.claims is None:
            offset = self.output.append(outcome.data)
            self._appended(outcome, offset)
            return
        async with self._wlock, self._flock():
            offset = self.output.size()
            (owned,) = await self.claims.prepare([outcome.seq], offset)
            if not owned:
                # Another worker took the item over (this one's lease ran out): its line
                # is theirs to write. Ours is dropped, so the item stays exactly once.
                self.log(f"line {outcome.seq}: lease lost to another worker; result dropped")
                return
            self._appended(outcome, self.output.append(outcome.data))

    def _appended(self, outcome: Outcome, offset: int) -> None:
        self._written.outcomes.append(outcome)
        self._written.offsets.append(offset)
        self.stats.record(outcome)
        self._wake.set()

    async def _syncer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._written.outcomes:
                await self._sync()
            if self._closing and not self._written.outcomes:
                return

    async def _sync(self) -> None:
        batch, self._written = self._written, _Written()
        await asyncio.to_thread(self.output.sync)
        self.journal.finish(
            (o.seq, STATES_OF[o.status], o.attempts, o.kind) for o in batch.outcomes
        )
        if self.claims is not None:
            async with self._wlock:
                # Lines appended since the snapshot are not durable yet: the mark moves to
                # the first of them instead of going away.
                rest = min(self._written.offsets, default=None)
                job = await self.claims.commit([o.seq for o in batch.outcomes], mark=rest)
            # Progress shows the whole job: what every worker has committed.
            self.stats.earlier = max(0, job - self.stats.finished)

    @contextlib.asynccontextmanager
    async def _flock(self) -> Any:
        fd = self.output.fileno()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    async def _adopted(self, handed: Handed, row: Row) -> bool:
        """Whether a taken-over item's line is already in the output (then commit it)."""
        claims = self.claims
        assert claims is not None  # noqa: S101 - shared mode only
        assert handed.mark is not None  # noqa: S101 - only asked with a mark
        async with self._wlock, self._flock():
            found = next(
                (
                    state
                    for line, _, state in scan(self.output.path, handed.mark)
                    if line == row.line
                ),
                None,
            )
            if found is None:
                return False
            rest = min(self._written.offsets, default=None)
            await claims.commit([row.seq], mark=rest)
        self.journal.finish([(row.seq, found, 0, None)])
        self.stats.adopted += 1
        return True

    # -- ending -----------------------------------------------------------------------

    async def _drain(self) -> None:
        """Wait for the items in flight; once stopping, for `grace` seconds at most."""
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            while self._tasks and not self._stopping.is_set():
                await asyncio.wait({*self._tasks, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not self._tasks:
            return
        loop = asyncio.get_running_loop()
        until = loop.time() + self.settings.grace
        force = asyncio.ensure_future(self._force.wait())
        try:
            while self._calls and not self._force.is_set() and (left := until - loop.time()) > 0:
                await asyncio.wait(
                    {*self._tasks, force}, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            force.cancel()
        for task in list(self._calls.values()):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _release(self) -> None:
        """Leave the items not done pending, for the next run (or another worker)."""
        seqs, self._not_done = self._not_done, []
        self.stats.not_done += len(seqs)
        self.journal.release(seqs)
        if self.claims is not None and seqs:
            await self.claims.release(seqs)

    async def _ticker(self) -> None:
        interval = LIVE_INTERVAL if self.display.live else self.settings.interval
        while True:
            await asyncio.sleep(interval)
            self.display.tick()

    async def _renewer(self) -> None:
        claims = self.claims
        assert claims is not None  # noqa: S101 - shared mode only
        while True:
            await asyncio.sleep(self.settings.lease / 3)
            held = [*self._calls, *(o.seq for o in self._written.outcomes)]
            await claims.renew(held)


class _NotDone(Exception):  # noqa: N818 - a signal inside the run, never shown
    """The item was not finished and stays pending (the run is stopping)."""


def _ident(data: bytes) -> object:
    """The id of a line known to be invalid, when it has one."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value.get("id") if isinstance(value, dict) else None


def _budgets(settings: Settings) -> Any:
    if settings.budget is None and settings.max_call_cost is None:
        return None
    from riprap.budget import Budget, Budgets  # noqa: PLC0415

    running = () if settings.budget is None else (Budget(limit=settings.budget, key="batch"),)
    return Budgets(per_call=settings.max_call_cost, running=running)


def elapsed_since(start: float) -> float:
    """Seconds since `start` (monotonic)."""
    return time.monotonic() - start
