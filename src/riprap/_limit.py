"""The rate limiter's step in a call: reserve before an attempt, settle after it.

`CallState` decides what an ended attempt means for the limiter (`Settlement`); the
shells (`riprap._loop`, `riprap._stream`) do the waiting and the telling, sync or async,
through the four functions here, so the limiter is asked in exactly one way.

The limiter learns from the provider's rate-limit headers. A failed attempt's error
carries its response; a successful one is a parsed model without headers, so riprap
adds one httpx response hook to the SDK client's HTTP client, which keeps the last
response's headers in a slot the current call set (a context variable: the hook runs
in the task or thread that sent the request). Outside riprap's calls the slot is unset
and the hook does nothing.
"""

from __future__ import annotations

import contextvars
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from riprap._kinds import Kind
from riprap.limiter import Scope

if TYPE_CHECKING:
    from collections.abc import Mapping

    from riprap._call import CallState
    from riprap._report import Usage
    from riprap.limiter import Limiter, Need, Permit

#: Output tokens reserved for a call that sets no limit on them (OpenAI's `max_tokens`
#: is optional). The settle charges what the answer really used; this only decides how
#: much room a call waits for, so it is a typical answer's length, not the worst case.
ASSUMED_OUTPUT_TOKENS: Final = 1024


@dataclass(slots=True)
class HeaderSlot:
    """Where the response hook puts the headers of the call's latest response."""

    headers: Mapping[str, str] | None = None


_SLOT: contextvars.ContextVar[HeaderSlot | None] = contextvars.ContextVar(
    "riprap_response_headers", default=None
)
#: HTTP clients that already have the hook (an SDK client and its `with_options`
#: copies share one).
_HOOKED: weakref.WeakSet[Any] = weakref.WeakSet()


def _record(response: Any) -> None:
    slot = _SLOT.get()
    if slot is not None:
        slot.headers = response.headers


async def _arecord(response: Any) -> None:
    _record(response)


