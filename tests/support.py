"""Helpers shared by the tests: real SDK clients pointed at the simulator."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import anthropic
import openai

if TYPE_CHECKING:
    from riprap.sim import Simulator

#: Obviously fake keys; tests never see a real one.
ANTHROPIC_KEY = "sk-ant-test-0000"
OPENAI_KEY = "sk-test-0000"


#: Sync clients made by `make_client` in the running test; conftest closes them after it,
#: so no test leaks a pooled socket (pytest turns the ResourceWarning into an error).
OPEN_CLIENTS: list[Any] = []


def make_client(provider: str, sim: Simulator, *, is_async: bool, **options: Any) -> Any:
    """A real SDK client of `provider`, sync or async, pointed at `sim`."""
    if provider == "anthropic":
        cls: Any = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
        client = cls(
            api_key=options.pop("api_key", ANTHROPIC_KEY), base_url=sim.base_url, **options
        )
    else:
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        client = cls(
            api_key=options.pop("api_key", OPENAI_KEY), base_url=f"{sim.base_url}/v1", **options
        )
    if not is_async:
        OPEN_CLIENTS.append(client)
    return client


def create(provider: str, client: Any, **overrides: Any) -> Any:
    """Make the provider's basic text call (returns a coroutine for async clients)."""
    messages = [{"role": "user", "content": "Hello"}]
    if provider == "anthropic":
        kwargs: dict[str, Any] = {"model": "claude-sim", "max_tokens": 32, "messages": messages}
        kwargs.update(overrides)
        return client.messages.create(**kwargs)
    kwargs = {"model": "gpt-sim", "max_tokens": 32, "messages": messages}
    kwargs.update(overrides)
    return client.chat.completions.create(**kwargs)


def call_once(
    provider: str, sim: Simulator, *, is_async: bool, wrap: Any, **overrides: Any
) -> tuple[Any, BaseException | None]:
    """Make one call through `wrap(client)`, sync or async; returns (value, error).

    An async client is made and closed inside its own event loop, so that every test
    gets a fresh connection pool bound to a live loop.
    """
    if not is_async:
        client = wrap(make_client(provider, sim, is_async=False))
        try:
            return create(provider, client, **overrides), None
        except Exception as error:  # noqa: BLE001 - the test inspects whatever was raised
            return None, error
        finally:
            client.close()

    async def go() -> tuple[Any, BaseException | None]:
        client = wrap(make_client(provider, sim, is_async=True))
        try:
            return await create(provider, client, **overrides), None
        except Exception as error:  # noqa: BLE001 - the test inspects whatever was raised
            return None, error
        finally:
            await client.close()

    return asyncio.run(go())
