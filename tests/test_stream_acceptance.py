"""The stream guarantees at volume: a seeded scenario of mid-stream faults, 200 calls each."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import riprap
from riprap.sim import Scenario, Simulator, expected_text
from riprap.testing import FakeClock
from support import make_client

CALLS = 200
MAX_TOKENS = 64
#: 15 % of streams break with an overloaded_error event, 5 % have their connection cut,
#: each somewhere in the first few deltas.
MID_STREAM = Scenario(
    seed=3, fault_rate=0.20, faults={"stream_error": 15, "stream_cut": 5},
    stream_fault_after=(0, 8),
)  # fmt: skip


def prompt(i: int) -> list[dict[str, str]]:
    """A different conversation per call, so each has its own expected text."""
    return [{"role": "user", "content": f"Stream number {i}, please."}]


async def run_all(provider: str, sim: Simulator) -> list[tuple[int, str, BaseException | None]]:
    """Stream every call concurrently; what each caller ended up with."""
    # Zero backoff under a fake clock: the waits are decide()'s business, tested elsewhere;
    # here time must not run past the retry budget's window while 200 calls overlap.
    # The limiter is off for the same reason: while a cold scope learns its limits from
    # its first call, the others poll, and under a fake clock 200 pollers push time
    # 200 times faster than it passes (the limiter has its own acceptance tests).
    client = riprap.wrap(
        make_client(provider, sim, is_async=True),
        clock=FakeClock(),
        random=lambda: 0.0,
        limiter=False,
    )

    async def one(i: int) -> tuple[int, str, BaseException | None]:
        text = ""
        try:
            if provider == "anthropic":
                stream: Any = await client.messages.create(
                    model="claude-sim", max_tokens=MAX_TOKENS, messages=prompt(i), stream=True
                )
                async for event in stream:
                    if event.type == "content_block_delta":
                        text += event.delta.text
            else:
                stream = await client.chat.completions.create(
                    model="gpt-sim", max_tokens=MAX_TOKENS, messages=prompt(i), stream=True
                )
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        text += chunk.choices[0].delta.content
        except riprap.StreamInterruptedError as error:
            return i, text, error
        return i, text, None

    try:
        return await asyncio.gather(*(one(i) for i in range(CALLS)))
    finally:
        await client.close()


def test_anthropic_streams_complete_exactly_once_under_mid_stream_faults() -> None:
    """200 streams, 20 % broken mid-way: each caller gets the exact full text, no gap, no repeat."""
    with Simulator(scenario=MID_STREAM) as sim:
        outcomes = asyncio.run(run_all("anthropic", sim))
        broken = len(sim.requests) - CALLS
    assert broken >= 0.1 * CALLS  # the scenario really did break streams
    for i, text, error in outcomes:
        assert error is None
        assert text == expected_text(prompt(i), MAX_TOKENS), i


def test_openai_streams_complete_or_say_they_did_not() -> None:
    """OpenAI cannot resume: every call completes exactly, or raises with a true prefix."""
    with Simulator(scenario=MID_STREAM) as sim:
        outcomes = asyncio.run(run_all("openai", sim))
    interrupted = 0
    for i, text, error in outcomes:
        expected = expected_text(prompt(i), MAX_TOKENS)
        if error is None:
            assert text == expected, i
        else:
            interrupted += 1
            assert isinstance(error, riprap.StreamInterruptedError)
            assert error.partial_text == text
            # A break after the last delta but before the finish chunk still raises: the
            # caller cannot know the text was complete, so riprap never claims it.
            assert expected.startswith(text)
    assert 0 < interrupted < 0.3 * CALLS


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_breaks_before_the_first_token_are_retried(provider: str) -> None:
    """Faults before any text (after 0 deltas) never reach an OpenAI caller either."""
    scenario = Scenario(seed=5, fault_rate=0.3, faults={"stream_error": 1, "stream_cut": 1},
                        stream_fault_after=(0, 0))  # fmt: skip
    with Simulator(scenario=scenario) as sim:
        outcomes = asyncio.run(run_all(provider, sim))
        assert len(sim.requests) > CALLS
    assert all(error is None for _, _, error in outcomes)
    assert all(text == expected_text(prompt(i), MAX_TOKENS) for i, text, _ in outcomes)
