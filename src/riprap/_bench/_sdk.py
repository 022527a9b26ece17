"""Driving the real SDKs against the simulator: clients, one request, and its answer's text.

Shared by every contender, so each sends exactly the same request and is judged by the
same reading of the answer. (`riprap demo` has its own copies of the first three
helpers; they could move here.)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

Provider: TypeAlias = Literal["anthropic", "openai"]

#: Real model names, so riprap checks requests against its registry as in production
#: (the simulator answers for any model).
MODELS: Final[dict[str, str]] = {
    "anthropic": "claude-haiku-4-5-20251001",
    "openai": "gpt-4o-mini",
}

#: A key that is obviously not one; the simulator listens on loopback only. Each run
#: appends its own name, so no state kept per key (a limiter's) is shared between runs.
FAKE_KEY: Final = "sk-bench"


@dataclass(frozen=True, slots=True)
class Request:
    """One call of a workload.

    Attributes:
        index: Its number in the workload (makes its prompt, hence its answer, unique).
        model: The model asked.
        max_tokens: The answer's ceiling.
        stream: Whether the answer is read as a stream.
    """

    index: int
    model: str
    max_tokens: int = 64
    stream: bool = False

    @property
    def messages(self) -> list[dict[str, str]]:
        """The conversation sent."""
        return [{"role": "user", "content": f"Say something short about the number {self.index}."}]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a contender handed back.

    Attributes:
        text: The answer's text.
        complete: False when a stream ended without its end marker (Anthropic
            `message_stop`, OpenAI a `finish_reason`): the caller got a cut answer.
    """

    text: str
    complete: bool = True


def import_sdk(provider: str) -> Any:
    """The SDK module of `provider`, or an ImportError with the install hint."""
    try:
        return importlib.import_module(provider)
    except ImportError:
        raise ImportError(
            f"the benchmark drives the {provider} SDK: pip install 'riprap[{provider}]'"
        ) from None


def provider_of(model: str) -> Provider:
    """Which API serves `model`, by its name (Anthropic's all start with `claude`)."""
    return "anthropic" if model.startswith("claude") else "openai"


def async_client(provider: Provider, base_url: str, *, max_retries: int, key: str) -> Any:
    """An async SDK client of `provider` on the simulator at `base_url`, for run `key`."""
    sdk = import_sdk(provider)
    api_key = f"{FAKE_KEY}-{key}"
    if provider == "anthropic":
        return sdk.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=max_retries)
    return sdk.AsyncOpenAI(api_key=api_key, base_url=f"{base_url}/v1", max_retries=max_retries)


async def send(client: Any, provider: Provider, request: Request) -> Answer:
    """Make `request` with `client` (an SDK client, or one that looks like it) and read it."""
    model = request.model
    if provider == "anthropic":
        result = await client.messages.create(
            model=model, max_tokens=request.max_tokens, messages=request.messages,
            stream=request.stream,
        )  # fmt: skip
        if request.stream:
            return await _read_anthropic_stream(result)
        return Answer("".join(b.text for b in result.content if b.type == "text"))
    result = await client.chat.completions.create(
        model=model, max_tokens=request.max_tokens, messages=request.messages,
        stream=request.stream,
    )  # fmt: skip
    if request.stream:
        return await read_openai_stream(result)
    return Answer(result.choices[0].message.content or "")


async def _read_anthropic_stream(stream: Any) -> Answer:
    pieces: list[str] = []
    complete = False
    async for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            pieces.append(event.delta.text)
        elif event.type == "message_stop":
            complete = True
    return Answer("".join(pieces), complete=complete)


async def read_openai_stream(stream: Any) -> Answer:
    """Read an OpenAI-shaped chunk stream (the SDK's, or LiteLLM's copy of it)."""
    pieces: list[str] = []
    complete = False
    async for chunk in stream:
        for choice in chunk.choices or ():
            if choice.delta and choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                complete = True
    return Answer("".join(pieces), complete=complete)


def expected(provider: Provider, request: Request) -> str:
    """The text the simulator's answer to `request` holds when nothing goes wrong."""
    from riprap.sim import default_text, expected_text  # noqa: PLC0415 - the sim extra

    if provider == "anthropic":
        return expected_text(request.messages, request.max_tokens)
    return default_text(request.messages, request.max_tokens)
