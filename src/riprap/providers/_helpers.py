"""The SDKs' streaming helpers (`messages.stream()`, `chat.completions.stream()`) over riprap.

Each helper is the SDK's own stream manager, fed by riprap's resilient stream instead of
a bare one, so the caller keeps the helper's events, `text_stream` and
`get_final_message()`, and gains retries, resumption and stall detection underneath.

`node` is riprap's proxy of the resource (`client.messages`, `client.chat.completions`):
its `create` is riprap's endpoint.
"""

from __future__ import annotations

import importlib
from typing import Any

#: What the Anthropic SDK's own `messages.stream()` sends, so the provider sees a helper.
_ANTHROPIC_HELPER_HEADERS = {
    "X-Stainless-Helper-Method": "stream",
    "X-Stainless-Stream-Helper": "messages",
}


def anthropic_messages_stream(
    node: Any, original: Any, *, is_async: bool, kwargs: dict[str, Any]
) -> Any:
    """`client.messages.stream(**kwargs)` through riprap.

    A call with `output_format` (structured output parsing) goes to the SDK's own helper,
    with the SDK's own retries: its schema translation is the SDK's business.
    """
    if "output_format" in kwargs:
        return original(**kwargs)
    streaming = importlib.import_module("anthropic.lib.streaming")
    headers = {**_ANTHROPIC_HELPER_HEADERS, **(kwargs.pop("extra_headers", None) or {})}
    request = {**kwargs, "stream": True, "extra_headers": headers}
    not_given = importlib.import_module("anthropic").NOT_GIVEN
    if is_async:
        return streaming.AsyncMessageStreamManager(node.create(**request), output_format=not_given)
    return streaming.MessageStreamManager(lambda: node.create(**request), output_format=not_given)


def openai_chat_stream(node: Any, original: Any, *, is_async: bool, kwargs: dict[str, Any]) -> Any:
    """`client.chat.completions.stream(**kwargs)` through riprap.

    The SDK builds its manager from `resource.create`; given riprap's proxy as the
    resource, every attempt runs through riprap. `original` is unused: the SDK's builder
    handles every argument itself.
    """
    del original
    builders = importlib.import_module("openai.lib._chat_completion_resources")
    build = builders.async_stream if is_async else builders.stream
    return build(node, **kwargs)
