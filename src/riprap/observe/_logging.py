"""The stdlib `logging` adapter: one log record per event, fields as record attributes.

Each record's message is the event's stable name followed by its fields as `key=value`
(readable in a terminal); the same fields are set on the record (`record.riprap` holds
them all as a dict, and each is also a top-level attribute), so a JSON formatter emits
them as structured data without parsing the message.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from riprap.observe._events import AttemptEnded, CallEnded, RetryScheduled

if TYPE_CHECKING:
    from riprap.observe._events import Event

#: The logger riprap uses when none is given.
LOGGER_NAME = "riprap"

#: Attributes every LogRecord has: `logging` refuses extras that would overwrite them.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class LoggingHook:
    """Logs riprap's events through stdlib `logging`.

    Routine events (attempt started, attempt or call succeeded) log at `level`; failed
    attempts and scheduled retries at `retry_level`, since riprap handled them; calls that
    failed at `failure_level`, so a production logger at WARNING sees exactly what a
    user of the application saw fail.
    """

    def __init__(
        self,
        *,
        logger: logging.Logger | None = None,
        level: int = logging.DEBUG,
        retry_level: int = logging.INFO,
        failure_level: int = logging.WARNING,
    ) -> None:
        """Log to `logger` (default: the "riprap" logger)."""
        self.logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self.level = level
        self.retry_level = retry_level
        self.failure_level = failure_level

    def __call__(self, event: Event) -> None:
        """Log one event."""
        level = self._level_of(event)
        if not self.logger.isEnabledFor(level):
            return
        fields = _fields(event)
        text = " ".join(f"{k}={_show(v)}" for k, v in fields.items() if v is not None)
        self.logger.log(
            level,
            "%s %s",
            event.name,
            text,
            extra={
                "riprap": fields,
                "event": event.name,
                **{k: v for k, v in fields.items() if k not in _RESERVED},
            },
        )

    def _level_of(self, event: Event) -> int:
        if isinstance(event, RetryScheduled) or (
            isinstance(event, AttemptEnded) and event.kind is not None
        ):
            return self.retry_level
        if isinstance(event, CallEnded) and not event.ok:
            return self.failure_level
        return self.level


def _fields(event: Event) -> dict[str, object]:
    # `time` would shadow nothing on a LogRecord, but `created` already says it; keep the
    # event's own time under a name that cannot collide with LogRecord attributes.
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    fields["event_time"] = fields.pop("time")
    return fields


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, str) and (" " in value or not value):
        return repr(value)
    return str(value)
