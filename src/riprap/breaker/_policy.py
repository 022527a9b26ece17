"""`Breaker`: when a target's circuit opens, how long it stays open, how it comes back.

Every default lives here with where its number comes from; docs/decisions.md has the
comparison with Polly, MicroProfile/Helidon and Envoy that chose them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from riprap.policy import _check, _nonnegative, _positive


def _ratio(name: str, value: float) -> None:
    _check(
        isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1,
        "Breaker",
        name,
        value,
        "a number in (0, 1]",
    )


def _count(name: str, value: int, least: int) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and value >= least,
        "Breaker",
        name,
        value,
        f"an int >= {least}",
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Breaker:
    """How one target's circuit breaker decides (one breaker per provider, model, endpoint).

    Closed, it lets every attempt through and watches the failures that say the target is
    unhealthy (`riprap.RULES[kind].counts_against_breaker`: overload, 5xx, timeouts,
    dropped connections; never 4xx or 429). It opens when, over the last `window`
    seconds, at least `min_throughput` attempts were judged and `failure_ratio` of them
    failed, or when `consecutive_failures` failed in a row. Open, it rejects at once,
    saying when the next probe may go. After `break_duration` it lets up to `probes`
    trial attempts through (half-open): any of them failing opens it again (for longer,
    if `break_growth` > 1), `probes` of them succeeding closes it.
    """

    #: Share of judged attempts that must fail to open the circuit. MicroProfile's
    #: default (0.5). Polly v8's 0.1 is tuned for RPC services that rarely fail; LLM
    #: APIs run at 10-30 % transient failure in busy hours and are still worth calling
    #: first then (retries finish those calls), so a tenth would open healthy targets.
    failure_ratio: float = 0.5
    #: Seconds of history the ratio is taken over, kept as 10 buckets as Polly does. In a
    #: full outage the ratio reaches `failure_ratio` after `failure_ratio * window`
    #: seconds: 5 s here, where Polly's 30 s would keep sending to a dead model for 15 s.
    window: float = 10.0
    #: Judged attempts the window must hold before the ratio may open the circuit, so a
    #: few unlucky calls cannot. MicroProfile's default (20). At a 20 % background
    #: failure rate 20 attempts show half failed with probability 0.26 %; 10 attempts
    #: (Helidon's volume) would, 3.3 % of the time. Polly's 100 is for RPC traffic that
    #: an LLM client (a few attempts a second) would take a minute to reach.
    min_throughput: int = 20
    #: Failures in a row that open the circuit whatever the window holds; `None` turns
    #: it off. A model that is down answers every attempt with 529 or 503: ten in a row
    #: end it in ten attempts even for a client too quiet to reach `min_throughput`.
    #: At a 20 % background failure rate ten in a row happen about once in 10**7 runs;
    #: Envoy's outlier detection ejects a host after 5 consecutive 5xx.
    consecutive_failures: int | None = 10
    #: Seconds the circuit stays open before the first probe: Polly's, MicroProfile's and
    #: Helidon's default (5 s).
    break_duration: float = 5.0
    #: Each failed probe multiplies the break by this (1.0: constant). Off by default: a
    #: probe every 5 s is negligible load, and a longer break delays going back to the
    #: primary by as much after it recovers.
    break_growth: float = 1.0
    #: The longest break `break_growth` can make (seconds).
    max_break: float = 60.0
    #: Trial attempts allowed at once while half-open, and successes that close the
    #: circuit. Polly, MicroProfile and Helidon all close on one success.
    probes: int = 1
    #: A probe that has not reported after this many seconds (its process died) frees its
    #: slot for another. 120 s: riprap's shortest default call deadline.
    probe_timeout: float = 120.0
    #: A successful attempt slower than this many seconds counts as a failure; `None`
    #: (the default) counts only failures. Off by default because an LLM answer's latency
    #: grows with its length: a fixed threshold fits only calls of similar size.
    slow_call: float | None = None

    def __post_init__(self) -> None:
        _ratio("failure_ratio", self.failure_ratio)
        _positive("Breaker", "window", self.window)
        _count("min_throughput", self.min_throughput, 1)
        if self.consecutive_failures is not None:
            _count("consecutive_failures", self.consecutive_failures, 1)
        _positive("Breaker", "break_duration", self.break_duration)
        _check(
            isinstance(self.break_growth, int | float)
            and math.isfinite(self.break_growth)
            and self.break_growth >= 1,
            "Breaker",
            "break_growth",
            self.break_growth,
            "a finite number >= 1",
        )
        _positive("Breaker", "max_break", self.max_break)
        _check(
            self.max_break >= self.break_duration,
            "Breaker",
            "max_break",
            self.max_break,
            f"at least break_duration ({self.break_duration!r})",
        )
        _count("probes", self.probes, 1)
        _positive("Breaker", "probe_timeout", self.probe_timeout)
        if self.slow_call is not None:
            _nonnegative("Breaker", "slow_call", self.slow_call)

    def break_for(self, trips: int) -> float:
        """Seconds the circuit stays open after its `trips`-th opening in a row (from 1)."""
        exponent = min(max(trips - 1, 0), 1_000)  # growth >= 1: past this it is the cap
        try:
            length = self.break_duration * self.break_growth**exponent
        except OverflowError:
            return self.max_break
        return min(self.max_break, length)
