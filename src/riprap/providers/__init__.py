"""Provider adapters: one per SDK, found by the client they are given."""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import TYPE_CHECKING

from riprap.errors import UnsupportedClientError

if TYPE_CHECKING:
    from riprap.providers._base import SdkAdapter

__all__ = ["adapter_for"]

#: SDK package → the adapter class that serves it, as "module:Class" so that a user
#: with one SDK never imports the other.
_ADAPTERS = {
    "anthropic": "riprap.providers.anthropic:AnthropicAdapter",
    "openai": "riprap.providers.openai:OpenAIAdapter",
}


@cache
def _load(package: str) -> SdkAdapter:
    module, _, cls = _ADAPTERS[package].partition(":")
    adapter: SdkAdapter = getattr(importlib.import_module(module), cls)()
    return adapter


def adapter_for(client: object) -> SdkAdapter:
    """The adapter for an SDK client, or `UnsupportedClientError` naming what it got."""
    # Only SDKs already imported can have made `client`; a subclass of an SDK client
    # defined in the user's own module is found this way too.
    for package in _ADAPTERS:
        if package in sys.modules:
            adapter = _load(package)
            if adapter.owns(client):
                return adapter
    raise UnsupportedClientError(
        f"riprap.wrap: {type(client).__module__}.{type(client).__qualname__} is not a "
        "supported client; pass anthropic.Anthropic / AsyncAnthropic (pip install "
        "'riprap[anthropic]') or openai.OpenAI / AsyncOpenAI (pip install 'riprap[openai]')"
    )
