"""The fallback chain (design §3 layer 3): which target a call tries next, and why.

A call tries the primary (its own `model`), then each fallback in order, each with its
own retry loop and breaker, all under the primary's deadline. What moves a call on is
the failure's kind (`RULES[kind].fallback`), read here and nowhere else; the sync and
async shells in `_pipeline.py` only call, and ask `Tried` what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from riprap._kinds import RULES, Fallback, Kind
from riprap.breaker import CircuitOpenError
from riprap.errors import ConfigError, RiprapError, report_of
from riprap.limiter import RateLimitWaitBeyondDeadlineError
from riprap.translate import (
    ToAnthropicEvents,
    ToOpenAIChunks,
    TranslationError,
    Unsupported,
    to_anthropic_message,
    to_anthropic_request,
    to_openai_completion,
    to_openai_request,
)
from riprap.validate import ContextOverflowError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from riprap._fallback_stream import Translator
    from riprap._report import CallReport

#: The chat endpoint of each provider: the only ones a call can cross between.
CHAT_PATHS: dict[str, tuple[str, ...]] = {
    "anthropic": ("messages", "create"),
    "openai": ("chat", "completions", "create"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A fallback on another client: a model of the other provider (or another account).

    `client` is an `anthropic` or `openai` client, raw or wrapped, sync or async like
    the wrapped one; its calls run under the wrapping client's policy and hooks.
    """

    client: Any
    model: str

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise ConfigError(f"Target.model: {self.model!r} is not a non-empty str")


@dataclass(frozen=True, slots=True, kw_only=True)
class Degraded:
    """What the `degrade` handler is given when every target failed or was skipped."""

    #: The caller's provider ("anthropic", "openai") and endpoint ("messages.create").
    provider: str
    endpoint: str
    #: The caller's request, as it was given (not in the repr: it holds the prompt).
    kwargs: Mapping[str, Any] = field(repr=False)
    #: Each tried target's final error, in the order tried (each with its report).
    failures: tuple[Exception, ...]
    #: (target, why) for each target skipped without a call.
    skipped: tuple[tuple[str, str], ...]
    #: The provider request ids of every attempt of every target, for "ref …" messages.
    request_ids: tuple[str, ...]


class AllTargetsFailedError(RiprapError, ExceptionGroup[Exception]):
    """Every target of a fallback chain failed: one error holding each target's own.

    `exceptions` are the targets' final errors in the order tried, each with its own
    report (`riprap.report_of`); `skipped` lists (target, why) for targets skipped
    without a call; `report` is the last target's report. Catch one kind with
    `except*`.
    """

    skipped: tuple[tuple[str, str], ...]

    def __new__(
        cls,
        message: str,
        exceptions: Sequence[Exception],
        *,
        skipped: tuple[tuple[str, str], ...] = (),
        report: CallReport | None = None,
    ) -> Self:
        """An exception group over `exceptions`."""
        del skipped, report  # set by __init__
        return super().__new__(cls, message, exceptions)

    def __init__(
        self,
        message: str,
        exceptions: Sequence[Exception],
        *,
        skipped: tuple[tuple[str, str], ...] = (),
        report: CallReport | None = None,
    ) -> None:
        """Keep the group's own arguments (message, exceptions); add riprap's fields."""
        del message, exceptions  # ExceptionGroup.__new__ holds them
        self.kind = None
        self.report = report
        self.skipped = skipped


@dataclass(frozen=True, slots=True, kw_only=True)
class Chain:
    """A wrapped client's fallbacks and degrade handler, as `wrap` validated them."""

    targets: tuple[str | Target, ...] = ()
    #: Move on after `permission` / `not_found` (a model missing from one plan may
    #: exist in another); off by default, since it usually means a typo in the config.
    fallback_on_not_found: bool = False
    degrade: Callable[[Degraded], Any] | None = None

    def hops(self, provider: str, model: str | None) -> tuple[Hop, ...]:
        """The primary, then each fallback, in order."""
        first = Hop(label=f"{provider}:{model or '-'}", model=model, target=None)
        rest = tuple(
            Hop(label=f"{provider}:{t}", model=t, target=None)
            if isinstance(t, str)
            else Hop(label=f"{provider_of(t)}:{t.model}", model=t.model, target=t)
            for t in self.targets
        )
        return (first, *rest)


def provider_of(target: Target) -> str:
    """The provider name of a target's client."""
    from riprap.providers import adapter_for  # noqa: PLC0415 - only chains with Targets
    from riprap.wrap import _unwrap  # noqa: PLC0415 - wrap imports this module

    return adapter_for(_unwrap(target.client)).name


@dataclass(frozen=True, slots=True)
class Hop:
    """One target of a chain as a call sees it."""

    #: "provider:model".
    label: str
    model: str | None
    #: `None`: the wrapped client itself, with `model` swapped in.
    target: Target | None


@dataclass(frozen=True, slots=True)
class Crossing:
    """How a request goes to another provider and its answer comes back."""

    path: tuple[str, ...]
    request: Callable[[Mapping[str, Any]], dict[str, Any] | Unsupported]
    response: Callable[[Any], Any]
    #: A stream's translator, made from the caller's request; `None`: same provider.
    events: Callable[[Mapping[str, Any]], Translator] | None = None


def _include_usage(kwargs: Mapping[str, Any]) -> bool:
    options = kwargs.get("stream_options")
    return isinstance(options, Mapping) and options.get("include_usage") is True


