"""Tokens as the providers bill them: fresh input, cache reads, cache writes, output."""

from __future__ import annotations

from dataclasses import dataclass


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenUsage:
    """One call's (or several calls') tokens, split the way prices are.

    `input_tokens` are prompt tokens billed at the full input price: for OpenAI, whose
    `prompt_tokens` include the cached ones, the cached part is moved to `cache_read`.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    #: Written at the default retention (Anthropic: 5 minutes; OpenAI: 30 minutes).
    cache_write_tokens: int = 0
    #: Anthropic's 1-hour cache writes (a part of the writes, priced apart).
    cache_write_1h_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        """The usage of two calls together."""
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens + other.cache_write_1h_tokens,
        )

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token, however billed: what long-context price bands count."""
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
            + self.cache_write_1h_tokens
        )

    @classmethod
    def of(cls, response: object) -> TokenUsage | None:
        """The usage a response reports, or `None` if it reports none.

        Reads Anthropic's `Message`, OpenAI's `ChatCompletion` and `Response`.
        """
        usage = getattr(response, "usage", None)
        if usage is None:
            return None
        if getattr(usage, "prompt_tokens", None) is not None:  # OpenAI Chat Completions
            details = getattr(usage, "prompt_tokens_details", None)
            cached = _int(getattr(details, "cached_tokens", None))
            written = _int(getattr(details, "cache_write_tokens", None))
            prompt = _int(usage.prompt_tokens)
            return cls(
                input_tokens=max(0, prompt - cached - written),
                output_tokens=_int(getattr(usage, "completion_tokens", None)),
                cache_read_tokens=cached,
                cache_write_tokens=written,
            )
        details = getattr(usage, "input_tokens_details", None)
        if details is not None:  # OpenAI Responses: input_tokens include the cached ones
            cached = _int(getattr(details, "cached_tokens", None))
            return cls(
                input_tokens=max(0, _int(usage.input_tokens) - cached),
                output_tokens=_int(getattr(usage, "output_tokens", None)),
                cache_read_tokens=cached,
            )
        # Anthropic: input_tokens are the uncached ones; cache tokens are counted apart.
        created = getattr(usage, "cache_creation", None)
        hour = _int(getattr(created, "ephemeral_1h_input_tokens", None))
        written = _int(getattr(usage, "cache_creation_input_tokens", None))
        return cls(
            input_tokens=_int(getattr(usage, "input_tokens", None)),
            output_tokens=_int(getattr(usage, "output_tokens", None)),
            cache_read_tokens=_int(getattr(usage, "cache_read_input_tokens", None)),
            cache_write_tokens=max(0, written - hour),
            cache_write_1h_tokens=hour,
        )
