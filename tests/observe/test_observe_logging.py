"""stdlib logging: stable event names and fields, levels, JSON lines, opt-in content."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING

import pytest
from observe_support import BreakerOpened, BreakerState, CallEndedWithContent, base, call

from riprap.errors import ConfigError
from riprap.observe import JsonFormatter, LoggingHook, Redactor
from riprap.sim import Reply

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.sim import Simulator
    from riprap.testing import FakeClock

#: The fields each event's records carry; a field may be added, never renamed or removed.
STABLE_FIELDS = {
    "riprap.attempt.started": {"call_id", "provider", "model", "event_time", "attempt", "timeout"},
    "riprap.attempt.ended": {
        "call_id", "provider", "model", "event_time", "attempt", "kind", "status", "request_id",
        "latency", "input_tokens", "output_tokens", "error_message",
    },
    "riprap.retry.scheduled": {
        "call_id", "provider", "model", "event_time", "attempt", "kind", "wait", "retry_after",
    },
    "riprap.call.ended": {
        "call_id", "provider", "model", "event_time", "ok", "attempts", "elapsed", "kind", "stop",
        "request_ids", "input_tokens", "output_tokens",
    },
}  # fmt: skip


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A logger of the test's own, at DEBUG, that does not propagate."""
    log = logging.getLogger("riprap.test.observe")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()


def capture(logger: logging.Logger, formatter: logging.Formatter | None = None) -> io.StringIO:
    """Send `logger`'s records, formatted, into a string buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    if formatter is not None:
        handler.setFormatter(formatter)
    logger.addHandler(handler)
    return stream


class Records(logging.Handler):
    """Keeps the records it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep `record`."""
        self.records.append(record)


def records_of(logger: logging.Logger) -> list[logging.LogRecord]:
    """A live list of the records `logger` handles from now on."""
    keeper = Records()
    logger.addHandler(keeper)
    return keeper.records


def test_events_have_stable_names_fields_and_levels(
    sim: Simulator, clock: FakeClock, logger: logging.Logger
) -> None:
    """Each event logs under its name with its fields; routine at DEBUG, handled at INFO."""
    sim.script(Reply(status=529), Reply())
    records = records_of(logger)
    call("anthropic", sim, is_async=False, hooks=[LoggingHook(logger=logger)], clock=clock)
    seen = [(r.event, r.levelname) for r in records]  # type: ignore[attr-defined]
    assert seen == [
        ("riprap.attempt.started", "DEBUG"),
        ("riprap.attempt.ended", "INFO"),
        ("riprap.retry.scheduled", "INFO"),
        ("riprap.attempt.started", "DEBUG"),
        ("riprap.attempt.ended", "DEBUG"),
        ("riprap.call.ended", "DEBUG"),
    ]
    for record in records:
        assert set(record.riprap) >= STABLE_FIELDS[record.event]  # type: ignore[attr-defined]
    assert records[1].kind == "overloaded"  # type: ignore[attr-defined]
    assert type(records[1].kind) is str  # type: ignore[attr-defined]  # enums as plain values


def test_a_failed_call_logs_at_warning(
    sim: Simulator, clock: FakeClock, logger: logging.Logger
) -> None:
    """The call a user saw fail is the one WARNING record, with its kind and why riprap stopped."""
    sim.script(Reply(status=401))
    records = records_of(logger)
    call("openai", sim, is_async=False, hooks=[LoggingHook(logger=logger)], clock=clock)
    [warning] = [r for r in records if r.levelno >= logging.WARNING]
    assert warning.getMessage().startswith("riprap.call.ended ")
    assert " ok=False " in warning.getMessage()
    assert warning.kind == "authentication"  # type: ignore[attr-defined]
    assert warning.stop == "not_retryable"  # type: ignore[attr-defined]


def test_json_formatter_writes_one_object_per_record(
    sim: Simulator, clock: FakeClock, logger: logging.Logger
) -> None:
    """Each line is a JSON object with time, level, logger, the event's name and fields."""
    sim.script(Reply(status=500), Reply())
    stream = capture(logger, JsonFormatter())
    call("openai", sim, is_async=True, hooks=[LoggingHook(logger=logger)], clock=clock)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "riprap.attempt.started", "riprap.attempt.ended", "riprap.retry.scheduled",
        "riprap.attempt.started", "riprap.attempt.ended", "riprap.call.ended",
    ]  # fmt: skip
    ended = lines[-1]
    assert ended["message"] == "riprap.call.ended"
    assert ended["level"] == "DEBUG"
    assert ended["logger"] == "riprap.test.observe"
    assert ended["ok"] is True
    assert ended["provider"] == "openai"
    assert isinstance(ended["request_ids"], list)
    assert ended["time"].endswith("+00:00")
    assert set(ended) >= STABLE_FIELDS["riprap.call.ended"]


