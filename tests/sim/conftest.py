"""Fixtures for the simulator's tests: a running simulator and real SDK clients on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anthropic
import openai
import pytest

from riprap.sim import Simulator

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def anyio_backend() -> str:
    """Run anyio-marked tests on asyncio only: the SDKs' async clients target it."""
    return "asyncio"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A running simulator, closed after the test."""
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def claude(sim: Simulator) -> Iterator[anthropic.Anthropic]:
    """A real Anthropic client on the simulator, without SDK retries."""
    with anthropic.Anthropic(api_key="sk-ant-test", base_url=sim.base_url, max_retries=0) as c:
        yield c


@pytest.fixture
def gpt(sim: Simulator) -> Iterator[openai.OpenAI]:
    """A real OpenAI client on the simulator, without SDK retries."""
    with openai.OpenAI(api_key="sk-test", base_url=sim.base_url + "/v1", max_retries=0) as c:
        yield c
