"""Round trips: any request inside the subset comes back from the other API's shape intact."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from translate_strategies import anthropic_requests, openai_requests

from riprap.translate import Unsupported, to_anthropic_request, to_openai_request


@settings(max_examples=150, deadline=None)
@given(request=anthropic_requests())
def test_anthropic_openai_anthropic(request: dict[str, Any]) -> None:
    """Anthropic → OpenAI → Anthropic returns the request it started from."""
    there = to_openai_request(request, model="gpt-sim")
    assert not isinstance(there, Unsupported), there
    assert to_anthropic_request(there, model="claude-sim") == request


@settings(max_examples=150, deadline=None)
@given(request=openai_requests())
def test_openai_anthropic_openai(request: dict[str, Any]) -> None:
    """OpenAI → Anthropic → OpenAI returns the request it started from."""
    there = to_anthropic_request(request, model="claude-sim")
    assert not isinstance(there, Unsupported), there
    assert to_openai_request(there, model="gpt-sim") == request