def crossing(
    source: str, path: tuple[str, ...], destination: str, model: str
) -> Crossing | Unsupported:
    """How a call on `source`'s `path` reaches `destination`'s `model`, if it can."""
    if source == destination:
        return Crossing(path, lambda kw: {**kw, "model": model}, lambda value: value)
    if CHAT_PATHS.get(source) != path:
        return Unsupported(f"only chat calls cross providers, not {'.'.join(path)}")
    if destination == "openai":
        return Crossing(
            CHAT_PATHS["openai"],
            lambda kw: to_openai_request(kw, model=model),
            to_anthropic_message,
            lambda _: ToAnthropicEvents(),
        )
    return Crossing(
        CHAT_PATHS["anthropic"],
        lambda kw: to_anthropic_request(kw, model=model),
        to_openai_completion,
        lambda kw: ToOpenAIChunks(include_usage=_include_usage(kw)),
    )


#: riprap's own errors that move a call on, and the reason recorded: an open circuit, an
#: answer the caller's type cannot hold, a prompt riprap's estimate says is too long.
_OWN_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (CircuitOpenError, "circuit_open"),
    # The limiter would wait past the deadline: another model has its own limits.
    (RateLimitWaitBeyondDeadlineError, str(Kind.RATE_LIMITED)),
    (TranslationError, str(Kind.RESPONSE_INVALID)),
    (ContextOverflowError, str(Kind.CONTEXT_OVERFLOW)),
)


def move_reason(error: Exception, *, on_not_found: bool) -> str | None:
    """Why `error` moves a call to its next target, or `None` when it must be raised."""
    for own, reason in _OWN_REASONS:  # riprap's own refusals, made before anything was sent
        if isinstance(error, own):
            return reason
    report = report_of(error)
    kind = report.attempts[-1].kind if report is not None and report.attempts else None
    if kind is None:
        return None  # not an API failure (a bad argument): the caller's to fix
    rule = RULES[kind].fallback
    if rule in (Fallback.YES, Fallback.LARGER_CONTEXT):
        return str(kind)
    if rule is Fallback.CONFIGURABLE and on_not_found:
        return str(kind)
    return None


@dataclass(slots=True)
class Leg:
    """What every target of one call shares: the deadline, fixed by the first."""

    deadline_at: float | None = None
    #: Whether another target follows the one being tried.
    can_move_on: bool = False


@dataclass(slots=True)
class Tried:
    """The outcome so far of one call's chain: failures, skips, the context bound."""

    provider: str
    endpoint: str
    kwargs: Mapping[str, Any]
    failures: list[Exception] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: After a context overflow: the window a next target must exceed (0 when unknown).
    needs_window: int | None = None

    def skip_reason(self, window: int | None) -> str | None:
        """Why a target with context `window` is not worth a call now, if it is not."""
        bound = self.needs_window
        if bound is not None and (window is None or window <= bound):
            return f"context window {window or 'unknown'} not larger than {bound or 'unknown'}"
        return None

    def failed(self, error: Exception, window: int | None, *, on_not_found: bool) -> str | None:
        """Record a target's failure; the reason to move on, or `None` to raise it."""
        reason = move_reason(error, on_not_found=on_not_found)
        if reason is None:
            return None
        self.failures.append(error)
        if reason == Kind.CONTEXT_OVERFLOW:
            self.needs_window = max(self.needs_window or 0, window or 0)
        return reason

    def last_report(self) -> CallReport | None:
        """The report of the last target that was called."""
        for error in reversed(self.failures):
            report = report_of(error)
            if report is not None:
                return report
        return None

    def degraded(self) -> Degraded:
        """The value the `degrade` handler gets."""
        ids: list[str] = []
        for error in self.failures:
            report = report_of(error)
            if report is not None:
                ids.extend(report.request_ids)
        return Degraded(
            provider=self.provider,
            endpoint=self.endpoint,
            kwargs=self.kwargs,
            failures=tuple(self.failures),
            skipped=tuple(self.skipped),
            request_ids=tuple(ids),
        )

    def error(self) -> Exception:
        """The one error that holds every target's failure (a chain has two or more)."""
        tried = len(self.failures) + len(self.skipped)
        return AllTargetsFailedError(
            f"all {tried} targets failed or were skipped",
            self.failures,
            skipped=tuple(self.skipped),
            report=self.last_report(),
        )


def degrade_with_text(template: str) -> Callable[[Degraded], Any]:
    """A `degrade` handler answering `template` as the caller's own response type.

    `{request_ids}` in `template` becomes the failed attempts' request ids, comma
    separated, so a user can quote them: ``"Try again later (ref {request_ids})"``. The
    answer is an `anthropic.types.Message` or an `openai` `ChatCompletion` (stop reason
    `end_turn` / `stop`, zero usage); other endpoints get the text itself.
    """
    if not isinstance(template, str):
        raise ConfigError(f"degrade_with_text.template: {template!r} is not a str")
    try:
        template.format(request_ids="")  # a bad template fails here, not during an outage
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"degrade_with_text.template: {template!r} takes only {{request_ids}} ({error!r})"
        ) from None

    def degrade(degraded: Degraded) -> Any:
        text = template.format(request_ids=", ".join(degraded.request_ids))
        model = str(degraded.kwargs.get("model", ""))
        path = tuple(degraded.endpoint.split("."))
        if path == CHAT_PATHS["anthropic"] and degraded.provider == "anthropic":
            from anthropic.types import Message  # noqa: PLC0415 - only its users load it

            return Message.model_validate(
                {
                    "id": "msg_riprap_degraded",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                }
            )
        if path == CHAT_PATHS["openai"] and degraded.provider == "openai":
            from openai.types.chat import ChatCompletion  # noqa: PLC0415 - only its users

            return ChatCompletion.model_validate(
                {
                    "id": "chatcmpl-riprap-degraded",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                }
            )
        return text

    return degrade
