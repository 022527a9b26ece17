"""Deterministic text that resumes: an assistant prefill gets exactly the rest of the text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anthropic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap.sim import Reply, default_text, expected_text
from riprap.sim._text import TRAILING_WHITESPACE, continuation, pieces

if TYPE_CHECKING:
    import openai

    from riprap.sim import Simulator

MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Hello, sim."}]
FULL = expected_text(MESSAGES)


def _prefilled(prefix: Any) -> list[anthropic.types.MessageParam]:
    return [*MESSAGES, {"role": "assistant", "content": prefix}]


def _streamed_text(client: anthropic.Anthropic, messages: Any, max_tokens: int = 64) -> str:
    with client.messages.stream(model="m", max_tokens=max_tokens, messages=messages) as stream:
        return "".join(stream.text_stream)


@given(st.text())
def test_pieces_join_back_to_the_text(text: str) -> None:
    """Splitting into deltas loses and adds nothing."""
    assert "".join(pieces(text)) == text


@given(st.lists(st.text(min_size=1), min_size=1, max_size=4), st.integers(0, 12))
def test_prefix_at_any_delta_plus_remainder_is_the_full_text(turns: list[str], cut: int) -> None:
    """Cut after any delta: prefix + continuation == the full text, with no trailing space."""
    messages = [{"role": "user", "content": turn} for turn in turns]
    full = expected_text(messages)
    prefix = "".join(pieces(full)[:cut])
    assert prefix == prefix.rstrip()
    assert prefix + continuation(full, prefix, None)[0] == full


@given(st.text(), st.text(min_size=1), st.integers(0, 12))
def test_resuming_after_any_prefill_is_seamless(full: str, own: str, cut: int) -> None:
    """Whatever a caller prefilled, prefill + part of the reply is answered with the rest."""
    own = own.rstrip() or "x"
    reply = continuation(full, own, None)[0]
    resumed = (own + "".join(pieces(reply)[:cut])).rstrip()
    assert resumed + continuation(full, resumed, None)[0] == own + reply


def test_expected_text_ignores_a_trailing_assistant_turn() -> None:
    """expected_text is default_text of the conversation before any text prefill."""
    assert default_text(MESSAGES) == FULL
    assert expected_text(_prefilled("weir")) == FULL
    assert expected_text(_prefilled([{"type": "text", "text": "x"}])) == FULL
    assert expected_text(MESSAGES, max_tokens=2) == default_text(MESSAGES, max_tokens=2)
    tool_turn = _prefilled([{"type": "tool_use", "id": "t", "name": "f", "input": {}}])
    assert expected_text(tool_turn) == default_text(tool_turn)  # not a prefill: conversation


@pytest.mark.parametrize("cut", [1, 3, 11])
@pytest.mark.usefixtures("sim")
def test_stream_continues_a_prefill(claude: anthropic.Anthropic, cut: int) -> None:
    """A stream whose request ends in a prefix of the text carries exactly the rest."""
    prefix = FULL[:cut].rstrip()
    rest = _streamed_text(claude, _prefilled(prefix))
    assert prefix + rest == FULL


@pytest.mark.usefixtures("sim")
def test_plain_call_continues_a_prefill_and_counts_only_new_tokens(
    claude: anthropic.Anthropic,
) -> None:
    """A non-streaming reply continues the prefill too; output tokens count the new part."""
    words = pieces(FULL)
    prefix = "".join(words[:2])
    message = claude.messages.create(model="m", max_tokens=64, messages=_prefilled(prefix))
    assert message.content[0].type == "text"
    assert prefix + message.content[0].text == FULL
    assert message.usage.output_tokens == len(words) - 2
    assert message.stop_reason == "end_turn"


@pytest.mark.usefixtures("sim")
def test_text_block_prefill_is_continued(claude: anthropic.Anthropic) -> None:
    """A prefill given as text blocks is read as their concatenation."""
    blocks = [{"type": "text", "text": FULL[:4]}, {"type": "text", "text": FULL[4:9].rstrip()}]
    rest = _streamed_text(claude, _prefilled(blocks))
    assert FULL[:9].rstrip() + rest == FULL


@pytest.mark.usefixtures("sim")
def test_max_tokens_caps_the_continuation(claude: anthropic.Anthropic) -> None:
    """max_tokens bounds the newly generated deltas, as it bounds new tokens on the API."""
    words = pieces(FULL)
    prefix = "".join(words[:2])
    with claude.messages.stream(model="m", max_tokens=3, messages=_prefilled(prefix)) as stream:
        rest = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert rest == "".join(words[2:5])
    assert prefix + rest == expected_text(MESSAGES, max_tokens=5)
    assert final.stop_reason == "max_tokens"
    assert final.usage.output_tokens == 3


@pytest.mark.usefixtures("sim")
def test_complete_prefill_gets_an_empty_continuation(claude: anthropic.Anthropic) -> None:
    """A prefill that already holds the whole text gets no more text and ends the turn."""
    with claude.messages.stream(model="m", max_tokens=64, messages=_prefilled(FULL)) as stream:
        assert "".join(stream.text_stream) == ""
        assert stream.get_final_message().stop_reason == "end_turn"


@pytest.mark.usefixtures("sim")
def test_mismatched_prefill_is_followed_by_the_text(claude: anthropic.Anthropic) -> None:
    """A prefill that is not a prefix of the text is followed by it, and resumes seamlessly."""
    reply = _streamed_text(claude, _prefilled("Sure,"))
    assert reply == " " + FULL
    resumed = "Sure," + "".join(pieces(reply)[:3])
    assert resumed + _streamed_text(claude, _prefilled(resumed)) == "Sure," + reply


@pytest.mark.parametrize("prefix", ["weir ", "weir\n", [{"type": "text", "text": "a\t"}]])
def test_trailing_whitespace_prefill_is_rejected(
    sim: Simulator, claude: anthropic.Anthropic, prefix: Any
) -> None:
    """As on the API, a final assistant turn ending in whitespace is a 400 before any event."""
    sim.script(Reply())
    with pytest.raises(anthropic.BadRequestError) as caught:
        _streamed_text(claude, _prefilled(prefix))
    assert caught.value.type == "invalid_request_error"
    assert caught.value.api_message == TRAILING_WHITESPACE
    assert sim.pending == 1  # a request the API rejects never consumes a scripted reply


def test_reply_text_is_continued_too(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """A scripted text is the full text a prefill continues."""
    sim.script(Reply(text="one two three"))
    assert _streamed_text(claude, _prefilled("one tw")) == "o three"


def test_openai_has_no_prefill(sim: Simulator, gpt: openai.OpenAI) -> None:
    """OpenAI treats a trailing assistant turn as conversation: a whole new default text."""
    messages: list[Any] = [*MESSAGES, {"role": "assistant", "content": "weir "}]
    reply = gpt.chat.completions.create(model="g", messages=messages)
    assert reply.choices[0].message.content == default_text(messages)
    assert sim.requests[0].reply == Reply()
