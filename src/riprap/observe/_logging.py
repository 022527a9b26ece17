"""The stdlib `logging` adapter: one log record per event, fields as record attributes.

Each record's message is the event's stable name followed by its fields as `key=value`
(readable in a terminal); the same fields are set on the record (`record.riprap` holds
them all as a dict, and each is also a top-level attribute), so a formatter emits them
as structured data without parsing the message. `JsonFormatter` is such a formatter.

The names and fields are stable: a record's `event` is the event's `name`
(`riprap.attempt.started`, `riprap.attempt.ended`, `riprap.retry.scheduled`,
`riprap.call.ended`, and the other layers' events), and its fields are the event's
dataclass fields, enums as their string values, with `time` renamed `event_time`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING

from riprap.observe._catalog import (
    Severity,
    check_content_limit,
    export,
    fields_of,
    severity_of,
)
from riprap.observe._redactor import DEFAULT_REDACTOR

if TYPE_CHECKING:
    from riprap.observe._events import Event
    from riprap.observe._redactor import Redactor

#: The logger riprap uses when none is given.
LOGGER_NAME = "riprap"

#: The record attribute naming the redactor a LoggingHook cleaned the fields with.
_REDACTED_BY = "riprap_redactor"

#: Attributes every LogRecord has: `logging` refuses extras that would overwrite them.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class LoggingHook:
    """Logs riprap's events through stdlib `logging`.

    Routine events (attempt started, attempt or call succeeded) log at `level`; what
    riprap handled (a failed attempt, a retry, a wait, a breaker or fallback event) at
    `retry_level`; calls that failed at `failure_level`, so a production logger at
    WARNING sees exactly what a user of the application saw fail.

    Every string goes through `redactor` first. Prompt and answer text is never logged
    unless `content_limit` is set (then it is cut to that many characters); it is also
    the signal that tells the call layer to capture the text at all.
    """

    def __init__(
        self,
        *,
        logger: logging.Logger | None = None,
        level: int = logging.DEBUG,
        retry_level: int = logging.INFO,
        failure_level: int = logging.WARNING,
        redactor: Redactor = DEFAULT_REDACTOR,
        content_limit: int | None = None,
    ) -> None:
        """Log to `logger` (default: the "riprap" logger)."""
        self.logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self.level = level
        self.retry_level = retry_level
        self.failure_level = failure_level
        self.redactor = redactor
        self.content_limit = check_content_limit("LoggingHook", content_limit)

    def __call__(self, event: Event) -> None:
        """Log one event."""
        level = self.level_of(event)
        if not self.logger.isEnabledFor(level):
            return
        fields = fields_of(event, self.redactor, content_limit=self.content_limit)
        self.logger.log(
            level,
            "%s %s",
            event.name,
            _Text(fields),
            extra={
                "riprap": fields,
                "event": event.name,
                _REDACTED_BY: self.redactor,
                **{k: v for k, v in fields.items() if k not in _RESERVED},
            },
        )

    def level_of(self, event: Event) -> int:
        """The level `event` is logged at."""
        severity = severity_of(event)
        if severity is Severity.FAILURE:
            return self.failure_level
        if severity is Severity.HANDLED:
            return self.retry_level
        return self.level

    def __repr__(self) -> str:
        return f"LoggingHook(logger={self.logger.name!r})"


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON object on one line.

    A riprap record becomes `{"time", "level", "logger", "message": <event name>,
    "event": <event name>, <every field of the event>}`; any other record `{"time",
    "level", "logger", "message"}`; an exception adds `"exception"`. Times are UTC,
    ISO 8601. Every string goes through `redactor`, the record's own message included.
    """

    def __init__(self, *, redactor: Redactor = DEFAULT_REDACTOR) -> None:
        """Redact with `redactor` (default: keys and credential headers)."""
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        redact = self.redactor.text
        fields = getattr(record, "riprap", None)
        out: dict[str, object] = {}
        if isinstance(fields, dict):
            # A LoggingHook with this same redactor cleaned the fields already.
            done = getattr(record, _REDACTED_BY, None) is self.redactor
            out.update(fields if done else {k: export(v, self.redactor) for k, v in fields.items()})
            message = redact(str(getattr(record, "event", "")))
            out["event"] = message
        else:
            message = redact(record.getMessage())
        # The record's own keys come last: an event field cannot overwrite them.
        out["time"] = dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat()
        out["level"] = record.levelname
        out["logger"] = redact(record.name)
        out["message"] = message
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, default=_json_default, ensure_ascii=False)


class _Text:
    """The fields as `key=value` text, built only if a formatter asks for the message."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, object]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return " ".join(f"{k}={_show(v)}" for k, v in self.fields.items() if v is not None)


def _json_default(value: object) -> str:
    # Only numbers that are not int or float (a Decimal cost) reach here: `export` made
    # everything else plain and redacted.
    return str(value)


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, str) and (" " in value or not value):
        return repr(value)
    return str(value)
