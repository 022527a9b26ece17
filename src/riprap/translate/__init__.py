"""Translation between Anthropic Messages and OpenAI Chat Completions, for fallback.

A call that falls back from one provider to the other is translated on the way out and
back, so the caller gets its own SDK's type::

    kwargs = to_openai_request(anthropic_kwargs, model="gpt-…")   # or Unsupported(reason)
    completion = openai_client.chat.completions.create(**kwargs)
    message = to_anthropic_message(completion)                   # an anthropic.types.Message

The common subset: system prompt, text and image messages, max_tokens, temperature,
top_p, stop sequences, tool definitions, tool choice, tool calls and results, usage and
stop reasons. A request outside it is `Unsupported`, with the reason, never cut down.
Streams too: `ToAnthropicEvents` and `ToOpenAIChunks` turn one provider's stream events
into the other's.
"""

from riprap.translate._common import TranslationError, Unsupported
from riprap.translate._events import ToAnthropicEvents, ToOpenAIChunks
from riprap.translate._responses import to_anthropic_message, to_openai_completion
from riprap.translate._to_anthropic import DEFAULT_MAX_TOKENS, to_anthropic_request
from riprap.translate._to_openai import to_openai_request

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "ToAnthropicEvents",
    "ToOpenAIChunks",
    "TranslationError",
    "Unsupported",
    "to_anthropic_message",
    "to_anthropic_request",
    "to_openai_completion",
    "to_openai_request",
]