def test_json_formatter_handles_any_record_and_redacts_it(logger: logging.Logger) -> None:
    """Records from elsewhere are JSON too; keys in messages and tracebacks are removed."""
    stream = capture(logger, JsonFormatter())
    key = "sk-ant-api03-" + "x" * 40

    def fail() -> None:
        raise ValueError(f"bad key {key}")

    try:
        fail()
    except ValueError:
        logger.exception("header was Authorization: Bearer %s", key)
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert line["level"] == "ERROR"
    assert key not in json.dumps(line)
    assert "ValueError" in line["exception"]
    assert line["message"].startswith("header was Authorization: [redacted]")


def test_other_layers_events_are_logged_generically(logger: logging.Logger) -> None:
    """An event the adapter does not know logs under its name, with its fields, at INFO."""
    records = records_of(logger)
    LoggingHook(logger=logger)(
        BreakerOpened(**base(), to_state=BreakerState.OPEN, failure_ratio=0.5)
    )
    [record] = records
    assert record.levelno == logging.INFO
    assert record.event == "riprap.breaker.transition"  # type: ignore[attr-defined]
    assert record.to_state == "open"  # type: ignore[attr-defined]
    assert "to_state=open failure_ratio=0.500" in record.getMessage()


def ended_with_text(text: str) -> CallEndedWithContent:
    """A CallEnded as the call layer will send it to hooks that ask for content."""
    return CallEndedWithContent(
        **base(), ok=True, attempts=1, elapsed=0.2, kind=None, stop=None, request_ids=(),
        input_text=text, output_text="the answer",
    )  # fmt: skip


def test_content_is_not_logged_by_default(logger: logging.Logger) -> None:
    """Prompt and answer text in an event stay out of the log unless content logging is on."""
    records = records_of(logger)
    LoggingHook(logger=logger)(ended_with_text("my secret prompt"))
    [record] = records
    assert "input_text" not in record.riprap  # type: ignore[attr-defined]
    assert "secret prompt" not in record.getMessage()
    assert LoggingHook().content_limit is None


def test_content_logging_is_opt_in_and_truncated(logger: logging.Logger) -> None:
    """With `content_limit`, the text is logged, redacted, and cut to that many characters."""
    records = records_of(logger)
    hook = LoggingHook(logger=logger, content_limit=12)
    hook(ended_with_text("key sk-ant-api03-" + "k" * 30 + " and a long tail"))
    [record] = records
    assert record.input_text == "key [redact…"  # type: ignore[attr-defined]
    assert record.output_text == "the answer"  # type: ignore[attr-defined]


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_content_limit_is_validated(limit: object) -> None:
    """A content limit that is not a positive int is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"LoggingHook\.content_limit"):
        LoggingHook(content_limit=limit)  # type: ignore[arg-type]


def test_user_patterns_are_redacted_in_fields(logger: logging.Logger) -> None:
    """A user's own secret pattern is removed from every logged field."""
    records = records_of(logger)
    hook = LoggingHook(logger=logger, redactor=Redactor(patterns=(r"ACME-\d{6}",)))
    hook(BreakerOpened(**base(), to_state=BreakerState.OPEN, failure_ratio=1.0, note="ACME-123456"))
    [record] = records
    assert record.note == "[redacted]"  # type: ignore[attr-defined]
    assert "ACME-123456" not in record.getMessage()


def test_nested_values_are_exported_redacted() -> None:
    """Strings inside another layer's nested values (dicts, objects) are redacted too."""
    from dataclasses import dataclass  # noqa: PLC0415 - a one-off event shape for this test
    from typing import ClassVar  # noqa: PLC0415

    from riprap.observe import Event  # noqa: PLC0415
    from riprap.observe._catalog import fields_of  # noqa: PLC0415

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Odd(Event):
        name: ClassVar[str] = "riprap.test.odd"
        headers: dict[str, str]
        target: object

    key = "sk-ant-api03-" + "q" * 30
    event = Odd(**base(), headers={"x-api-key": key}, target=ValueError(key))
    fields = fields_of(event, Redactor())
    assert fields["headers"] == {"x-api-key": "[redacted]"}
    assert fields["target"] == "[redacted]"
