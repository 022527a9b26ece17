"""What the simulator does with one request: scripted replies and seeded scenarios."""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from riprap.sim._limits import RateLimits
from riprap.sim._sse import check_stream_fields

if TYPE_CHECKING:
    from typing_extensions import TypeIs

Disconnect: TypeAlias = Literal["reset", "close"]
StreamFault: TypeAlias = Literal["stream_error", "stream_cut", "stream_stall", "stream_truncate"]
_PlainFault: TypeAlias = int | Literal["reset", "close", "hang", "bad_json"]
FaultKind: TypeAlias = _PlainFault | StreamFault

_DISCONNECTS: Final = frozenset({"reset", "close"})
# Faults inside a streamed body; a request that does not stream gets a plain success instead.
_STREAM_FAULTS: Final = frozenset({"stream_error", "stream_cut", "stream_stall", "stream_truncate"})
_NAMED_FAULTS: Final = frozenset({"reset", "close", "hang", "bad_json"}) | _STREAM_FAULTS
# Framing belongs to the server; a scripted header that changed it would desynchronise the
# connection for every later request on it, which is a bug in the test, not a fault.
_FORBIDDEN_HEADERS: Final = frozenset({"content-length", "transfer-encoding", "connection"})
# Statuses whose retry hint a scenario may set: the ones real providers send Retry-After on.
RETRY_AFTER_STATUSES: Final = frozenset({429, 503, 529})
# A 200 whose body is cut mid-object, as when a proxy truncates a response.
BAD_JSON_BODY: Final = b'{"id": "sim_truncated", "type": "mess'
EMPTY_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})
EMPTY_MODELS: Final[Mapping[str, Scenario]] = MappingProxyType({})


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_nonnegative(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0


def _check_delay(name: str, value: object) -> None:
    if not _is_nonnegative(value):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


def _check_optional_text(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{name} must be None or a non-empty str, got {value!r}")


def _check_header_text(name: str, value: object) -> None:
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name} must be a str without CR, LF or NUL, got {value!r}")


def _normalise_headers(headers: object) -> Mapping[str, str]:
    if not isinstance(headers, Mapping):
        # The project reports wrong types as ValueError too (cf. riprap.errors.ConfigError).
        raise ValueError(f"headers must be a mapping of str to str, got {headers!r}")  # noqa: TRY004
    normal: dict[str, str] = {}
    for key, value in headers.items():
        _check_header_text("headers key", key)
        _check_header_text(f"headers[{key!r}]", value)
        lower = key.lower()
        if not lower or lower in _FORBIDDEN_HEADERS:
            raise ValueError(f"headers may not set {key!r}: the server owns message framing")
        normal[lower] = value
    return MappingProxyType(normal) if normal else EMPTY_HEADERS


def _encode_body(body: object) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, dict | list):
        try:
            return json.dumps(body).encode()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"body is not JSON-serialisable: {exc}") from exc
    raise ValueError(f"body must be None, a dict, a list, str or bytes, got {type(body).__name__}")


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One response the simulator sends, or one way it fails to send one.

    A success to a request whose JSON body has ``"stream": true`` is sent as the provider's
    event stream (one text delta per word); the ``stream_*`` fields shape it. Their counts
    are text deltas sent before the fault strikes; a count past the last delta strikes
    after it, before the closing events. A request that does not stream ignores them.

    Attributes:
        status: HTTP status, 200-599.
        headers: Extra response headers (e.g. ``retry-after``, ``x-should-retry``).
        body: None for the provider-shaped default; a dict or list is sent as JSON; str or
            bytes are sent verbatim (for bodies that must not parse).
        error_type: Overrides the default error ``type`` for this status.
        error_code: Anthropic: ``error.details.error_code``; OpenAI: ``error.code``.
        message: Overrides the default error message.
        content_type: Response Content-Type; None means ``application/json``.
        delay: Seconds to wait before sending the response (or disconnecting).
        disconnect: ``"reset"`` aborts with a TCP RST, ``"close"`` closes cleanly; either way
            no response byte is sent.
        hang: Read the request and never answer; freed when the client closes.
        text: Assistant text of a success reply; None derives it from the request.
        usage: ``(input_tokens, output_tokens)`` of a success reply; None estimates it.
        stream_error_after: Streamed reply: after this many text deltas, an error event
            (Anthropic ``event: error``, OpenAI ``data: {"error": ...}``) ends the stream.
            Its type is ``error_type`` (default ``overloaded_error`` / ``server_error``),
            its message ``message``, its code ``error_code``.
        stream_cut_after: Streamed reply: after this many text deltas, close the connection
            without the terminating chunk (the client reads an incomplete chunked body).
        stream_truncate_after: Streamed reply: after this many text deltas, end the body
            cleanly, without the closing events (no ``message_stop`` / ``[DONE]``), as a
            gateway that drops the rest of an upstream stream does.
        stream_stall_after: Streamed reply: after this many text deltas, send nothing for
            ``stream_stall_for`` seconds (no bytes at all, not even pings).
        stream_stall_for: Seconds the stall lasts, then the stream goes on (to its end or
            to the ending fault above). None: it never resumes; the connection stays open
            until the client gives up.
        stream_first_token_delay: Streamed reply: seconds between the opening events and
            the first text delta. The headers and opening events (Anthropic
            ``message_start``, ``content_block_start``, ``ping``; OpenAI the role chunk) are
            sent at once; ``delay`` is what holds back the headers.
        stream_interval: Streamed reply: seconds between every two consecutive events.
        encoded_body: ``body`` as the bytes sent (None for the default), computed once here
            so serving a scripted body costs nothing per request.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=lambda: EMPTY_HEADERS, hash=False)
    body: object = field(default=None, hash=False)
    error_type: str | None = None
    error_code: str | None = None
    message: str | None = None
    content_type: str | None = None
    delay: float = 0.0
    disconnect: Disconnect | None = None
    hang: bool = False
    text: str | None = None
    usage: tuple[int, int] | None = None
    stream_error_after: int | None = None
    stream_cut_after: int | None = None
    stream_truncate_after: int | None = None
    stream_stall_after: int | None = None
    stream_stall_for: float | None = None
    stream_first_token_delay: float = 0.0
    stream_interval: float = 0.0
    encoded_body: bytes | None = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Validate every field, so a bad script fails where it is written."""
        status = self.status
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:  # noqa: PLR2004
            raise ValueError(f"status must be an int in 200..599, got {status!r}")
        object.__setattr__(self, "headers", _normalise_headers(self.headers))
        object.__setattr__(self, "encoded_body", _encode_body(self.body))
        for name in ("error_type", "error_code", "message", "text"):
            _check_optional_text(name, getattr(self, name))
        if self.content_type is not None:
            _check_header_text("content_type", self.content_type)
        _check_delay("delay", self.delay)
        if self.disconnect is not None and self.disconnect not in _DISCONNECTS:
            raise ValueError(
                f"disconnect must be None, 'reset' or 'close', got {self.disconnect!r}"
            )
        if not isinstance(self.hang, bool):
            raise ValueError(f"hang must be a bool, got {self.hang!r}")  # noqa: TRY004 -- as above
        if self.hang and self.disconnect is not None:
            raise ValueError("hang and disconnect are exclusive: a hung request sends nothing")
        usage = self.usage
        if usage is not None and not (
            isinstance(usage, tuple)
            and len(usage) == 2  # noqa: PLR2004
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in usage)
        ):
            raise ValueError(
                f"usage must be None or (input_tokens, output_tokens) >= 0, got {usage!r}"
            )
        check_stream_fields(self)

    @property
    def is_error(self) -> bool:
        """Whether the status is 4xx or 5xx."""
        return self.status >= 400  # noqa: PLR2004

    @property
    def sends_response(self) -> bool:
        """Whether any response byte is written."""
        return not self.hang and self.disconnect is None


SUCCESS: Final = Reply()

_DEFAULT_FAULTS: Final[Mapping[int | str, float]] = MappingProxyType(
    {429: 1.0, 500: 1.0, 503: 1.0, 529: 1.0, "reset": 1.0}
)


def _check_fault_kind(kind: object) -> None:
    if isinstance(kind, bool) or not (
        (isinstance(kind, int) and 400 <= kind <= 599) or kind in _NAMED_FAULTS  # noqa: PLR2004
    ):
        raise ValueError(
            f"faults key must be an HTTP status 400..599 or one of "
            f"{sorted(_NAMED_FAULTS)}, got {kind!r}"
        )


def _is_stream_fault(kind: FaultKind) -> TypeIs[StreamFault]:
    return kind in _STREAM_FAULTS


def _check_stream_scenario(after: object, stall_for: object) -> None:
    if not (
        isinstance(after, tuple)
        and len(after) == 2  # noqa: PLR2004
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in after)
        and after[0] <= after[1]
    ):
        raise ValueError(
            f"stream_fault_after must be a (low, high) tuple of ints, 0 <= low <= high, "
            f"got {after!r}"
        )
    if stall_for is not None:
        _check_delay("stream_stall_for", stall_for)


def _check_rate_limits(value: object) -> None:
    if value is not None and not isinstance(value, RateLimits):
        raise ValueError(f"rate_limits must be None or a RateLimits, got {value!r}")


def _check_models(models: object) -> Mapping[str, Scenario]:
    """`models` as a read-only mapping, each override checked to be a plain Scenario."""
    if not isinstance(models, Mapping):
        raise ValueError(f"models must be a mapping of model name to Scenario, got {models!r}")  # noqa: TRY004 -- as above
    for name, override in models.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"models key must be a non-empty str, got {name!r}")
        if not isinstance(override, Scenario):
            raise ValueError(f"models[{name!r}] must be a Scenario, got {override!r}")  # noqa: TRY004 -- as above
        # Buckets are kept per model already, from the parent's limits; an override's own
        # limits or overrides would be silently ignored, so they are refused.
        if override.models or override.rate_limits is not None:
            raise ValueError(
                f"models[{name!r}] may not set models or rate_limits: the outer scenario's "
                f"rate limits apply to every model"
            )
    return MappingProxyType(dict(models)) if models else EMPTY_MODELS


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A seeded, reproducible mix of faults applied to requests with no scripted reply.

    The outcome of request ``i`` is a pure function of ``(seed, i)``: two simulators given
    the same scenario and the same request sequence inject exactly the same faults.

    Attributes:
        seed: Seed of the per-request random draw.
        fault_rate: Probability, 0..1, that a request gets a fault instead of a success.
        faults: Relative weights over fault kinds: an HTTP status (400..599) or
            ``"reset"``, ``"close"``, ``"hang"``, ``"bad_json"`` (a 200 with truncated JSON),
            or a stream fault (see ``stream_fault_after``).
            Default: equal weights over 429, 500, 503, 529 and ``"reset"``.
        latency: ``(low, high)`` seconds; each request waits a uniform draw from it.
        retry_after: If set, a ``retry-after`` header (seconds) on 429/503/529 faults.
        stream_fault_after: ``(low, high)`` text deltas, inclusive: where a stream fault
            (``"stream_error"``, ``"stream_cut"``, ``"stream_stall"``,
            ``"stream_truncate"``) hits, drawn uniformly per request from ``(seed, index)``.
            A stream fault drawn for a request that does not stream leaves it a plain
            success: it is not swapped for another fault, so the mix of plain-call faults
            stays what ``faults`` says.
        stream_stall_for: Seconds a ``"stream_stall"`` lasts before the stream goes on;
            None (default): it never resumes, the client must give up.
        rate_limits: If set, every model gets these token buckets (the simulator keeps
            their state, advanced by its clock): a request over a limit is refused with a
            429 before the scenario decides, and every response to a limited route carries
            rate-limit headers in its provider's format.
        models: Per-model overrides: a request whose body names one of these models is
            decided by that Scenario (its own fault mix, latency, retry-after and stream
            faults) instead of this one. Overrides may not nest and may not set
            ``rate_limits``; this scenario's limits apply to every model.
    """

    seed: int = 0
    fault_rate: float = 0.0
    faults: Mapping[int | str, float] = field(default_factory=lambda: _DEFAULT_FAULTS, hash=False)
    latency: tuple[float, float] = (0.0, 0.0)
    retry_after: float | None = None
    # Default texts are 4 to 12 deltas long: 0..8 hits before the first token, mid-text and,
    # for short texts, after the last delta (text complete but the stream never closed).
    stream_fault_after: tuple[int, int] = (0, 8)
    stream_stall_for: float | None = None
    rate_limits: RateLimits | None = None
    models: Mapping[str, Scenario] = field(default_factory=lambda: EMPTY_MODELS, hash=False)
    _kinds: tuple[FaultKind, ...] = field(init=False, repr=False, compare=False, hash=False)
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Validate every field and precompute the weighted choice table."""
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an int, got {self.seed!r}")  # noqa: TRY004 -- as above
        rate = self.fault_rate
        if not _is_number(rate) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault_rate must be a number in 0..1, got {rate!r}")
        if not isinstance(self.faults, Mapping) or not self.faults:
            raise ValueError(f"faults must be a non-empty mapping, got {self.faults!r}")
        for kind, weight in self.faults.items():
            _check_fault_kind(kind)
            if not _is_nonnegative(weight):
                raise ValueError(f"faults[{kind!r}] must be a finite weight >= 0, got {weight!r}")
        if not any(self.faults.values()):
            raise ValueError(
                f"faults needs at least one positive weight, got {dict(self.faults)!r}"
            )
        object.__setattr__(self, "faults", MappingProxyType(dict(self.faults)))
        latency = self.latency
        if not (isinstance(latency, tuple) and len(latency) == 2):  # noqa: PLR2004
            raise ValueError(f"latency must be a (low, high) tuple, got {latency!r}")
        _check_delay("latency low", latency[0])
        _check_delay("latency high", latency[1])
        if latency[0] > latency[1]:
            raise ValueError(f"latency low must not exceed high, got {latency!r}")
        if self.retry_after is not None:
            _check_delay("retry_after", self.retry_after)
        _check_stream_scenario(self.stream_fault_after, self.stream_stall_for)
        _check_rate_limits(self.rate_limits)
        object.__setattr__(self, "models", _check_models(self.models))
        kinds = tuple(k for k, w in self.faults.items() if w > 0)
        cumulative = tuple(itertools.accumulate(self.faults[k] for k in kinds))
        object.__setattr__(self, "_kinds", kinds)
        object.__setattr__(self, "_cumulative", cumulative)

    def decide(self, index: int, now: float, *, model: str | None = None) -> Reply:
        """Return the reply for request number ``index`` arriving at clock time ``now``.

        ``model`` is the request's model, if it names one: a model in ``models`` is decided
        by its override. ``now`` is unused (outage windows are `Outage`'s job); it is in the
        signature so time-based decisions would not change every caller.
        """
        if model is not None and (override := self.models.get(model)) is not None:
            return override.decide(index, now)
        del now
        if self.fault_rate == 0.0 and self.latency[1] == 0.0:
            return SUCCESS
        # A string seed goes through SHA-512, so neighbouring indices draw unrelated values,
        # and the draw depends on nothing but (seed, index). Not for security.
        rng = random.Random(f"{self.seed}:{index}")  # noqa: S311
        # Always draw all three, in this order, so latency does not depend on the fault.
        fault_draw, kind_draw = rng.random(), rng.random()
        low, high = self.latency
        delay = low + (high - low) * rng.random()
        if fault_draw >= self.fault_rate:
            return Reply(delay=delay) if delay else SUCCESS
        position = bisect.bisect_right(self._cumulative, kind_draw * self._cumulative[-1])
        kind = self._kinds[min(position, len(self._kinds) - 1)]
        if _is_stream_fault(kind):
            return self._stream_fault(kind, index, delay)
        return self._fault(kind, delay)

    def _stream_fault(self, kind: StreamFault, index: int, delay: float) -> Reply:
        # A draw of its own, so adding stream faults changed no existing (seed, index) draw.
        at = random.Random(f"{self.seed}:{index}:stream").randint(*self.stream_fault_after)  # noqa: S311
        if kind == "stream_error":
            return Reply(stream_error_after=at, delay=delay)
        if kind == "stream_cut":
            return Reply(stream_cut_after=at, delay=delay)
        if kind == "stream_truncate":
            return Reply(stream_truncate_after=at, delay=delay)
        return Reply(stream_stall_after=at, stream_stall_for=self.stream_stall_for, delay=delay)

    def _fault(self, kind: _PlainFault, delay: float) -> Reply:
        if isinstance(kind, int):
            headers: Mapping[str, str] = EMPTY_HEADERS
            if self.retry_after is not None and kind in RETRY_AFTER_STATUSES:
                headers = {"retry-after": f"{self.retry_after:g}"}
            return Reply(status=kind, headers=headers, delay=delay)
        if kind == "hang":
            return Reply(hang=True)
        if kind == "bad_json":
            return Reply(body=BAD_JSON_BODY, delay=delay)
        return Reply(disconnect=kind, delay=delay)
