"""A batch job's settings, checked once, before anything runs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

from riprap._kinds import Kind
from riprap.errors import ConfigError
from riprap.policy import Retry

if TYPE_CHECKING:
    from pathlib import Path

    from riprap.batch._client import ProviderName
    from riprap.batch._input import Shape
    from riprap.limiter import Limits

#: Calls in flight at most. The limiter, not this cap, sets the pace; the cap only
#: has to cover rate x latency (50 requests/s x 1 s), and bounds memory and sockets.
DEFAULT_CONCURRENCY: Final = 64
#: Seconds in-flight items get to finish after Ctrl-C / SIGTERM before they are cut.
DEFAULT_GRACE: Final = 30.0
#: Seconds a shared-mode claim lives without renewal (renewed every third of it): a
#: dead process's items are taken over this long after it died.
DEFAULT_LEASE: Final = 60.0
#: Per-kind first backoffs for batch calls: a quarter of the library's for 5xx and
#: connection errors, half for overload. In a batch the limiter caps what reaches the
#: provider (a retry spends the same quota as a first attempt, so shorter waits add no
#: load above the limit), and the retry budget still caps retries at half the traffic;
#: the library's longer waits only stretch the tail of unlucky items at the end of a run
#: (a 1,000-item run of bench/batch.py at 80 req/s: makespan 1.25x the rate-limit
#: minimum with the library's waits, 1.05x with these).
BATCH_BASE_DELAYS: Final = MappingProxyType(
    {Kind.OVERLOADED: 1.0, Kind.RATE_LIMITED: 1.0, Kind.TIMEOUT: 1.0, Kind.CONNECTION: 0.125,
     Kind.SERVER_ERROR: 0.125}
)  # fmt: skip
#: The batch's retry policy: the library's, with the waits above and a 10 s cap (the
#: library's 30 s cap is for a service that must not hammer a struggling provider; the
#: limiter does that here).
BATCH_RETRY: Final = Retry(base_delay=0.125, kind_base_delays=BATCH_BASE_DELAYS, cap=10.0)
#: Seconds between plain progress lines (a terminal's live line is redrawn twice a second).
DEFAULT_INTERVAL: Final = 10.0


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything `riprap batch` was told."""

    input: Path
    output: Path
    #: Default: the output's path with ".journal" appended.
    journal: Path | None = None
    #: "auto": the provider whose API the requests are written for.
    provider: ProviderName | Literal["auto"] = "auto"
    #: The requests' API shape; `None`: the provider's, or detected (sim).
    shape: Shape | None = None
    #: Replaces every request's `model`.
    model: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    skip_invalid: bool = False
    limits: Limits | None = None
    retry: Retry = BATCH_RETRY
    fallbacks: tuple[str, ...] = ()
    #: Dollars this run may spend (then it stops taking items); `None`: no limit.
    budget: float | None = None
    #: Dollars one call may cost at worst; `None`: no ceiling.
    max_call_cost: float | None = None
    scenario: str | None = None
    base_url: str | None = None
    redis_url: str | None = None
    #: Shared mode's job name; default: the input's SHA-256 prefix.
    job: str | None = None
    lease: float = DEFAULT_LEASE
    grace: float = DEFAULT_GRACE
    progress: Literal["auto", "live", "plain", "off"] = "auto"
    interval: float = DEFAULT_INTERVAL

    def __post_init__(self) -> None:
        if self.provider not in ("anthropic", "openai", "sim", "auto"):
            raise ConfigError(f"provider: {self.provider!r} is not anthropic, openai, sim or auto")
        if self.shape is not None and self.shape not in ("anthropic", "openai"):
            raise ConfigError(f"format: {self.shape!r} is not anthropic or openai")
        if self.provider in ("anthropic", "openai") and self.shape not in (None, self.provider):
            raise ConfigError(
                f"--format {self.shape} does not fit --provider {self.provider}: a provider "
                "takes its own API's requests"
            )
        if self.scenario is not None and self.provider != "sim":
            raise ConfigError("--scenario is for --provider sim only")
        for name in ("concurrency",):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: {value!r} is not an integer >= 1")
        for name in ("lease", "grace", "interval"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(f"{name}: {value!r} is not a positive number of seconds")
        if self.input.resolve() == self.output.resolve():
            raise ConfigError(f"the output {self.output} is the input: give another -o")
        self._check_places()

    def _check_places(self) -> None:
        """The output and journal must be files in directories that exist."""
        if self.output.is_dir():
            raise ConfigError(f"-o {self.output}: is a directory; give a file path")
        for flag, path in (("-o", self.output), ("--journal", self.journal)):
            if path is not None and not path.parent.is_dir():
                raise ConfigError(
                    f"{flag} {path}: its directory {path.parent} does not exist; create it first"
                )

    @property
    def journal_path(self) -> Path:
        """Where the journal lives."""
        if self.journal is not None:
            return self.journal
        return self.output.with_name(self.output.name + ".journal")

    @property
    def request_shape(self) -> Shape | None:
        """The shape the requests must have, when the settings fix it."""
        if self.shape is not None:
            return self.shape
        if self.provider in ("anthropic", "openai"):
            return self.provider
        return None
