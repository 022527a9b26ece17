"""`SuccessRateMonitor`: alert once when a scope's success rate falls, once when it recovers.

It counts what the user experienced: a call that succeeded after three retries is a
success, a call that raised is a failure. Beside that call-level rate it keeps the
attempt-level rate, which shows how hard riprap is working to keep the first one up
(95 % of calls succeeding on 60 % of attempts is an incident in the making).

The window is rolling, in `buckets` slices (Hystrix's rolling-statistics shape), so
memory per scope is fixed whatever the traffic. A scope is a provider and model. The
decision is made under a lock and the alert function called outside it, exactly once
per crossing.
"""

from __future__ import annotations

import enum
import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from riprap._clock import SystemClock
from riprap._report import Stop
from riprap.errors import ConfigError
from riprap.observe._events import AttemptEnded, CallEnded
from riprap.observe._redactor import DEFAULT_REDACTOR

if TYPE_CHECKING:
    from collections.abc import Callable

    from riprap._clock import Clock
    from riprap.observe._events import Event
    from riprap.observe._redactor import Redactor

#: Scopes kept at once; the least recently active goes first. One per provider and
#: model: a deployment has a handful, and this bounds a caller that invents model names.
MAX_SCOPES = 1_000


class AlertState(enum.StrEnum):
    """Which way the rate crossed the threshold."""

    BELOW = "below"
    RECOVERED = "recovered"


@dataclass(frozen=True, slots=True, kw_only=True)
class RateAlert:
    """A scope's success rate crossed the threshold; what the alert function receives."""

    state: AlertState
    provider: str
    model: str | None
    #: Calls that succeeded / calls that ended, over the window.
    rate: float
    #: Attempts that succeeded / attempts that ended, over the window (`None`: none ended).
    attempt_rate: float | None
    calls: int
    attempts: int
    threshold: float
    window: float
    #: The monitor's clock (monotonic seconds) when the crossing was seen.
    time: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RateSnapshot:
    """One scope's rates now."""

    rate: float | None
    attempt_rate: float | None
    calls: int
    attempts: int
    alerting: bool


class _Scope:
    __slots__ = ("alerting", "buckets")

    def __init__(self) -> None:
        # Each bucket: [slice index, calls ok, calls, attempts ok, attempts].
        self.buckets: deque[list[int]] = deque()
        self.alerting = False

    def add(self, index: int, horizon: int, *, call: bool, ok: bool) -> None:
        if not self.buckets or self.buckets[-1][0] < index:
            self.buckets.append([index, 0, 0, 0, 0])
        bucket = self.buckets[-1]  # a late report (clock skew between threads) joins the last
        offset = 0 if call else 2
        bucket[1 + offset] += ok
        bucket[2 + offset] += 1
        self.prune(index, horizon)

    def prune(self, index: int, horizon: int) -> None:
        while self.buckets and self.buckets[0][0] <= index - horizon:
            self.buckets.popleft()

    def totals(self) -> tuple[int, int, int, int]:
        calls_ok = calls = attempts_ok = attempts = 0
        for _, c_ok, c, a_ok, a in self.buckets:
            calls_ok += c_ok
            calls += c
            attempts_ok += a_ok
            attempts += a
        return calls_ok, calls, attempts_ok, attempts


