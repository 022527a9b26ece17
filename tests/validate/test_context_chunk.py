"""Chunking long documents at natural boundaries, with optional overlap."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap.context import chunk_text
from riprap.errors import ConfigError
from riprap.validate import estimate_text_tokens

PARAGRAPHS = [
    "The river rose in the night. Nobody saw it coming.",
    "By morning the levee held. The town slept on.",
    "Engineers came at noon! They measured everything.",
]
DOCUMENT = "\n\n".join(PARAGRAPHS)


def test_chunks_end_at_paragraph_breaks_when_paragraphs_fit() -> None:
    """Each chunk is whole paragraphs when a paragraph fits a chunk."""
    chunks = chunk_text(DOCUMENT, max_tokens=16)
    assert [c.strip() for c in chunks] == PARAGRAPHS
    assert "".join(chunks) == DOCUMENT


def test_long_paragraphs_split_at_sentences() -> None:
    """A paragraph over the limit is cut at sentence ends, not mid-sentence."""
    chunks = chunk_text(DOCUMENT, max_tokens=9)
    assert chunks[0].strip() == "The river rose in the night."
    assert chunks[1].strip() == "Nobody saw it coming."
    assert "".join(chunks) == DOCUMENT


def test_a_word_longer_than_a_chunk_is_cut() -> None:
    """With no boundary left, characters are cut; nothing is lost."""
    word = "x" * 100
    chunks = chunk_text(word, max_tokens=5)
    assert "".join(chunks) == word
    assert all(len(c) <= 20 for c in chunks)


def test_overlap_repeats_the_end_of_the_previous_chunk() -> None:
    """With overlap, a chunk starts with the last sentences of the one before it."""
    chunks = chunk_text(DOCUMENT, max_tokens=20, overlap_tokens=8)
    assert chunks[0] == PARAGRAPHS[0] + "\n\n"
    assert chunks[1] == "Nobody saw it coming.\n\n" + PARAGRAPHS[1] + "\n\n"
    assert chunks[2] == "The town slept on.\n\n" + PARAGRAPHS[2]


def test_bad_arguments() -> None:
    """Limits are checked when chunking starts."""
    with pytest.raises(ConfigError, match="max_tokens"):
        chunk_text("x", max_tokens=0)
    with pytest.raises(ConfigError, match="overlap_tokens"):
        chunk_text("x", max_tokens=5, overlap_tokens=5)
    assert chunk_text("", max_tokens=5) == []


text = st.lists(
    st.sampled_from(["word", "a", "longerword", ".", "!", " ", "  ", "\n", "\n\n", "。", "x" * 50]),
    max_size=200,
).map("".join)


@given(text, st.integers(1, 40))
def test_chunks_fit_and_rebuild_the_text(document: str, limit: int) -> None:
    """Without overlap, every chunk fits the limit and the chunks rebuild the text exactly."""
    chunks = chunk_text(document, max_tokens=limit)
    assert "".join(chunks) == document
    assert all(estimate_text_tokens(c) <= limit for c in chunks)
    assert all(chunks)


unique_words = (
    st.lists(st.integers(0, 10**6), unique=True, max_size=80)
    .flatmap(
        lambda ids: st.tuples(
            st.just(ids),
            st.lists(
                st.sampled_from([" ", ". ", "! ", "\n", "\n\n"]),
                min_size=len(ids),
                max_size=len(ids),
            ),
        )
    )
    .map(lambda pair: "".join(f"w{i}{sep}" for i, sep in zip(*pair, strict=True)))
)


@given(unique_words, st.integers(2, 40), st.data())
def test_overlapping_chunks_fit_and_rebuild_the_text(
    document: str, limit: int, data: st.DataObject
) -> None:
    """With overlap, chunks fit, start with a suffix of the chunk before, and rebuild the text."""
    overlap = data.draw(st.integers(0, limit - 1))
    chunks = chunk_text(document, max_tokens=limit, overlap_tokens=overlap)
    assert all(estimate_text_tokens(c) <= limit for c in chunks)
    built = chunks[0] if chunks else ""
    for before, after in itertools.pairwise(chunks):
        rest = document[len(built) :]
        k = next(
            k
            for k in range(len(after) + 1)
            if before.endswith(after[:k]) and rest.startswith(after[k:])
        )
        assert estimate_text_tokens(after[:k]) <= overlap
        built += after[k:]
    assert built == document
