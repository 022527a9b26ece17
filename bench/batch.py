"""`riprap batch` acceptance: throughput at the limit, SIGKILL and resume, shared mode, memory.

Run: `.venv/bin/python bench/batch.py [--only rate,kill,shared,memory] [--items 5000]`

The simulator runs in this process (one thread) and every batch is a real
`python -m riprap batch --provider anthropic --base-url ...` subprocess, so the batch's
own CPU and memory are measured alone, and two processes can share one simulator (one
provider-side rate limit) the way two hosts share one API key.

1. rate: N items against a simulator limit of R requests/s (burst B), 20 % transient
   faults (500, 503, 529, connection reset). The simulator admits a request into its
   bucket before deciding its fault, so every attempt spends quota: the rate-limit
   minimum is (attempts the simulator admitted - B) / R. Makespan is measured from the
   first request the simulator saw to the last (and, beside it, the process's wall time,
   which adds interpreter start-up).
2. kill: 5 trials; each starts a run, SIGKILLs it at a random moment, and re-runs the
   same command to the end. Checked: every id exactly once in the output, and no item
   that had received a 200 was sent again (per id, 200 responses from the simulator).
3. shared: two processes on one job through Redis (a throwaway redis-server), with the
   limit and faults of (1). Every id exactly once; combined makespan against the minimum.
4. memory: peak RSS (ru_maxrss of the batch process, from wait4) for 1,000 and 50,000
   items, no limit, no faults.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from limiter import start_redis  # bench/limiter.py: a throwaway redis-server
from riprap.sim import Bucket, RateLimits, Scenario, Simulator

FAULTS: dict[int | str, float] = {500: 1.0, 503: 1.0, 529: 1.0, "reset": 1.0}


def write_input(path: Path, count: int) -> None:
    """`count` small Anthropic requests; item i says "item i" so the simulator's log names it."""
    with path.open("w") as handle:
        for i in range(count):
            request = {
                "model": "claude-sim",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": f"item {i}"}],
            }
            handle.write(json.dumps({"id": f"id-{i}", "request": request}) + "\n")


def command(work: Path, base_url: str, *extra: str) -> list[str]:
    """The batch command line."""
    return [
        sys.executable,
        "-m",
        "riprap",
        "batch",
        str(work / "in.jsonl"),
        "-o",
        str(work / "out.jsonl"),
        "--provider",
        "anthropic",
        "--base-url",
        base_url,
        "--progress",
        "plain",
        "--progress-interval",
        "30",
        *extra,
    ]


ENV = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-bench-0000"}


def run(cmd: list[str]) -> tuple[int, float, int, str]:
    """Run to the end: (exit status, wall seconds, peak RSS in KiB, stderr's tail)."""
    began = time.monotonic()
    with tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(cmd, stderr=err, env=ENV)  # noqa: S603 - our own command
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-1500:]
    return process.returncode, time.monotonic() - began, usage.ru_maxrss, tail


def once(out: Path, count: int) -> tuple[bool, Counter[str]]:
    """Whether every id is in the output exactly once; the statuses."""
    ids = Counter(json.loads(line)["id"] for line in out.read_text().splitlines())
    statuses = Counter(json.loads(line)["status"] for line in out.read_text().splitlines())
    ok = len(ids) == count and set(ids.values()) == {1}
    return ok, statuses


def span(sim: Simulator) -> tuple[float, int, int]:
    """(seconds from the first request to the last, admitted attempts, 429s)."""
    records = sim.requests
    times = [r.time for r in records]
    limited = sum(1 for r in records if r.reply.status == 429)
    return max(times) - min(times), len(records) - limited, limited


def limited_scenario(rate: float, burst: int, seed: int) -> Scenario:
    """The rate-limited, 20 %-faulty scenario of runs 1 and 3."""
    return Scenario(
        seed=seed,
        fault_rate=0.2,
        faults=FAULTS,
        latency=(0.01, 0.03),
        rate_limits=RateLimits(requests=Bucket(per_minute=rate * 60, burst=burst)),
    )


