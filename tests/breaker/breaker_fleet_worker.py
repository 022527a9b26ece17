"""One process of a fleet sharing a Redis breaker (run by `test_breaker_fleet.py` via spawn).

It speaks HTTP to the simulator with the standard library rather than an SDK: four
processes importing an SDK each would spend seconds of CPU on imports, and what is under
test is the shared breaker, not the client.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

import redis

from riprap._kinds import kind_for_status
from riprap.breaker import Breaker, CircuitBreaker, RedisBackend, Rejected, State

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier

#: A long break: nothing recovers while the test watches.
POLICY = Breaker(min_throughput=8, consecutive_failures=None, break_duration=30.0)
KEY = "openai:gpt-sim:chat"
#: Refusals a worker collects before it stops: it keeps asking well after the trip.
REFUSALS = 20


def run(
    *, index: int, redis_url: str, base_url: str, namespace: str, start: Barrier
) -> dict[str, Any]:
    """Call the failing target through the shared breaker until it has refused enough times."""
    store = redis.Redis.from_url(redis_url)
    address = urllib.parse.urlsplit(base_url)
    client = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    headers = {"content-type": "application/json", "authorization": "Bearer sk-test-0000",
               "x-fleet-worker": str(index)}  # fmt: skip
    body = json.dumps({"model": "gpt-sim", "messages": [{"role": "user", "content": "hi"}]})
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=RedisBackend(store, namespace=namespace))
    sent = refused = 0
    tripped_at = None
    try:
        start.wait()
        while refused < REFUSALS:
            admission = breaker.allow()
            if isinstance(admission, Rejected):
                refused += 1
                time.sleep(0.005)
                continue
            sent += 1
            client.request("POST", "/v1/chat/completions", body=body, headers=headers)
            response = client.getresponse()
            response.read()
            kind = None if response.status < 400 else kind_for_status(response.status)
            # Read before recording: requests counted "after the trip" then include any
            # that raced the trip itself, so the count errs against the breaker.
            before = time.monotonic()
            transition = breaker.record(admission, kind)
            if transition is not None and transition.current is State.OPEN:
                tripped_at = before
    finally:
        client.close()
        store.close()
    return {"index": index, "sent": sent, "tripped_at": tripped_at}


def main(*, out: Any, **arguments: Any) -> None:
    """Process entry point: `run(**arguments)`, its result put on `out`."""
    out.put(run(**arguments))