def watch_headers(client: Any, *, is_async: bool) -> None:
    """Make `client`'s HTTP client report response headers to riprap's calls (once)."""
    http = getattr(client, "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if http is None or not isinstance(hooks, dict) or http in _HOOKED:
        # Another HTTP layer: riprap then learns from failures' headers only.
        return
    responses = list(hooks.get("response", ()))
    responses.append(_arecord if is_async else _record)
    http.event_hooks = {**hooks, "response": responses}
    _HOOKED.add(http)


@dataclass(slots=True)
class Settlement:
    """How to end the attempt's permit: `Permit.<method>(**arguments)`."""

    permit: Permit
    method: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Limit:
    """The limiter's view of one call: its scope, its need, and the open permit."""

    limiter: Limiter
    scope: Scope
    request: Mapping[str, Any]
    output_tokens: int
    #: Estimated once per call (an estimator may ask the provider), at the first attempt.
    need: Need | None = None
    slot: HeaderSlot = field(default_factory=HeaderSlot)
    permit: Permit | None = None

    @classmethod
    def of(cls, limiter: Limiter, provider: str, client: Any, kwargs: Mapping[str, Any]) -> Limit:
        """The limit of a call with these SDK arguments on `client`."""
        model = kwargs.get("model")
        api_key = getattr(client, "api_key", None)
        scope = Scope.of(
            provider,
            model if isinstance(model, str) and model else "-",
            api_key=api_key if isinstance(api_key, str) else None,
        )
        max_tokens = kwargs.get("max_tokens", kwargs.get("max_completion_tokens"))
        output = max_tokens if isinstance(max_tokens, int) and max_tokens >= 0 else None
        return cls(
            limiter=limiter,
            scope=scope,
            request=kwargs,
            output_tokens=ASSUMED_OUTPUT_TOKENS if output is None else output,
        )

    def sized(self) -> Need:
        """The call's need, estimating it on first use."""
        if self.need is None:
            self.need = self.limiter.need(self.request, output_tokens=self.output_tokens)
        return self.need

    async def asized(self) -> Need:
        """`sized`, awaiting an asynchronous estimator."""
        if self.need is None:
            self.need = await self.limiter.aneed(self.request, output_tokens=self.output_tokens)
        return self.need

    def deadline_for(self, deadline_at: float, now: float) -> float:
        """The call's deadline (on the call's clock) on the limiter's clock."""
        return self.limiter.clock.now() + (deadline_at - now)

    def listen(self) -> None:
        """Point the response hook at this call's slot for the coming attempt."""
        self.slot.headers = None
        _SLOT.set(self.slot)

    def settlement(
        self,
        kind: Kind | None,
        *,
        ok: bool,
        usage: Usage | None = None,
        error: BaseException | None = None,
        retry_after: float | None = None,
    ) -> Settlement | None:
        """What the ended attempt means for its permit; `None` if it had none.

        A success charges what it used; one that does not say (an OpenAI stream without
        `include_usage` reports zero tokens) keeps what was reserved, since the provider
        counted its tokens all the same. A 429 hands everything back and may pause the
        scope. A failure that is not the provider's (a bad argument) hands everything
        back; any other failure, and an interrupted attempt, counts its request and
        input (the provider may have counted them) and gives back the output.
        """
        permit, self.permit = self.permit, None
        if permit is None:
            return None
        headers = _headers_of(error) if error is not None else self.slot.headers
        if ok:
            known = usage is not None and usage.prompt_tokens > 0  # every prompt has tokens
            return Settlement(
                permit,
                "settle",
                {
                    "input_tokens": limited_input(permit.scope.provider, usage)
                    if known and usage is not None
                    else permit.need.input_tokens,
                    "output_tokens": usage.output_tokens
                    if known and usage is not None
                    else permit.need.output_tokens,
                    "headers": headers,
                },
            )
        if kind is Kind.RATE_LIMITED:
            return Settlement(
                permit, "rate_limited", {"retry_after": retry_after, "headers": headers}
            )
        if kind is None and error is not None:
            return Settlement(permit, "refund", {"headers": headers})
        return Settlement(permit, "fail", {"headers": headers})


def limited_input(provider: str, usage: Usage) -> int:
    """The input tokens a provider's limit counts.

    Anthropic's input-token limit counts uncached input and cache writes, not cache
    reads; OpenAI's token limit counts the whole prompt.
    """
    if provider == "anthropic":
        return usage.input_tokens + usage.cache_write_tokens
    return usage.prompt_tokens


def _headers_of(error: BaseException) -> Mapping[str, str] | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    return headers if headers is not None and hasattr(headers, "get") else None


# -- the shells' side: wait, and tell -------------------------------------------------


def reserve(call: CallState) -> None:
    """Wait for room for the call's next attempt (blocking), or end the call."""
    limit = call.limit
    if limit is None:
        return
    try:
        need = limit.sized()
        now = call.engine.clock.now()
        permit = limit.limiter.acquire(
            limit.scope, need, deadline_at=limit.deadline_for(call.deadline_at, now)
        )
    except Exception as error:
        call.refused(error)
        raise
    call.reserved(permit)


async def areserve(call: CallState) -> None:
    """`reserve`, suspending the task while it waits."""
    limit = call.limit
    if limit is None:
        return
    try:
        need = await limit.asized()
        now = call.engine.clock.now()
        permit = await limit.limiter.aacquire(
            limit.scope, need, deadline_at=limit.deadline_for(call.deadline_at, now)
        )
    except Exception as error:
        call.refused(error)
        raise
    call.reserved(permit)


def settle(call: CallState) -> None:
    """Tell the limiter how the attempt that just ended went."""
    settlement = call.settlement()
    if settlement is not None:
        getattr(settlement.permit, settlement.method)(**settlement.arguments)


async def asettle(call: CallState) -> None:
    """`settle`, awaitable (a Redis backend's async client)."""
    settlement = call.settlement()
    if settlement is not None:
        await getattr(settlement.permit, "a" + settlement.method)(**settlement.arguments)
