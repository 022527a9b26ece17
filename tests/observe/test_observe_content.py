"""Content capture helpers: what the call layer will put in events for hooks that ask."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from riprap.observe import LoggingHook, OtelHook, StructlogHook
from riprap.observe._content import content_limit_of, request_text, response_text
from riprap.sim import Reply
from support import create, make_client

if TYPE_CHECKING:
    from riprap.observe import Hook
    from riprap.sim import Simulator


def test_only_hooks_with_a_content_limit_ask_for_content() -> None:
    """No hook asks by default; the largest limit asked for wins."""
    none_ask: list[Hook] = [LoggingHook(), StructlogHook(), OtelHook()]
    assert content_limit_of(none_ask) is None
    hooks: list[Hook] = [LoggingHook(content_limit=100), StructlogHook(content_limit=500)]
    assert content_limit_of(hooks) == 500


def test_anthropic_prompt_text() -> None:
    """System prompt and messages (strings or text blocks) become `role: text` lines."""
    kwargs = {
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
            {"role": "user", "content": [{"type": "image", "source": {}}]},
        ],
    }
    assert request_text(kwargs, 1000) == "system: Be brief.\nuser: Hi\nassistant: Hello!"


def test_openai_prompt_text_is_cut_to_the_limit() -> None:
    """Chat messages with text parts are read, and the result is cut to the limit."""
    kwargs = {
        "messages": [
            {"role": "system", "content": "x" * 50},
            {"role": "user", "content": [{"type": "text", "text": "q"}]},
        ]
    }
    assert request_text(kwargs, 10) == "system: x…"
    assert request_text({"messages": []}, 10) is None


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_answer_text_of_real_responses(provider: str, sim: Simulator) -> None:
    """The answer text is read from both SDKs' real response objects."""
    sim.script(Reply(text="The answer is 42."))
    value = create(provider, make_client(provider, sim, is_async=False))
    assert response_text(value, 1000) == "The answer is 42."
    assert response_text(value, 6) == "The a…"
    assert response_text(object(), 10) is None
