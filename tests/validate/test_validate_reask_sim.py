"""Re-asking until the answer validates, through riprap-wrapped SDK clients on the simulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import riprap
from riprap.budget import TokenUsage
from riprap.sim import Reply, Simulator
from riprap.validate import Expect, OutputValidationError, expect_async, expect_sync
from support import make_client

PROVIDERS = ["anthropic", "openai"]
BAD_TWICE_THEN_GOOD = (
    Reply(text="Sure! Here it is: {name: Ada}", usage=(100, 10)),
    Reply(text='{"name": "Ada",}', usage=(130, 12)),
    Reply(text='{"name": "Ada", "age": 36}', usage=(160, 14)),
)


def kwargs_for(provider: str) -> dict[str, Any]:
    """A request for a JSON answer, in `provider`'s shape."""
    messages = [{"role": "user", "content": "Who is Ada? JSON with name and age."}]
    model = "claude-sim" if provider == "anthropic" else "gpt-sim"
    return {"model": model, "max_tokens": 64, "messages": messages}


def endpoint(provider: str, client: Any) -> Any:
    """The create method of `client`."""
    return client.messages.create if provider == "anthropic" else client.chat.completions.create


@pytest.mark.parametrize("provider", PROVIDERS)
def test_invalid_json_twice_then_valid(provider: str, sim: Simulator) -> None:
    """Two invalid answers, then a valid one: the value after three attempts, usage summed."""
    sim.script(*BAD_TWICE_THEN_GOOD)
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    got = expect_sync(
        endpoint(provider, client), kwargs_for(provider), Expect.json(), provider=provider
    )
    assert got.value == {"name": "Ada", "age": 36}
    assert got.attempts == 3
    assert got.usage == TokenUsage(input_tokens=390, output_tokens=36)
    assert len(got.errors) == 2
    assert len(sim.requests) == 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_reask_carries_the_answer_and_the_error(provider: str, sim: Simulator) -> None:
    """The second request holds the first answer and a user turn with the JSON error."""
    sim.script(*BAD_TWICE_THEN_GOOD)
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    expect_sync(endpoint(provider, client), kwargs_for(provider), Expect.json(), provider=provider)
    body = sim.requests[1].body
    assert isinstance(body, dict)
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Sure! Here it is: {name: Ada}"
    assert "not valid JSON" in messages[2]["content"]
    assert len(sim.requests[2].body["messages"]) == 5  # type: ignore[index]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_giving_up_raises_with_the_raw_text(provider: str, sim: Simulator) -> None:
    """After the bound, OutputValidationError carries the last raw answer and all usage."""
    sim.script(*[Reply(text=f"not json {n}", usage=(50, 5)) for n in range(3)])
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    with pytest.raises(OutputValidationError) as caught:
        expect_sync(
            endpoint(provider, client), kwargs_for(provider), Expect.json(), provider=provider
        )
    error = caught.value
    assert error.raw == "not json 2"
    assert error.attempts == 3
    assert len(error.errors) == 3
    assert error.usage == TokenUsage(input_tokens=150, output_tokens=15)
    assert isinstance(error, riprap.RiprapError)


def test_max_attempts_one_never_reasks(sim: Simulator) -> None:
    """max_attempts=1 checks the answer once and asks nothing more."""
    sim.script(Reply(text="maybe"), Reply(text="yes"))
    client = riprap.wrap(make_client("openai", sim, is_async=False))
    expect = Expect.choices(["yes", "no"], max_attempts=1)
    with pytest.raises(OutputValidationError):
        expect_sync(client.chat.completions.create, kwargs_for("openai"), expect, provider="openai")
    assert len(sim.requests) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_async_loop(provider: str, sim: Simulator) -> None:
    """The async shell behaves exactly like the sync one."""
    sim.script(*BAD_TWICE_THEN_GOOD)

    async def go() -> Any:
        client = riprap.wrap(make_client(provider, sim, is_async=True))
        try:
            return await expect_async(
                endpoint(provider, client), kwargs_for(provider), Expect.json(), provider=provider
            )
        finally:
            await client.close()

    got = asyncio.run(go())
    assert got.value == {"name": "Ada", "age": 36}
    assert got.usage == TokenUsage(input_tokens=390, output_tokens=36)
