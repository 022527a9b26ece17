"""What the adapters know about each event: how serious it is, which field says its outcome.

Every adapter handles any `Event` generically, by its stable `name` and its dataclass
fields; this catalog only refines that. A new event needs no entry to be logged, traced
and counted; an entry gives it a severity other than "handled" and names the field whose
(low-cardinality) value becomes the `riprap.outcome` metric label. Adding an event is one
line in `SPECS`.
"""

from __future__ import annotations

import dataclasses
import enum
import numbers
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from riprap.errors import ConfigError
from riprap.observe._events import (
    AttemptEnded,
    AttemptStarted,
    BreakerChanged,
    BudgetReserved,
    BudgetSettled,
    CallDegraded,
    CallEnded,
    FallbackUsed,
    LimiterWaited,
    OutputReasked,
    RetryScheduled,
    TargetEnded,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from riprap.observe._events import Event
    from riprap.observe._redactor import Redactor


class Severity(enum.IntEnum):
    """How much an operator needs to see an event; each adapter maps it to its levels."""

    #: Business as usual: an attempt started, a call succeeded.
    ROUTINE = 0
    #: riprap handled something: a failed attempt, a retry, a wait, a fallback.
    HANDLED = 1
    #: What the application saw fail: a call that raised.
    FAILURE = 2


@dataclass(frozen=True, slots=True)
class Spec:
    """What the adapters need to know about one event beyond its fields."""

    severity: Callable[[Event], Severity]
    #: The field whose value is the `riprap.outcome` label; it must take few values
    #: (an enum, a bool, or a short fixed vocabulary). `None`: look for one (see below).
    outcome: str | None = None


def _always(severity: Severity) -> Callable[[Event], Severity]:
    return lambda _event: severity


def _attempt_ended(event: Event) -> Severity:
    return Severity.ROUTINE if getattr(event, "kind", None) is None else Severity.HANDLED


def _call_ended(event: Event) -> Severity:
    if not getattr(event, "ok", False):
        return Severity.FAILURE
    # A degraded answer was already reported as a failure by its `CallDegraded`.
    return Severity.HANDLED if getattr(event, "degraded", False) else Severity.ROUTINE


def _target_ended(event: Event) -> Severity:
    # One target failing is what the chain is for: the call's own end says if it failed.
    return Severity.ROUTINE if getattr(event, "ok", False) else Severity.HANDLED


#: The events of the layers that exist today. Other layers add a line each.
SPECS: Mapping[str, Spec] = MappingProxyType(
    {
        AttemptStarted.name: Spec(_always(Severity.ROUTINE)),
        AttemptEnded.name: Spec(_attempt_ended),
        RetryScheduled.name: Spec(_always(Severity.HANDLED)),
        CallEnded.name: Spec(_call_ended, outcome="stop"),
        # A breaker opening or a call moving on is handled, not failed: INFO in the logs.
        BreakerChanged.name: Spec(_always(Severity.HANDLED), outcome="current"),
        FallbackUsed.name: Spec(_always(Severity.HANDLED)),
        # Waiting for rate-limit capacity is the limiter doing its job.
        LimiterWaited.name: Spec(_always(Severity.HANDLED)),
        TargetEnded.name: Spec(_target_ended, outcome="stop"),
        # The user got the degrade handler's answer instead of the model's: a failure
        # they saw, even though nothing was raised.
        CallDegraded.name: Spec(_always(Severity.FAILURE)),
        BudgetReserved.name: Spec(_always(Severity.ROUTINE)),
        BudgetSettled.name: Spec(_always(Severity.ROUTINE)),
        OutputReasked.name: Spec(_always(Severity.HANDLED)),
    }
)

#: An event without an entry: layers emit events when they act, so "handled".
DEFAULT_SPEC = Spec(_always(Severity.HANDLED))

#: Fields looked at, in order, for an uncatalogued event's outcome label; only an enum
#: or bool value is taken, since only those are bounded by construction.
OUTCOME_FIELDS = ("to_state", "state", "outcome", "reason", "stop")

#: Fields that may carry prompt or answer text. They are filled by the call layer only
#: when an adapter asks for content (see `riprap.observe._content`), and every adapter
#: drops them unless it was configured with a `content_limit`.
CONTENT_FIELDS = frozenset({"input_text", "output_text"})


def operation_id_of(event: Event) -> str:
    """The id of the logical call `event` belongs to (its `call_id` if it names none)."""
    return event.operation_id or event.call_id


def spec_of(event: Event) -> Spec:
    """The catalog entry for `event`, or the default."""
    return SPECS.get(event.name, DEFAULT_SPEC)


def severity_of(event: Event) -> Severity:
    """How serious `event` is."""
    return spec_of(event).severity(event)


def outcome_of(event: Event) -> str | None:
    """The value of `event`'s outcome label, or `None` when it has none."""
    name = spec_of(event).outcome
    if name is not None:
        return _label_text(getattr(event, name, None))
    for candidate in OUTCOME_FIELDS:
        value = getattr(event, candidate, None)
        if isinstance(value, (enum.Enum, bool)):
            return _label_text(value)
    return None


def _label_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def fields_of(
    event: Event, redactor: Redactor, *, content_limit: int | None = None
) -> dict[str, object]:
    """`event`'s fields as plain data, ready to export.

    Enums become their values, strings are redacted, `time` is renamed `event_time` (a
    log record and a span have a time of their own), and the content fields are dropped
    unless `content_limit` is set, in which case they are cut to it.
    """
    out: dict[str, object] = {}
    for name in _field_names(type(event)):
        value = getattr(event, name)
        if name in CONTENT_FIELDS:
            if content_limit is None or value is None:
                continue
            # Redact before cutting: a cut could leave half a key the patterns miss.
            out[name] = clip(redactor.text(str(value)), content_limit)
        elif type(value) in _PLAIN:
            out[_EXPORTED_NAME.get(name, name)] = value
        else:
            out[_EXPORTED_NAME.get(name, name)] = export(value, redactor)
    return out


def export(value: object, redactor: Redactor) -> object:  # noqa: PLR0911 - one case per type
    """`value` as plain, redacted data: enums as values, strings redacted, through containers.

    Numbers pass as they are; anything else (a nested dataclass of another layer's event,
    say) becomes its redacted `str`, so no string escapes the redactor by hiding in an
    object.
    """
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, tuple):
        return tuple(export(v, redactor) for v in value)
    if isinstance(value, list):
        return [export(v, redactor) for v in value]
    if isinstance(value, dict):
        return {redactor.text(str(k)): export(v, redactor) for k, v in value.items()}
    if isinstance(value, numbers.Number):
        return value
    return redactor.text(str(value))


#: Values exported as they are: nothing to redact, nothing to convert.
_PLAIN = frozenset({int, float, bool, type(None)})
#: `time` would be ambiguous beside a log record's or a span's own time.
_EXPORTED_NAME = {"time": "event_time"}
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # `dataclasses.fields` builds a tuple on every call; events are logged per attempt.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with "…" when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def check_content_limit(owner: str, limit: int | None) -> int | None:
    """`limit`, if it is `None` or a positive int; else `ConfigError` naming `owner`."""
    return None if limit is None else check_positive(owner, "content_limit", limit)


def check_positive(owner: str, name: str, value: int) -> int:
    """`value`, if it is an int >= 1; else `ConfigError` naming `owner.name` and the value."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{owner}.{name}: {value!r} is not an int >= 1")
    return value
