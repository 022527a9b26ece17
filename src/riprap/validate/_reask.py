"""Output validation over calls: check the answer, re-ask with the error, bounded.

`expect_sync(call_once, kwargs, expect, provider=...)` calls `call_once(**kwargs)` (one
call through riprap: retries, deadline and all; a wrapped client's create method is
one), checks the answer's text, and while it fails and attempts remain, calls again with
the conversation extended by the answer and a user turn carrying the validation error.
The usage of every attempt is summed. When the bound is reached it raises
`OutputValidationError` with the last answer's text.

The state lives in `Asking` (pure: no I/O); `expect_sync` and `expect_async` are the
same five-line loop around it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riprap.budget._usage import TokenUsage
from riprap.validate._errors import OutputValidationError
from riprap.validate._estimate import _as_mapping

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from riprap.validate._expect import Expect

#: What the re-ask's assistant turn says when the answer had no text (an empty assistant
#: message is refused by Anthropic anywhere but last).
EMPTY_ANSWER = "(no text)"


def answer_text(response: object) -> str:
    """The text of a response: Anthropic's text blocks joined, or OpenAI's first choice."""
    choices = getattr(response, "choices", None)
    if isinstance(choices, Sequence) and choices:  # OpenAI Chat Completions
        content = getattr(getattr(choices[0], "message", None), "content", None)
        return content if isinstance(content, str) else ""
    output_text = getattr(response, "output_text", None)
    if isinstance(output_text, str):  # OpenAI Responses
        return output_text
    blocks = getattr(response, "content", None)  # Anthropic Message
    if isinstance(blocks, Sequence) and not isinstance(blocks, str):
        return "".join(
            text
            for block in blocks
            if getattr(block, "type", None) == "text"
            and isinstance(text := getattr(block, "text", None), str)
        )
    return ""


def _prefill(provider: str, messages: Sequence[object]) -> str | None:
    """The text of a final assistant message (an Anthropic prefill), if there is one."""
    if provider != "anthropic" or not messages:
        return None
    last = _as_mapping(messages[-1])
    if last is None or last.get("role") != "assistant":
        return None
    content = last.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            str(b.get("text", ""))
            for raw in content
            if (b := _as_mapping(raw)) is not None and b.get("type") == "text"
        )
    return None


def reask_kwargs(
    provider: str, kwargs: Mapping[str, Any], answer: str, error: str, expect: Expect
) -> dict[str, Any]:
    """The next attempt's arguments: the answer given, then a user turn with the error.

    For Anthropic with a prefill (a final assistant message), the answer turn holds the
    prefill and its continuation, and the prefill is repeated after the feedback.
    """
    messages = list(kwargs.get("messages") or ())
    feedback = {"role": "user", "content": expect.reask.replace("{error}", error)}
    prefill = _prefill(provider, messages)
    if prefill is not None:
        last = messages.pop()
        said = {"role": "assistant", "content": (prefill + answer) or EMPTY_ANSWER}
        messages += [said, feedback, last]
    else:
        messages += [{"role": "assistant", "content": answer or EMPTY_ANSWER}, feedback]
    return {**kwargs, "messages": messages}


@dataclass(frozen=True, kw_only=True, slots=True)
class Expected:
    """A validated answer: its value, the last response, and what it took."""

    value: Any
    response: Any
    attempts: int
    #: Tokens of every attempt together; `None` if no response reported usage.
    usage: TokenUsage | None
    #: The validation errors of the attempts that failed, in order.
    errors: tuple[str, ...]
    #: Dollars for every attempt together, at the registry's prices (set by `riprap.expect`);
    #: `None` when a price is unknown.
    cost: float | None = None


class Asking:
    """The state of one validated call: which attempt, what was said, what it cost."""

    def __init__(self, provider: str, kwargs: Mapping[str, Any], expect: Expect) -> None:
        """Start asking `kwargs` of `provider`, checking answers with `expect`."""
        self.provider = provider
        self.expect = expect
        self.kwargs: dict[str, Any] = dict(kwargs)
        self._prefill = _prefill(provider, list(kwargs.get("messages") or ()))
        self.attempts = 0
        self.usage: TokenUsage | None = None
        self.errors: list[str] = []

    def answered(self, response: object) -> Expected | None:
        """Check one response: the result, or `None` to ask again with `self.kwargs`.

        Raises `OutputValidationError` when the answer fails and no attempt remains.
        """
        self.attempts += 1
        used = TokenUsage.of(response)
        if used is not None:
            self.usage = used if self.usage is None else self.usage + used
        answer = answer_text(response)
        verdict = self.expect.check((self._prefill or "") + answer)
        if verdict.ok:
            return Expected(
                value=verdict.value,
                response=response,
                attempts=self.attempts,
                usage=self.usage,
                errors=tuple(self.errors),
            )
        self.errors.append(verdict.error)
        if self.attempts >= self.expect.max_attempts:
            raise OutputValidationError(
                # No answer text in the message: messages get logged; `.raw` and
                # `.errors` hold it for code that asks.
                f"the answer failed validation on all {self.attempts} attempt(s) "
                "(see .errors and .raw)",
                raw=answer,
                errors=tuple(self.errors),
                attempts=self.attempts,
                usage=self.usage,
            )
        self.kwargs = reask_kwargs(self.provider, self.kwargs, answer, verdict.error, self.expect)
        return None


def expect_sync(
    call_once: Callable[..., Any],
    kwargs: Mapping[str, Any],
    expect: Expect,
    *,
    provider: str,
) -> Expected:
    """Call until an answer passes `expect`, at most `expect.max_attempts` times."""
    asking = Asking(provider, kwargs, expect)
    while True:
        done = asking.answered(call_once(**asking.kwargs))
        if done is not None:
            return done


async def expect_async(
    call_once: Callable[..., Awaitable[Any]],
    kwargs: Mapping[str, Any],
    expect: Expect,
    *,
    provider: str,
) -> Expected:
    """`expect_sync` for an async `call_once`."""
    asking = Asking(provider, kwargs, expect)
    while True:
        done = asking.answered(await call_once(**asking.kwargs))
        if done is not None:
            return done
