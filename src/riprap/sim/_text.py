"""How generated text continues an assistant prefill, and how it splits into stream deltas.

Anthropic treats a final assistant turn as the start of the reply ("prefill") and generates
only what follows it. The simulator mirrors that so a caller that resumes a broken stream by
sending the text so far as a prefill gets exactly the rest: the full text is a function of
the conversation *before* the assistant turn, and the reply carries what the prefill lacks.

Pure functions of JSON values; nothing here knows about HTTP.
"""

from __future__ import annotations

import re
from typing import Final

# The API's own wording (a 400 invalid_request_error), as reported in public bug trackers,
# e.g. github.com/tailcallhq/forgecode/issues/1872.
TRAILING_WHITESPACE: Final = "messages: final assistant content cannot end with trailing whitespace"

# A delta is one word with the whitespace before it, as model tokens usually carry it: a
# prefix cut after any delta then never ends in whitespace, which the API would reject.
_PIECE: Final = re.compile(r"\s*\S+")


def _final_assistant(messages: object) -> tuple[list[object], object] | None:
    """The turns before a final assistant turn and its content; None if there is none."""
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    return messages[:-1], last.get("content")


def _block_text(block: object) -> str | None:
    if isinstance(block, dict) and block.get("type") == "text":
        text = block.get("text")
        if isinstance(text, str):
            return text
    return None


def split_prefill(messages: object) -> tuple[object, str | None]:
    """Split ``messages`` into the conversation and the text of a final assistant turn.

    Only a turn made of text (a str, or a list of text blocks) is a prefix the reply can
    continue; a turn with any other block (tool use, thinking) stays part of the
    conversation and the prefix is None.
    """
    final = _final_assistant(messages)
    if final is not None:
        before, content = final
        if isinstance(content, str):
            return before, content
        if isinstance(content, list):
            texts = [_block_text(block) for block in content]
            if all(text is not None for text in texts):
                return before, "".join(text for text in texts if text is not None)
    return messages, None


def prefill_problem(body: object) -> str | None:
    """The message of the 400 Anthropic sends for this request body's prefill, if any.

    The API rejects a final assistant turn whose (last) text ends in whitespace.
    """
    messages = body.get("messages") if isinstance(body, dict) else None
    final = _final_assistant(messages)
    content = final[1] if final is not None else None
    text = content if isinstance(content, str) else None
    if isinstance(content, list) and content:
        text = _block_text(content[-1])
    if text and text[-1].isspace():
        return TRAILING_WHITESPACE
    return None


def pieces(text: str) -> tuple[str, ...]:
    """Split ``text`` into stream deltas: each word with the whitespace before it.

    Trailing whitespace rides on the last piece, so ``"".join(pieces(t)) == t`` always.
    """
    parts = _PIECE.findall(text)
    consumed = sum(map(len, parts))
    if consumed < len(text):
        tail = text[consumed:]
        parts = [*parts[:-1], parts[-1] + tail] if parts else [tail]
    return tuple(parts)


def continuation(full: str, prefix: str, limit: int | None) -> tuple[str, bool]:
    """The text a reply to the prefill ``prefix`` carries, and whether ``limit`` cut it.

    If ``full`` starts with ``prefix`` the reply is the rest of ``full``, so prefix + reply
    == full. Otherwise (a model always continues somehow) the reply is ``" " + full``, minus
    whatever tail of ``prefix`` already starts it: so a prefill extended with part of such a
    reply is answered with the rest of that same reply, and resuming stays seamless after a
    caller's own prefill too. ``limit`` caps the generated part in deltas, as max_tokens
    caps newly generated tokens.
    """
    if full.startswith(prefix):
        rest = full[len(prefix) :]
    else:
        spaced = " " + full
        # The earliest tail of the prefix that starts `spaced` (the empty tail always does);
        # only tails no longer than `spaced` can.
        start = max(0, len(prefix) - len(spaced))
        tail = next(
            len(prefix) - i for i in range(start, len(prefix) + 1) if spaced.startswith(prefix[i:])
        )
        rest = spaced[tail:]
    parts = pieces(rest)
    if limit is not None and len(parts) > limit:
        return "".join(parts[:limit]), True
    return rest, False
