"""Chunking a long document at its natural boundaries, with optional overlap.

The text is split at paragraph breaks; a paragraph too long for a chunk at sentence ends;
a sentence too long at spaces; a word too long at characters. The pieces are packed in
order, as many per chunk as fit. Without overlap the chunks put back together are the
text, exactly; with overlap each chunk starts with the last pieces of the one before, up
to `overlap_tokens`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from riprap.errors import ConfigError
from riprap.validate import estimate_text_tokens

if TYPE_CHECKING:
    from collections.abc import Callable

#: Boundaries, coarsest first: a blank line, a sentence end, any whitespace. Each split
#: keeps the separator with the piece before it, so nothing is lost.
_SPLITTERS = (
    re.compile(r"(?<=\n)[ \t]*\n\s*"),
    re.compile(r"(?<=[.!?\u2026\u3002\uff01\uff1f])[\"')\]]*\s+"),
    re.compile(r"\s+"),
)


def _split(text: str, pattern: re.Pattern[str]) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        if match.end() > start and match.start() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _atoms(text: str, fits: Callable[[str], bool], level: int = 0) -> list[str]:
    """`text` as pieces that each fit, split at the coarsest boundary that works."""
    if fits(text):
        return [text]
    if level == len(_SPLITTERS):
        # No boundary left: cut characters, as many per piece as fit (at least one).
        pieces, start = [], 0
        while start < len(text):
            end = start + 1
            while end < len(text) and fits(text[start : end + 1]):
                end += 1
            pieces.append(text[start:end])
            start = end
        return pieces
    out: list[str] = []
    for piece in _split(text, _SPLITTERS[level]):
        out += _atoms(piece, fits, level + 1)
    return out


def chunk_text(
    text: str,
    *,
    max_tokens: int,
    overlap_tokens: int = 0,
    count: Callable[[str], int] = estimate_text_tokens,
) -> list[str]:
    """`text` in chunks of at most `max_tokens` (by `count`), cut at natural boundaries."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ConfigError(f"chunk_text.max_tokens: {max_tokens!r} is not an int >= 1")
    if (
        isinstance(overlap_tokens, bool)
        or not isinstance(overlap_tokens, int)
        or not 0 <= overlap_tokens < max_tokens
    ):
        raise ConfigError(
            f"chunk_text.overlap_tokens: {overlap_tokens!r} is not an int in 0..max_tokens-1"
        )
    if not text:
        return []
    atoms = _atoms(text, lambda s: count(s) <= max_tokens)
    chunks: list[str] = []
    current: list[str] = []
    for atom in atoms:
        if current and count("".join([*current, atom])) > max_tokens:
            chunks.append("".join(current))
            current = _tail(current, overlap_tokens, count) if overlap_tokens else []
            while current and count("".join([*current, atom])) > max_tokens:
                current.pop(0)
        current.append(atom)
    if current:
        chunks.append("".join(current))
    return chunks


def _tail(pieces: list[str], limit: int, count: Callable[[str], int]) -> list[str]:
    """The end of a chunk, at most `limit` tokens: whole pieces, then finer ones.

    A piece too big for what is left of the overlap is split at its own finer boundaries
    (sentences, words), and its last parts that fit are taken: the overlap is always a
    suffix of the chunk before, cut as naturally as it can be.
    """
    tail: list[str] = []
    for piece in reversed(pieces):
        if count("".join([piece, *tail])) <= limit:
            tail.insert(0, piece)
            continue
        for part in reversed(_atoms(piece, lambda s: count(s) <= limit)):
            if count("".join([part, *tail])) > limit:
                break
            tail.insert(0, part)
        break
    return tail
