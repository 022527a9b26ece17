"""Fixtures for the simulator's tests: a running simulator and real SDK clients on it.

One simulator and one client per SDK serve the whole session (an SDK client takes ~40 ms to
build); `sim` resets the shared simulator before each test. Tests that watch connections or
close a client build their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anthropic
import openai
import pytest

from riprap.sim import Scenario, Simulator

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def anyio_backend() -> str:
    """Run anyio-marked tests on asyncio only: the SDKs' async clients target it."""
    return "asyncio"


@pytest.fixture(scope="session")
def shared_sim() -> Iterator[Simulator]:
    """The session's simulator, closed at the end."""
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def sim(shared_sim: Simulator) -> Simulator:
    """The shared simulator with an empty script, no records and the default scenario."""
    shared_sim.reset()
    shared_sim.scenario = Scenario()
    return shared_sim


@pytest.fixture(scope="session")
def claude(shared_sim: Simulator) -> Iterator[anthropic.Anthropic]:
    """A real Anthropic client on the simulator, without SDK retries."""
    base_url = shared_sim.base_url
    with anthropic.Anthropic(api_key="sk-ant-test", base_url=base_url, max_retries=0) as c:
        yield c


@pytest.fixture(scope="session")
def gpt(shared_sim: Simulator) -> Iterator[openai.OpenAI]:
    """A real OpenAI client on the simulator, without SDK retries."""
    base_url = shared_sim.base_url + "/v1"
    with openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0) as c:
        yield c
