"""The contenders: riprap and what people use instead, each as an async session.

Every contender is opened on a fresh simulator and answers `call(request)` with the
`Answer` or by raising; how it gets there (retries, waits, pacing) is its own business.
A contender whose library is not installed is still listed, with the reason, so the
table says what was not measured rather than leaving it out silently.
"""

from __future__ import annotations

import importlib.util
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from riprap._bench._sdk import (
    FAKE_KEY,
    MODELS,
    Answer,
    async_client,
    read_openai_stream,
    send,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from riprap._bench._sdk import Provider, Request
    from riprap.providers._base import SdkAdapter

#: The tenacity recipe as the OpenAI cookbook prints it ("How to handle rate limits"):
#: random exponential waits between 1 and 60 s, at most 6 attempts, every error retried.
TENACITY_MIN_WAIT: Final = 1
TENACITY_MAX_WAIT: Final = 60
TENACITY_ATTEMPTS: Final = 6

#: The SDKs' own default (both: `DEFAULT_MAX_RETRIES = 2`).
SDK_DEFAULT_RETRIES: Final = 2


@dataclass(frozen=True, slots=True)
class Setup:
    """Where and how a contender is opened.

    Attributes:
        provider: The API (and SDK) used.
        base_url: The simulator's address.
        model: The model every call of the workload asks.
        seed: Seeds the contender's own jitter, where it takes a generator.
        run: Unique to this run: part of the API key, so that nothing kept per key in
            the process (riprap's limiter learns limits per provider, model and key)
            carries over from one run to the next, as the simulator does not.
    """

    provider: Provider
    base_url: str
    model: str
    seed: int
    run: str


class Session(Protocol):
    """One contender, open on one simulator."""

    async def call(self, request: Request) -> Answer:
        """Make one call; raise if the contender gives up."""
        ...

    async def aclose(self) -> None:
        """Release the client's connections."""
        ...


@dataclass(frozen=True, slots=True)
class Contender:
    """A way of calling the API, as a row of the table.

    Attributes:
        key: Short name, used on the command line and in tests.
        label: The row's name.
        opens: Makes a session for a `Setup`.
        needs: The module it imports; None if only riprap and the SDK.
        install: How to get `needs`.
        needs_fallback: Only runs where the workload's model is down and another, the
            provider's default model, is not (it falls back to that one).
    """

    key: str
    label: str
    opens: Callable[[Setup], Session]
    needs: str | None = None
    install: str = ""
    needs_fallback: bool = False

    def missing(self) -> str | None:
        """Why this contender cannot run here, or None if it can."""
        if self.needs is None or importlib.util.find_spec(self.needs) is not None:
            return None
        return f"not installed ({self.install})"


class _SdkSession:
    """The bare SDK client: its own retries, or none."""

    def __init__(self, client: Any, provider: Provider) -> None:
        self._client, self._provider = client, provider

    async def call(self, request: Request) -> Answer:
        return await send(self._client, self._provider, request)

    async def aclose(self) -> None:
        await self._client.close()


def _riprap(setup: Setup) -> Session:
    import riprap  # noqa: PLC0415 - kept out of `riprap --help`'s imports

    # The client as a user has it (default retries: riprap drives its own copy with
    # none); the seeded jitter source only makes runs repeatable, the policy is default.
    client = async_client(
        setup.provider, setup.base_url, max_retries=SDK_DEFAULT_RETRIES, key=setup.run
    )
    wrapped = riprap.wrap(client, random=random.Random(setup.seed).random)  # noqa: S311 - jitter
    return _SdkSession(wrapped, setup.provider)


def _riprap_fallback(setup: Setup) -> Session:
    import riprap  # noqa: PLC0415 - kept out of `riprap --help`'s imports

    client = async_client(
        setup.provider, setup.base_url, max_retries=SDK_DEFAULT_RETRIES, key=setup.run
    )
    wrapped = riprap.wrap(
        client,
        fallbacks=[MODELS[setup.provider]],
        random=random.Random(setup.seed).random,  # noqa: S311 - jitter
    )
    return _SdkSession(wrapped, setup.provider)


def _sdk(setup: Setup) -> Session:
    # The SDK's jitter reads the global `random`, seeded by the runner.
    client = async_client(
        setup.provider, setup.base_url, max_retries=SDK_DEFAULT_RETRIES, key=setup.run
    )
    return _SdkSession(client, setup.provider)


def _sdk_no_retries(setup: Setup) -> Session:
    client = async_client(setup.provider, setup.base_url, max_retries=0, key=setup.run)
    return _SdkSession(client, setup.provider)


class _TenacitySession:
    """The cookbook recipe: tenacity's decorator around the SDK with its retries off."""

    def __init__(self, setup: Setup) -> None:
        import tenacity  # noqa: PLC0415 - optional

        provider = setup.provider
        self._client = client = async_client(provider, setup.base_url, max_retries=0, key=setup.run)

        @tenacity.retry(
            wait=tenacity.wait_random_exponential(min=TENACITY_MIN_WAIT, max=TENACITY_MAX_WAIT),
            stop=tenacity.stop_after_attempt(TENACITY_ATTEMPTS),
        )
        async def completion_with_backoff(request: Request) -> Answer:
            return await send(client, provider, request)

        self._call = completion_with_backoff

    async def call(self, request: Request) -> Answer:
        answer: Answer = await self._call(request)
        return answer

    async def aclose(self) -> None:
        await self._client.close()


def _tenacity(setup: Setup) -> Session:
    # tenacity's jitter reads the global `random`, seeded by the runner.
    return _TenacitySession(setup)


class _LiteLLMSession:
    """LiteLLM's Router with one deployment on the simulator, its defaults otherwise."""

    def __init__(self, setup: Setup) -> None:
        import litellm  # type: ignore[import-not-found]  # noqa: PLC0415 - optional, never a dependency

        base = setup.base_url
        params = {
            "model": f"{setup.provider}/{setup.model}",
            "api_base": base if setup.provider == "anthropic" else f"{base}/v1",
            "api_key": f"{FAKE_KEY}-{setup.run}",
        }
        self._router = litellm.Router(
            model_list=[{"model_name": "bench", "litellm_params": params}]
        )

    async def call(self, request: Request) -> Answer:
        result = await self._router.acompletion(
            model="bench", messages=request.messages, max_tokens=request.max_tokens,
            stream=request.stream,
        )  # fmt: skip
        if request.stream:
            return await read_openai_stream(result)
        return Answer(result.choices[0].message.content or "")

    async def aclose(self) -> None:
        # The Router keeps no connection of its own to close; its clients are cached.
        return


def _litellm(setup: Setup) -> Session:
    return _LiteLLMSession(setup)


#: Every contender, in the table's order.
CONTENDERS: Final = (
    Contender(key="riprap", label="riprap.wrap (defaults)", opens=_riprap),
    Contender(
        key="riprap-fallback",
        label="riprap.wrap, fallbacks=[default model]",
        opens=_riprap_fallback,
        needs_fallback=True,
    ),
    Contender(key="sdk", label="bare SDK, default retries", opens=_sdk),
    Contender(key="sdk-no-retries", label="bare SDK, no retries", opens=_sdk_no_retries),
    Contender(
        key="tenacity",
        label="tenacity cookbook recipe",
        opens=_tenacity,
        needs="tenacity",
        install="pip install 'riprap[bench]'",
    ),
    Contender(
        key="litellm",
        label="LiteLLM Router (defaults)",
        opens=_litellm,
        needs="litellm",
        install="pip install litellm",
    ),
)


def failure_label(error: BaseException, provider: Provider) -> str:
    """A short, provider-neutral name for what made a call fail."""
    from riprap.errors import DeadlineExceededError, RiprapError  # noqa: PLC0415

    if type(error).__name__ == "RetryError" and hasattr(error, "last_attempt"):
        # tenacity wraps the last error (its default, `reraise=False`): read through it.
        inner = error.last_attempt.exception()
        if inner is not None:
            return failure_label(inner, provider)
    if isinstance(error, DeadlineExceededError):
        return "deadline"
    if isinstance(error, RiprapError) and error.kind is not None:
        return str(error.kind)
    # The provider's classifier first; the other one for LiteLLM, whose errors are
    # OpenAI-shaped whichever provider it calls.
    for name in (provider, "openai" if provider == "anthropic" else "anthropic"):
        try:
            failure = _adapter(name).classify(error, now_epoch=0.0)
        except ImportError:  # the other SDK is not installed: its errors cannot occur
            continue
        if failure is not None:
            return str(failure.kind)
    status = getattr(error, "status_code", None)
    return f"HTTP {status}" if isinstance(status, int) else type(error).__name__


def _adapter(provider: str) -> SdkAdapter:
    # Imported here: each adapter imports its SDK.
    if provider == "anthropic":
        from riprap.providers.anthropic import AnthropicAdapter  # noqa: PLC0415

        return AnthropicAdapter()
    from riprap.providers.openai import OpenAIAdapter  # noqa: PLC0415

    return OpenAIAdapter()
