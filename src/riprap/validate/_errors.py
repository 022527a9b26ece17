"""What validation raises: a bad request before the call, a bad answer after it.

RiprapError
├── PromptValidationError (also ValueError)   the request is wrong; names the field
│   └── ContextOverflowError                  prompt + max_tokens exceed the window
└── OutputValidationError (also ValueError)   the answer failed `expect`, every attempt
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riprap.errors import RiprapError

if TYPE_CHECKING:
    from riprap.budget import TokenUsage


class PromptValidationError(RiprapError, ValueError):
    """A request that the API would refuse, caught before any network.

    `path` is the field (`messages[3].role`), `value` the bad value, `provider` the API
    whose rules were applied. The message reads `path: value is not …`.
    """

    path: str
    value: object
    provider: str

    def __init__(self, message: str, *, path: str, value: object, provider: str) -> None:
        super().__init__(message)
        self.path = path
        self.value = value
        self.provider = provider


class ContextOverflowError(PromptValidationError):
    """The estimated prompt plus `max_tokens` does not fit the model's context window.

    `estimate` is the prompt's estimated tokens, `window` the model's context window,
    `max_tokens` the output asked for, `input_limit` the most prompt the model takes.
    """

    estimate: int
    window: int
    max_tokens: int
    input_limit: int

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        estimate: int,
        window: int,
        max_tokens: int,
        input_limit: int,
    ) -> None:
        super().__init__(message, path="messages", value=estimate, provider=provider)
        self.estimate = estimate
        self.window = window
        self.max_tokens = max_tokens
        self.input_limit = input_limit


class OutputValidationError(RiprapError, ValueError):
    """The model's answer failed the `expect` check on every attempt.

    `raw` is the last answer's text, `errors` each attempt's validation message,
    `attempts` how many answers were asked for, `usage` the tokens of all of them.
    """

    raw: str
    errors: tuple[str, ...]
    attempts: int
    usage: TokenUsage | None

    def __init__(
        self,
        message: str,
        *,
        raw: str,
        errors: tuple[str, ...],
        attempts: int,
        usage: TokenUsage | None,
    ) -> None:
        super().__init__(message)
        self.raw = raw
        self.errors = errors
        self.attempts = attempts
        self.usage = usage