class SuccessRateMonitor:
    """A hook that calls `alert` when a scope's call success rate falls below `threshold`.

    Over the last `window` seconds, once at least `min_calls` calls ended, a rate below
    `threshold` calls `alert(RateAlert(state=BELOW, …))` once; the rate back at or above
    it calls `alert(RateAlert(state=RECOVERED, …))` once. Cancelled calls are not
    counted (nobody was failed); a degraded answer counts as a failure.
    """

    #: Five minutes: long enough that one bad minute of a busy service shows, short enough
    #: that recovery is reported within minutes (the common SLO burn-alert short window).
    DEFAULT_WINDOW = 300.0
    #: 95 %: a provider below it is in a visible incident (status pages report at 99 %+).
    DEFAULT_THRESHOLD = 0.95
    #: Hystrix's `circuitBreaker.requestVolumeThreshold`: fewer calls say little.
    DEFAULT_MIN_CALLS = 20
    #: Slices of the window: 60 gives 5 s resolution on the default window.
    DEFAULT_BUCKETS = 60

    def __init__(
        self,
        alert: Callable[[RateAlert], None],
        *,
        window: float = DEFAULT_WINDOW,
        threshold: float = DEFAULT_THRESHOLD,
        min_calls: int = DEFAULT_MIN_CALLS,
        buckets: int = DEFAULT_BUCKETS,
        clock: Clock | None = None,
        redactor: Redactor = DEFAULT_REDACTOR,
    ) -> None:
        """Watch every scope; call `alert` on each crossing (its strings redacted)."""
        if not callable(alert):
            raise ConfigError(f"SuccessRateMonitor.alert: {alert!r} is not callable")
        if not (isinstance(window, (int, float)) and math.isfinite(window) and window > 0):
            raise ConfigError(f"SuccessRateMonitor.window: {window!r} is not a positive number")
        if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):
            raise ConfigError(f"SuccessRateMonitor.threshold: {threshold!r} is not in (0, 1]")
        for name, value in (("min_calls", min_calls), ("buckets", buckets)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"SuccessRateMonitor.{name}: {value!r} is not an int >= 1")
        self.alert = alert
        self.window = float(window)
        self.threshold = float(threshold)
        self.min_calls = min_calls
        self.buckets = buckets
        self.clock: Clock = SystemClock() if clock is None else clock
        self.redactor = redactor
        self._width = self.window / buckets
        self._scopes: OrderedDict[tuple[str, str | None], _Scope] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SuccessRateMonitor(window={self.window}, threshold={self.threshold}, "
            f"min_calls={self.min_calls})"
        )

    def __call__(self, event: Event) -> None:
        """Count a call's or an attempt's end; alert if the call rate crossed."""
        if isinstance(event, CallEnded):
            if event.stop is Stop.CANCELLED:
                return
            ok = event.ok and not getattr(event, "degraded", False)
            fired = self._add(event.provider, event.model, call=True, ok=ok)
            if fired is not None:
                self.alert(fired)
        elif isinstance(event, AttemptEnded):
            self._add(event.provider, event.model, call=False, ok=event.kind is None)

    def snapshot(self) -> dict[tuple[str, str | None], RateSnapshot]:
        """Every scope's rates over the window ending now."""
        index = self._index(self.clock.now())
        out = {}
        with self._lock:
            for key, scope in self._scopes.items():
                scope.prune(index, self.buckets)
                calls_ok, calls, attempts_ok, attempts = scope.totals()
                out[key] = RateSnapshot(
                    rate=calls_ok / calls if calls else None,
                    attempt_rate=attempts_ok / attempts if attempts else None,
                    calls=calls,
                    attempts=attempts,
                    alerting=scope.alerting,
                )
        return out

    def _index(self, now: float) -> int:
        return math.floor(now / self._width)

    def _add(self, provider: str, model: str | None, *, call: bool, ok: bool) -> RateAlert | None:
        now = self.clock.now()
        index = self._index(now)
        key = (provider, model)
        with self._lock:
            scope = self._scopes.get(key)
            if scope is None:
                scope = self._scopes[key] = _Scope()
                while len(self._scopes) > MAX_SCOPES:
                    self._scopes.popitem(last=False)
            else:
                self._scopes.move_to_end(key)
            scope.add(index, self.buckets, call=call, ok=ok)
            if not call:
                return None
            calls_ok, calls, attempts_ok, attempts = scope.totals()
            if calls < self.min_calls:
                return None
            rate = calls_ok / calls
            if scope.alerting == (rate < self.threshold):
                return None
            scope.alerting = not scope.alerting
            state = AlertState.BELOW if scope.alerting else AlertState.RECOVERED
        return RateAlert(
            state=state,
            # An alert leaves the process (a pager, a chat message): redact like an adapter.
            provider=self.redactor.text(provider),
            model=None if model is None else self.redactor.text(model),
            rate=rate,
            attempt_rate=attempts_ok / attempts if attempts else None,
            calls=calls,
            attempts=attempts,
            threshold=self.threshold,
            window=self.window,
            time=now,
        )
