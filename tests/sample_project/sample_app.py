"""A tiny app: summarise a text with Claude, falling back to a smaller model when overloaded."""

from __future__ import annotations

import anthropic

PRIMARY = "claude-sonnet-4-6"
SECONDARY = "claude-haiku-4-5-20251001"
UNAVAILABLE = "(summary unavailable, try again later)"


class SetupError(Exception):
    """The app is misconfigured (bad API key): retrying or falling back cannot help."""


def _ask(client: anthropic.Anthropic, model: str, text: str) -> str:
    message = client.messages.create(
        model=model,
        max_tokens=200,
        messages=[{"role": "user", "content": f"Summarise in one line: {text}"}],
    )
    return "".join(block.text for block in message.content if block.type == "text")


def summarise(client: anthropic.Anthropic, text: str) -> str:
    """A one-line summary of `text`; a placeholder when the API cannot answer now."""
    try:
        return _ask(client, PRIMARY, text)
    except anthropic.AuthenticationError as error:
        raise SetupError("the Anthropic API key was refused") from error
    except anthropic.InternalServerError as error:
        if error.status_code != 529:
            return UNAVAILABLE
    except (anthropic.APIConnectionError, anthropic.RateLimitError):
        return UNAVAILABLE
    try:
        return _ask(client, SECONDARY, text)
    except anthropic.APIError:
        return UNAVAILABLE
