"""Shared mode through a real Redis: claims, takeovers, fencing, and two processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

from batch_support import id_counts, write_input

from riprap.batch._shared import Claims, Wait
from riprap.sim import Scenario, Simulator

if TYPE_CHECKING:
    from pathlib import Path


def _claims(redis_url: str, job: str, lease: float = 60.0) -> Claims:
    return Claims(redis_url, job=job, lease=lease)


def test_items_are_handed_out_once_then_done(redis_url: str) -> None:
    """Two workers asking in turn get disjoint items; then the job is done."""

    async def go() -> tuple[list[int], list[int], tuple[object, object]]:
        job = uuid.uuid4().hex
        a, b = _claims(redis_url, job), _claims(redis_url, job)
        try:
            assert await a.join(5) == 0
            assert await b.join(5) == 0
            got_a = await a.next(3)
            got_b = await b.next(3)
            assert isinstance(got_a, list)
            assert isinstance(got_b, list)
            waiting = await a.next(1)
            await a.prepare([h.seq for h in got_a], 0)
            await a.commit([h.seq for h in got_a], mark=None)
            await b.prepare([h.seq for h in got_b], 0)
            assert await b.commit([h.seq for h in got_b], mark=None) == 5
            return [h.seq for h in got_a], [h.seq for h in got_b], (waiting, await a.next(1))
        finally:
            await a.close()
            await b.close()

    seqs_a, seqs_b, (waiting, done) = asyncio.run(go())
    assert (seqs_a, seqs_b) == ([0, 1, 2], [3, 4])
    assert isinstance(waiting, Wait)
    assert done is None


def test_a_dead_workers_item_is_taken_over_with_its_writing_mark(redis_url: str) -> None:
    """After the lease, another takes the item with the owner's mark; the owner is fenced."""

    async def go() -> None:
        job = uuid.uuid4().hex
        a, b = _claims(redis_url, job, lease=1.0), _claims(redis_url, job, lease=1.0)
        try:
            await a.join(1)
            await b.join(1)
            (handed,) = await a.next(1)  # type: ignore[misc]
            assert await a.prepare([handed.seq], 1234) == [True]
            await asyncio.sleep(1.1)  # the lease runs out: worker a "died" mid-write
            (taken,) = await b.next(1)  # type: ignore[misc]
            assert (taken.seq, taken.previous, taken.mark) == (0, a.worker, 1234)
            assert await a.prepare([0], 2000) == [False]
            assert await a.commit([0], mark=None) == 0
            assert await b.commit([0], mark=None) == 1
        finally:
            await a.close()
            await b.close()

    asyncio.run(go())


def test_two_processes_share_a_job_every_id_once(tmp_path: Path, redis_url: str) -> None:
    """Two `riprap batch --redis` processes on one input and output: each id exactly once."""
    ids = write_input(tmp_path / "in.jsonl", 60)
    scenario = Scenario(seed=5, fault_rate=0.2, faults={500: 1.0}, latency=(0.02, 0.04))
    with Simulator(scenario=scenario) as sim:
        command = [sys.executable, "-m", "riprap", "batch", str(tmp_path / "in.jsonl"), "-o",
                   str(tmp_path / "out.jsonl"), "--provider", "anthropic", "--base-url",
                   sim.base_url, "--redis", redis_url, "--job", uuid.uuid4().hex,
                   "--concurrency", "4", "--progress", "off"]  # fmt: skip
        env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-test-0000"}
        workers = [
            subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)  # noqa: S603
            for _ in range(2)
        ]
        started = time.monotonic()
        errors = [w.communicate(timeout=60)[1] for w in workers]
        assert time.monotonic() - started < 60
        served = {r.body["messages"][0]["content"] for r in sim.requests if r.reply.status == 200}  # type: ignore[index]
    assert [w.returncode for w in workers] == [0, 0], errors
    assert id_counts(tmp_path / "out.jsonl") == dict.fromkeys(ids, 1)
    assert len(served) == 60
    # Both took part (each summary counts its own successes).
    assert all("succeeded           0\n" not in e for e in errors), errors
