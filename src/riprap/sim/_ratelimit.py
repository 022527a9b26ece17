"""The simulator's rate-limit state: which requests the buckets refuse, and their headers."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from riprap.sim._limits import DEFAULT_OPENAI_MAX_TOKENS, Buckets
from riprap.sim._script import Reply
from riprap.sim._wire import estimate_input_tokens, max_output_tokens, usage_of

if TYPE_CHECKING:
    from riprap.sim._script import Scenario
    from riprap.sim._wire import Provider, Route


#: The routes whose requests count against the limits (token counting has its own).
LIMITED_ROUTES: Final = frozenset({"messages", "chat"})


class RateLimiting:
    """The simulator's rate-limit state: buckets per (provider, model), made on first use.

    Lives in the simulator and is advanced by its clock; `Scenario.decide` stays pure.
    """

    def __init__(self) -> None:
        """No buckets until a limited request arrives."""
        self._limits: object = None  # the RateLimits the buckets were made for
        self._buckets: dict[tuple[str | None, str], Buckets] = {}

    def clear(self) -> None:
        """Forget every bucket: the next request finds them full."""
        self._buckets.clear()

    def decide(
        self,
        scenario: Scenario,
        *,
        provider: Provider | None,
        route: Route,
        body: object,
        index: int,
        now: float,
        now_wall: float,
    ) -> Reply:
        """The reply to request `index`: a 429 if over a limit, else the scenario's.

        Either way the reply carries the rate-limit headers of its model's buckets.
        """
        named = body.get("model") if isinstance(body, dict) else None
        model = named if isinstance(named, str) else None
        limits = scenario.rate_limits
        if limits is None or route not in LIMITED_ROUTES:
            return scenario.decide(index, now, model=model)
        if limits is not self._limits:
            self._limits = limits
            self._buckets.clear()
        key = (provider, model or "")
        buckets = self._buckets.get(key)
        if buckets is None:
            buckets = self._buckets[key] = Buckets(limits, now)
        messages = body.get("messages") if isinstance(body, dict) else None
        tokens_in = estimate_input_tokens(messages)
        ceiling = max_output_tokens(provider, body)
        if ceiling is None:
            ceiling = 0 if provider == "anthropic" else DEFAULT_OPENAI_MAX_TOKENS
        wait = buckets.admit(now, (1.0, tokens_in, ceiling, tokens_in + ceiling))
        if wait > 0:
            headers = dict(buckets.headers(provider, now_wall))
            headers["retry-after"] = str(max(1, math.ceil(wait)))
            return Reply(status=429, headers=headers)
        reply = scenario.decide(index, now, model=model)
        produced = 0
        if not reply.is_error and reply.sends_response:
            produced = usage_of(reply, provider, body)[1]
        buckets.credit(now + reply.delay, ceiling - produced)
        return replace(
            reply, headers={**reply.headers, **dict(buckets.headers(provider, now_wall))}
        )
