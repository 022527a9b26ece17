"""Helpers for the limiter tests: plans, needs, and a limiter over either backend."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from riprap.limiter import Limiter, Limits, MemoryBackend, RedisBackend
from riprap.limiter._bucket import Plan

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.testing import FakeClock


def plan(**limits: Any) -> Plan:
    """A plan with `Limits(**limits)`, no headroom and no jitter unless given."""
    limits.setdefault("headroom", 1.0)
    limits.setdefault("jitter", 0.0)
    return Plan.of(Limits(**limits), poll=0.1, probe_timeout=60.0)


def vec(requests: float = 1, input_tokens: float = 0, output_tokens: float = 0) -> Any:
    """A need vector: (requests, input, output, input + output)."""
    return (
        float(requests),
        float(input_tokens),
        float(output_tokens),
        float(input_tokens + output_tokens),
    )


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Any]:
    """Builds limiters on the fake clock over the memory backend or a real Redis."""
    made: list[Limiter] = []
    namespace = f"t{uuid.uuid4().hex}"  # a fresh namespace: no state from another test

    def make(limits: Limits | None = None, **options: Any) -> Limiter:
        if request.param == "memory":
            backend: Any = MemoryBackend()
        else:
            url = request.getfixturevalue("redis_url")
            backend = RedisBackend(url, namespace=namespace, use_server_time=False)
        limiter = Limiter(limits=limits, backend=backend, clock=clock, **options)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.close()