def pace_flags(rate: float, burst: int) -> list[str]:
    """The client's limits: the provider's published numbers."""
    return ["--rpm", str(rate * 60), "--burst-seconds", str(burst / rate)]


def bench_rate(items: int, rate: float, burst: int) -> None:
    """Run 1: N items at the limit with 20 % transient faults."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        Simulator(scenario=limited_scenario(rate, burst, seed=1)) as sim,
    ):
        work = Path(tmp)
        write_input(work / "in.jsonl", items)
        status, wall, _, tail = run(
            command(work, sim.base_url, "--concurrency", "64", *pace_flags(rate, burst))
        )
        seconds, admitted, limited = span(sim)
        ok, statuses = once(work / "out.jsonl", items)
    minimum = (admitted - burst) / rate
    print(f"\n1. rate: {items} items, limit {rate:g} req/s (burst {burst}), 20 % faults")
    print(f"   exit {status}; every id once: {ok}; statuses {dict(statuses)}")
    print(f"   attempts admitted {admitted} ({admitted / items:.3f} per item), 429s {limited}")
    print(
        f"   minimum (admitted - burst)/rate = {minimum:.1f}s; items-only (N - burst)/rate = "
        f"{(items - burst) / rate:.1f}s"
    )
    print(
        f"   makespan (simulator, first→last request) {seconds:.1f}s = "
        f"{seconds / minimum:.3f}x minimum; process wall {wall:.1f}s = {wall / minimum:.3f}x"
    )
    if status != 0:
        print(tail)


def bench_kill(items: int, trials: int) -> None:
    """Run 2: SIGKILL at a random moment, then resume, `trials` times."""
    print(f"\n2. kill: {trials} trials of {items} items, SIGKILL at a random moment, then resume")
    rng = random.Random(42)
    scenario = Scenario(seed=2, fault_rate=0.2, faults=FAULTS, latency=(0.05, 0.15))
    for trial in range(trials):
        with tempfile.TemporaryDirectory() as tmp, Simulator(scenario=scenario) as sim:
            work = Path(tmp)
            write_input(work / "in.jsonl", items)
            cmd = command(work, sim.base_url, "--concurrency", "32")
            process = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, env=ENV)  # noqa: S603
            # Kill at a random moment once results flow (start-up time varies with load).
            out = work / "out.jsonl"
            began = time.monotonic()
            while not (out.exists() and out.stat().st_size) and time.monotonic() - began < 60:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 4.0))
            at = time.monotonic() - began
            killed = time.monotonic()
            process.send_signal(signal.SIGKILL)
            process.wait()
            out = work / "out.jsonl"
            written = (
                {json.loads(ln)["line"] - 1 for ln in out.read_text().splitlines()}
                if out.exists()
                else set()
            )
            before = len(written)
            status, _, _, tail = run(cmd)
            ok, _ = once(out, items)
            again, close = resent(sim.requests, killed)
            recorded_again = len({item_of(r) for r in sim.requests if r.time > killed} & written)
        print(
            f"   trial {trial + 1}: killed at {at:.2f}s with {before} lines written; resume "
            f"exit {status}; every id once: {ok}; items with a line before the kill sent "
            f"again: {recorded_again}; items whose 200 had been delivered before "
            f"the kill and were sent again: {again} ({close} of them delivered < 20 ms "
            "before the kill)"
        )
        if status != 0:
            print(tail)


def item_of(record: Any) -> int:
    """The item number a recorded request was for ("item 17" → 17)."""
    return int(record.body["messages"][0]["content"].split()[1])


def resent(records: tuple[Any, ...], killed: float) -> tuple[int, int]:
    """Items whose 200 was on the wire before the kill and that were sent again after it.

    The simulator records a request when it decides the reply; the reply leaves
    `reply.delay` (the scenario's latency) later. A 200 still being delayed at the kill
    never reached the batch, so sending that item again is not a repeat.
    """
    delivered: dict[str, float] = {}
    for r in records:
        end = r.time + r.reply.delay
        if r.reply.status == 200 and end <= killed:
            delivered[r.body["messages"][0]["content"]] = end
    again = {r.body["messages"][0]["content"] for r in records if r.time > killed} & set(delivered)
    close = sum(1 for item in again if killed - delivered[item] < 0.02)
    return len(again), close


def bench_shared(items: int, rate: float, burst: int) -> None:
    """Run 3: two processes, one job, one Redis."""
    started = start_redis()
    if started is None:
        print("\n3. shared: skipped (no redis-server)")
        return
    redis_process, url, workdir = started
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            Simulator(scenario=limited_scenario(rate, burst, seed=3)) as sim,
        ):
            work = Path(tmp)
            write_input(work / "in.jsonl", items)
            cmd = command(
                work, sim.base_url, "--concurrency", "32", "--redis", url, *pace_flags(rate, burst)
            )
            began = time.monotonic()
            errs = [tempfile.TemporaryFile("w+") for _ in range(2)]  # noqa: SIM115 - closed below
            procs = [subprocess.Popen(cmd, stderr=e, env=ENV) for e in errs]  # noqa: S603
            statuses = [p.wait() for p in procs]
            wall = time.monotonic() - began
            seconds, admitted, limited = span(sim)
            ok, kinds = once(work / "out.jsonl", items)
            shares = []
            for e in errs:
                e.seek(0)
                text = e.read()
                shares.append(
                    next(
                        (ln.split()[-1] for ln in text.splitlines() if ln.startswith("succeeded")),
                        "?",
                    )
                )
                e.close()
    finally:
        redis_process.terminate()
        redis_process.wait()
        workdir.cleanup()
    minimum = (admitted - burst) / rate
    print(
        f"\n3. shared: 2 processes, {items} items, limit {rate:g} req/s (burst {burst}), "
        "20 % faults"
    )
    print(
        f"   exits {statuses}; every id once: {ok}; statuses {dict(kinds)}; "
        f"succeeded per process {shares}"
    )
    print(f"   attempts admitted {admitted}, 429s {limited}; minimum {minimum:.1f}s")
    print(
        f"   makespan (simulator) {seconds:.1f}s = {seconds / minimum:.3f}x minimum; "
        f"wall (both processes, start-up included) {wall:.1f}s = {wall / minimum:.3f}x"
    )


def bench_memory(sizes: list[int]) -> None:
    """Run 4: peak RSS against the number of items."""
    print("\n4. memory: peak RSS of the batch process (no limit, no faults)")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp, Simulator() as sim:
            work = Path(tmp)
            write_input(work / "in.jsonl", size)
            status, wall, rss, tail = run(
                command(work, sim.base_url, "--concurrency", "32", "--rpm", "10000000")
            )
            ok, _ = once(work / "out.jsonl", size)
        print(
            f"   {size:>6} items: peak RSS {rss / 1024:.1f} MiB; {wall:.1f}s "
            f"({size / wall:.0f} items/s); exit {status}; every id once: {ok}"
        )
        if status != 0:
            print(tail)


def main() -> None:
    """Run the chosen parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="rate,kill,shared,memory")
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=80.0, help="simulator requests/s")
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--kill-items", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--shared-items", type=int, default=3000)
    parser.add_argument("--memory", default="1000,50000")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(f"riprap batch bench (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    if "rate" in parts:
        bench_rate(args.items, args.rate, args.burst)
    if "kill" in parts:
        bench_kill(args.kill_items, args.trials)
    if "shared" in parts:
        bench_shared(args.shared_items, args.rate, args.burst)
    if "memory" in parts:
        bench_memory([int(x) for x in args.memory.split(",")])


if __name__ == "__main__":
    main()


__all__: list[Any] = []
