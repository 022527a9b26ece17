"""Prompt-size estimation: a small interface, and a default that needs no tokenizer.

An `Estimator` is any callable `(messages, system) -> int` giving the prompt's tokens.
riprap's validation, budgets and context strategies all take one, so a better estimator
(the limiter's, a provider's `count_tokens`, tiktoken) plugs in everywhere at once.

The default, `estimate_tokens`, counts characters: `ceil(chars / 4)` for text, a fixed
allowance per image, and a few tokens per message for the chat format. How far off it
can be:

* It is a typical value, not a bound. One token per four characters is OpenAI's rule of
  thumb for English text; text without spaces between words (Chinese, Japanese), dense
  code and numbers take more tokens per character, and Anthropic's tokenizer for Claude
  4.7 and later models counts about 30 % more tokens for the same text than the one
  before it (the provider's Claude Haiku 5.5 page). Expect it to under-count those.
* `upper_bound_tokens` is a bound: byte-level BPE tokenizers (both providers') emit at
  least one UTF-8 byte per token, so a text has at most as many tokens as bytes. It is
  pessimistic by about 4x for English; use it where under-counting is not acceptable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TypeAlias

#: `(messages, system) -> estimated prompt tokens`. `system` is whatever the caller passed
#: as the system prompt (a str, a list of text blocks, or `None`).
Estimator: TypeAlias = Callable[[Sequence[object], object], int]

#: OpenAI's rule of thumb for English: "one token generally corresponds to ~4 characters".
CHARS_PER_TOKEN = 4
#: Anthropic's vision guide: an image of about 1.15 megapixels costs about 1,600 tokens,
#: and larger images are scaled down to that; OpenAI's high-detail images cost less.
IMAGE_TOKENS = 1_600
#: The chat format's per-message framing: OpenAI's cookbook counts 3 tokens per message
#: ("How to count tokens with tiktoken", num_tokens_from_messages).
TOKENS_PER_MESSAGE = 3

#: Keys whose values are not prompt text: roles (counted in the framing), block types, ids,
#: base64 payloads, cache hints.
_SKIPPED_KEYS = frozenset(
    {"type", "role", "data", "media_type", "cache_control", "id", "tool_use_id", "tool_call_id"}
)
_IMAGE_TYPES = frozenset({"image", "image_url", "input_image"})
#: How deep a content structure is walked; deeper parts are not counted.
_MAX_DEPTH = 32


def _as_mapping(value: object) -> Mapping[str, object] | None:
    """`value` as a mapping: a dict, or an SDK model object (pydantic) dumped to one."""
    if isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        dumped = dump()
        if isinstance(dumped, Mapping):
            return dumped
    return None


def _measure(value: object, count: Callable[[str], int], depth: int = 0) -> tuple[int, int]:
    """(characters or bytes of prompt text, images) in `value`."""
    if depth > _MAX_DEPTH:
        return 0, 0
    if isinstance(value, str):
        return count(value), 0
    mapping = _as_mapping(value)
    if mapping is not None:
        if mapping.get("type") in _IMAGE_TYPES:
            return 0, 1
        chars = images = 0
        for key, item in mapping.items():
            if key in _SKIPPED_KEYS:
                continue
            c, i = _measure(item, count, depth + 1)
            chars, images = chars + c, images + i
        return chars, images
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        chars = images = 0
        for item in value:
            c, i = _measure(item, count, depth + 1)
            chars, images = chars + c, images + i
        return chars, images
    return 0, 0


def _estimate(
    messages: Sequence[object], system: object, count: Callable[[str], int], per_token: int
) -> int:
    chars, images = _measure(system, count)
    framing = 0
    for message in messages:
        c, i = _measure(message, count)
        chars, images, framing = chars + c, images + i, framing + TOKENS_PER_MESSAGE
    return math.ceil(chars / per_token) + images * IMAGE_TOKENS + framing


def estimate_tokens(messages: Sequence[object], system: object = None) -> int:
    """A typical estimate of the prompt's tokens: characters / 4, images, framing."""
    return _estimate(messages, system, len, CHARS_PER_TOKEN)


def upper_bound_tokens(messages: Sequence[object], system: object = None) -> int:
    """At least the prompt's true tokens for byte-level BPE: one token per UTF-8 byte."""
    return _estimate(messages, system, lambda s: len(s.encode("utf-8", "replace")), 1)


def estimate_text_tokens(text: str, estimator: Estimator = estimate_tokens) -> int:
    """Tokens of a bare text by `estimator`, without any message framing."""
    return max(0, estimator([], text))
