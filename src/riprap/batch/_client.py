"""The provider a batch talks to.

A real API (its key from the environment) or the embedded simulator, and the async SDK
client over it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from riprap.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.batch._input import Shape

ProviderName: TypeAlias = Literal["anthropic", "openai", "sim"]

#: Where each SDK reads its key; named in the error when it is missing.
KEY_VARIABLES: Final[dict[str, str]] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
}
#: A placeholder key for the simulator, which accepts any; obviously not a real one.
SIM_KEY: Final = "sk-riprap-sim"


class MissingKeyError(ConfigError):
    """The provider's API key is not in the environment."""


def check_key(provider: ProviderName) -> None:
    """Fail before anything else when a real provider's key is missing."""
    if provider == "sim":
        return
    variable = KEY_VARIABLES[provider]
    if not os.environ.get(variable, "").strip():
        raise MissingKeyError(
            f"--provider {provider} needs an API key: set the {variable} environment "
            "variable (or use --provider sim to try the command against the simulator)"
        )


def sdk_module(shape: Shape) -> Any:
    """The SDK package for `shape`, with an install hint when it is missing."""
    try:
        return importlib.import_module(shape)
    except ImportError:
        raise ImportError(
            f"riprap batch drives the {shape} SDK: pip install 'riprap[{shape}]'"
        ) from None


def sdk_client(shape: Shape, *, base_url: str | None, api_key: str | None) -> Any:
    """A new async SDK client of `shape` (the SDK reads the key from the environment)."""
    sdk = sdk_module(shape)
    options: dict[str, Any] = {}
    if api_key is not None:
        options["api_key"] = api_key
    if shape == "anthropic":
        if base_url is not None:
            options["base_url"] = base_url
        return sdk.AsyncAnthropic(**options)
    if base_url is not None:
        options["base_url"] = base_url.rstrip("/") + "/v1" if api_key == SIM_KEY else base_url
    return sdk.AsyncOpenAI(**options)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: a base URL (None: the SDK's default) and the key to send."""

    base_url: str | None
    api_key: str | None
    #: "sim:flaky" or the provider's name, for the report.
    label: str


@contextlib.contextmanager
def endpoint(
    provider: ProviderName, *, scenario: str | None, base_url: str | None
) -> Iterator[Endpoint]:
    """The endpoint of `provider`; for "sim", an embedded simulator running meanwhile."""
    if provider != "sim":
        yield Endpoint(base_url=base_url, api_key=None, label=provider)
        return
    simulator, label = _simulator(scenario)
    with simulator:
        yield Endpoint(base_url=simulator.base_url, api_key=SIM_KEY, label=label)


def _simulator(scenario: str | None) -> tuple[Any, str]:
    try:
        from riprap import sim  # noqa: PLC0415 - the simulator is an optional extra
    except ImportError as error:
        raise ImportError(f"--provider sim needs the simulator: {error}") from None
    if scenario is None:
        return sim.Simulator(), "sim"
    loaded = sim.load_scenario(scenario)
    return loaded.simulator(), f"sim:{loaded.name}"
