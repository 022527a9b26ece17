"""One process of a fleet calling through `riprap.wrap` with a Redis breaker (spawned by a test).

Unlike `breaker_fleet_worker`, it drives the real OpenAI SDK through riprap: what is under
test is the whole path (wrap → breaker admission → SDK → record), in separate processes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import openai
import redis

import riprap
from riprap.breaker import Breakers, RedisBackend, State

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier

#: Trips after 8 judged attempts, all failed; a long break: nothing recovers meanwhile.
POLICY = riprap.Breaker(min_throughput=8, consecutive_failures=None, break_duration=30.0)
#: Refusals a worker collects before it stops: it keeps calling well after the trip.
REFUSALS = 20


class Watch:
    """A hook: when this process's own attempt tripped the circuit."""

    def __init__(self) -> None:
        self.last_end = 0.0
        self.tripped_at: float | None = None

    def __call__(self, event: riprap.Event) -> None:
        """Note the time of each answer, and whether this process's attempt opened the circuit."""
        if isinstance(event, riprap.AttemptEnded):
            # Taken when the answer is in, before the breaker hears of it: requests counted
            # "after the trip" then include any that raced it, erring against the breaker.
            self.last_end = time.monotonic()
        if isinstance(event, riprap.BreakerChanged) and event.current is State.OPEN:
            self.tripped_at = self.last_end


def run(
    *, index: int, redis_url: str, base_url: str, namespace: str, start: Barrier
) -> dict[str, Any]:
    """Call the failing target through riprap until the breaker refused `REFUSALS` times."""
    store = redis.Redis.from_url(redis_url)
    watch = Watch()
    sdk = openai.OpenAI(api_key="sk-test-0000", base_url=f"{base_url}/v1",
                        default_headers={"x-fleet-worker": str(index)})  # fmt: skip
    client = riprap.wrap(
        sdk,
        breaker=Breakers(POLICY, backend=RedisBackend(store, namespace=namespace)),
        retry=riprap.Retry(max_attempts=1),
        hooks=[watch],
        validate=False,
    )
    sent = refused = 0
    try:
        start.wait()
        while refused < REFUSALS:
            try:
                client.chat.completions.create(
                    model="gpt-sim", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
                )
            except riprap.CircuitOpenError:
                refused += 1
                time.sleep(0.005)
            except openai.APIStatusError:
                sent += 1
    finally:
        client.close()
        store.close()
    return {"index": index, "sent": sent, "tripped_at": watch.tripped_at}


def main(*, out: Any, **arguments: Any) -> None:
    """Process entry point: `run(**arguments)`, its result put on `out`."""
    out.put(run(**arguments))
