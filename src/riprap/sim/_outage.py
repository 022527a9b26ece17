"""Outage windows: a model that fails for a while, by the simulator's clock, then recovers.

An `Outage` says "model X answers 529 from t=5 s to t=25 s after start": every request
for that model in the window gets a fault (or a `fault_rate` share of them, for a
partial degradation); before and after it the scenario decides as usual. Whether request
`index` at `since` seconds gets a fault is a pure function of `(seed, index, since)`.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from riprap.sim._script import BAD_JSON_BODY, EMPTY_HEADERS, RETRY_AFTER_STATUSES, Reply

if TYPE_CHECKING:
    from collections.abc import Iterable

#: Faults an outage can answer with: an HTTP status, or a way of not answering.
_NAMED: Final = frozenset({"reset", "close", "hang", "bad_json"})
_OVERLOADED: Final[Mapping[int | str, float]] = MappingProxyType({529: 1.0})


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True)
class Outage:
    """A window of time in which one model (or every model) fails.

    Attributes:
        start: Seconds after the simulator started (or was last reset) when it begins.
        end: Seconds after start when the model recovers; None: it never does.
        model: The request ``model`` it hits; None hits every model.
        fault_rate: Share of the window's requests that fail, 0..1; below 1 the model is
            degraded rather than down.
        faults: Relative weights over what a failing request gets: an HTTP status
            (400..599) or ``"reset"``, ``"close"``, ``"hang"``, ``"bad_json"``.
            Default: 529 (overloaded) for every one.
        retry_after: If set, a ``retry-after`` header (seconds) on 429/503/529 faults.
        seed: Seed of the per-request draw when ``fault_rate`` is below 1.
    """

    start: float
    end: float | None = None
    model: str | None = None
    fault_rate: float = 1.0
    faults: Mapping[int | str, float] = field(default_factory=lambda: _OVERLOADED, hash=False)
    retry_after: float | None = None
    seed: int = 0
    _kinds: tuple[int | str, ...] = field(init=False, repr=False, compare=False, hash=False)
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Validate every field, so a bad outage fails where it is written."""
        if not _number(self.start) or self.start < 0:
            raise ValueError(f"start must be a finite number of seconds >= 0, got {self.start!r}")
        if self.end is not None and (not _number(self.end) or self.end <= self.start):
            raise ValueError(f"end must be None or a number > start, got {self.end!r}")
        if self.model is not None and (not isinstance(self.model, str) or not self.model):
            raise ValueError(f"model must be None or a non-empty str, got {self.model!r}")
        if not _number(self.fault_rate) or not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be a number in 0..1, got {self.fault_rate!r}")
        if self.retry_after is not None and (not _number(self.retry_after) or self.retry_after < 0):
            raise ValueError(f"retry_after must be None or seconds >= 0, got {self.retry_after!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an int, got {self.seed!r}")  # noqa: TRY004 - ValueError throughout the simulator
        self._check_faults()
        kinds = tuple(k for k, w in self.faults.items() if w > 0)
        object.__setattr__(self, "faults", MappingProxyType(dict(self.faults)))
        object.__setattr__(self, "_kinds", kinds)
        object.__setattr__(
            self, "_cumulative", tuple(itertools.accumulate(self.faults[k] for k in kinds))
        )

    def _check_faults(self) -> None:
        if not isinstance(self.faults, Mapping) or not self.faults:
            raise ValueError(f"faults must be a non-empty mapping, got {self.faults!r}")
        for kind, weight in self.faults.items():
            status = isinstance(kind, int) and not isinstance(kind, bool) and 400 <= kind <= 599  # noqa: PLR2004
            if not (status or kind in _NAMED):
                raise ValueError(
                    f"faults key must be an HTTP status 400..599 or one of {sorted(_NAMED)}, "
                    f"got {kind!r}"
                )
            if not _number(weight) or weight < 0:
                raise ValueError(f"faults[{kind!r}] must be a finite weight >= 0, got {weight!r}")
        if not any(self.faults.values()):
            raise ValueError(f"faults needs a positive weight, got {dict(self.faults)!r}")

    def covers(self, since: float, model: str | None) -> bool:
        """Whether a request for `model` arriving `since` seconds after start is in the window."""
        if self.model is not None and model != self.model:
            return False
        return self.start <= since and (self.end is None or since < self.end)

    def decide(self, index: int, since: float, model: str | None) -> Reply | None:
        """The fault for request `index` at `since`, or None if this outage spares it."""
        if not self.covers(since, model):
            return None
        # A draw of its own, so an outage never shifts the scenario's (seed, index) draws.
        rng = random.Random(f"{self.seed}:{index}:outage")  # noqa: S311 - not for security
        fault_draw, kind_draw = rng.random(), rng.random()
        if fault_draw >= self.fault_rate:
            return None
        position = bisect.bisect_right(self._cumulative, kind_draw * self._cumulative[-1])
        kind = self._kinds[min(position, len(self._kinds) - 1)]
        if isinstance(kind, int):
            headers: Mapping[str, str] = EMPTY_HEADERS
            if self.retry_after is not None and kind in RETRY_AFTER_STATUSES:
                headers = {"retry-after": f"{self.retry_after:g}"}
            message = f"Overloaded (simulated outage of {model or 'every model'})"
            return Reply(status=kind, headers=headers, message=message if kind == 529 else None)  # noqa: PLR2004
        if kind == "hang":
            return Reply(hang=True)
        if kind == "bad_json":
            return Reply(body=BAD_JSON_BODY)
        return Reply(disconnect="reset" if kind == "reset" else "close")


def check_outages(outages: Iterable[Outage]) -> tuple[Outage, ...]:
    """`outages` as a tuple, each checked to be an `Outage`."""
    checked = tuple(outages)
    for outage in checked:
        if not isinstance(outage, Outage):
            raise TypeError(f"outages takes Outage objects, got {type(outage).__name__}")
    return checked


def outage_reply(
    outages: tuple[Outage, ...], *, index: int, since: float, body: object
) -> Reply | None:
    """The reply of the first outage that hits request `index` at `since`, if any."""
    if not outages:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    model = model if isinstance(model, str) else None
    for outage in outages:
        reply = outage.decide(index, since, model)
        if reply is not None:
            return reply
    return None
