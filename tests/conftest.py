"""Fixtures: riprap's simulator on 127.0.0.1, and real SDK clients pointed at it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from redis_server import redis_url
from riprap.sim import Simulator
from riprap.testing import FakeClock
from support import OPEN_CLIENTS

__all__ = ["redis_url"]  # a session fixture, shared by every test directory

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (anyio's pytest plugin ships with the SDKs)."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Close the sync SDK clients a test made, so no pooled socket outlives it."""
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A fresh simulator for one test."""
    with Simulator() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock: waits are recorded, not slept."""
    return FakeClock()
