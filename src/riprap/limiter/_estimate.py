"""How many input tokens a call will use, before it is sent.

The limiter reserves an estimate and settles the real count when the response arrives,
so an estimate only has to be close for as long as a call is in flight. The default is
a character-class count, fast (a few C-level passes over the text, no tokenizer), and
meant to err high rather than low on English and code: a low estimate lets a burst
overdraw the provider's bucket before the calls settle, a high one only holds capacity
back until then.

The rule, from the providers' published ratios (OpenAI: "1 token ~= 4 chars in
English"; code and markup are denser in tokens because most symbols are tokens of
their own or split a word):

    tokens = ascii_chars / 4 + ascii_symbols / 2 + non_ascii_chars

Error bounds, measured (`tests/limiter/test_limiter_estimate.py`):

* Published reference counts (OpenAI's tiktoken tests, cl100k; OpenAI's help article,
  GPT-3): "hello world" 2 -> 3, "The quick brown fox jumps over the lazy dog" 9 -> 11,
  "You miss 100% of the shots you don't take" 11 -> 12: never under, at most +50 %
  on a short string (rounding up), +9 % to +22 % on a sentence.
* The shipped fixtures (`tests/limiter/fixtures/`): English prose 3.8 characters per
  token (OpenAI's rule of thumb is 4, i.e. this rule is ~5 % high), Python code 3.1.
* Not measured: the exact count of the fixtures under Claude's tokenizer, which is not
  public (the counting endpoint needs a key; `anthropic_token_counter` gives exact
  counts when one is available), nor under tiktoken, which downloads its vocabulary.
  Anthropic's newer models count up to ~35 % more tokens for the same text than older
  ones; the limiter settles every call with the real count, so an estimate only has to
  be close while the call is in flight.
"""

from __future__ import annotations

import json
import logging
import math
import string
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeAlias

_log = logging.getLogger("riprap.limiter")

#: Characters per token for plain ASCII text (OpenAI's rule of thumb for English).
CHARS_PER_TOKEN: Final = 4.0
#: Extra tokens per ASCII symbol: code's brackets, operators and quotes break words into
#: more tokens than prose's letters do.
SYMBOL_WEIGHT: Final = 0.5
#: Tokens per non-ASCII character: CJK text is about one token per character.
NON_ASCII_WEIGHT: Final = 1.0
#: Tokens the API wraps around each message (role markers, separators).
PER_MESSAGE: Final = 4
#: Tokens the API adds to every request.
PER_REQUEST: Final = 3
#: An image or document block: Anthropic sizes an image at up to 1,600 tokens
#: (1.15 megapixels / 750); riprap assumes the largest.
PER_ATTACHMENT: Final = 1600

_SYMBOLS: Final = tuple(string.punctuation)

Estimator: TypeAlias = Callable[[Mapping[str, Any]], int]
"""Input tokens of a call, from the keyword arguments of the SDK method."""
AsyncEstimator: TypeAlias = Callable[[Mapping[str, Any]], Awaitable[int]]


def estimate_tokens(text: str) -> int:
    """Tokens in `text` by the default rule (see the module's docstring)."""
    if not text:
        return 0
    non_ascii = 0 if text.isascii() else sum(1 for c in text if not c.isascii())
    symbols = sum(text.count(s) for s in _SYMBOLS)
    ascii_chars = len(text) - non_ascii
    return math.ceil(
        ascii_chars / CHARS_PER_TOKEN + symbols * SYMBOL_WEIGHT + non_ascii * NON_ASCII_WEIGHT
    )


def estimate_input_tokens(request: Mapping[str, Any]) -> int:
    """Input tokens of an Anthropic Messages or OpenAI Chat Completions call's arguments.

    Counts the system prompt, every message's text and tool calls, tool definitions and
    attachments; ignores what it cannot read rather than failing the call.
    """
    total = PER_REQUEST + _content(request.get("system"))
    messages = request.get("messages")
    if isinstance(messages, list | tuple):
        for message in messages:
            total += PER_MESSAGE
            if isinstance(message, Mapping):
                total += _content(message.get("content"))
                for key in ("tool_calls", "function_call", "name"):
                    if message.get(key) is not None:
                        total += _json(message[key])
    for key in ("tools", "functions", "response_format", "output_format"):
        if request.get(key) is not None:
            total += _json(request[key])
    return total


def _content(content: object) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return estimate_tokens(content)
    if isinstance(content, list | tuple):
        return sum(_block(block) for block in content)
    return _block(content)


def _block(block: object) -> int:
    if isinstance(block, str):
        return estimate_tokens(block)
    if not isinstance(block, Mapping):
        return 0
    kind = block.get("type")
    if kind in {"image", "document", "image_url", "input_image", "file", "input_audio"}:
        return PER_ATTACHMENT
    if isinstance(block.get("text"), str):
        return estimate_tokens(block["text"])
    if kind == "tool_result":
        return _content(block.get("content"))
    return _json(block)


def _json(value: object) -> int:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return 0
    return estimate_tokens(text)


#: The arguments Anthropic's `messages.count_tokens` accepts, taken from a create call's.
_COUNT_TOKENS_ARGS: Final = (
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
    "output_format",
)


def anthropic_token_counter(
    client: Any, *, fallback: Estimator = estimate_input_tokens
) -> Estimator:
    """An estimator that asks Anthropic's token-counting endpoint (exact, one request).

    `client` is a sync `anthropic.Anthropic`. The endpoint is free but has its own rate
    limits; when it fails, the call is estimated by `fallback` instead.
    """

    def count(request: Mapping[str, Any]) -> int:
        args = {k: request[k] for k in _COUNT_TOKENS_ARGS if k in request}
        try:
            result = client.messages.count_tokens(**args)
        except Exception as error:  # noqa: BLE001 - counting must never fail the call
            _log.debug("riprap: count_tokens failed (%s); estimating instead", error)
            return fallback(request)
        return int(result.input_tokens)

    return count


def async_anthropic_token_counter(
    client: Any, *, fallback: Estimator = estimate_input_tokens
) -> AsyncEstimator:
    """`anthropic_token_counter` for an `anthropic.AsyncAnthropic` client."""

    async def count(request: Mapping[str, Any]) -> int:
        args = {k: request[k] for k in _COUNT_TOKENS_ARGS if k in request}
        try:
            result = await client.messages.count_tokens(**args)
        except Exception as error:  # noqa: BLE001 - counting must never fail the call
            _log.debug("riprap: count_tokens failed (%s); estimating instead", error)
            return fallback(request)
        return int(result.input_tokens)

    return count
