"""Output records: what one finished item writes, as one JSON line.

    {"id": ..., "line": 12, "status": "ok", "response": {...}, "attempts": 2,
     "request_ids": [...], "usage": {...}, "cost": 0.0012, "target": "anthropic:claude-…"}
    {"id": ..., "line": 13, "status": "failed", "error": {"kind": "overloaded",
     "message": "...", "status": 529, "stop": "max_attempts"}, "attempts": 6, ...}
    {"id": null, "line": 14, "status": "invalid", "error": {"kind": "input_invalid",
     "message": "duplicate id 'a' (first at line 3)"}}

`line` is the input line number: it is what makes a record findable again on resume,
even for a line without a usable id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from riprap._report import CallReport
    from riprap._result import Result

#: Characters of an error message kept in the output: enough to act on, and a provider's
#: message can echo a long prompt back.
MESSAGE_LIMIT: Final = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """One finished item: its output line, and what the journal and progress need."""

    seq: int
    data: bytes
    status: str
    attempts: int
    kind: str | None
    report: CallReport | None = None


def dumps(record: dict[str, Any]) -> bytes:
    """One output line."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def invalid(seq: int, line: int, ident: object, message: str) -> Outcome:
    """The record of a line that was never sent."""
    record = {"id": ident, "line": line, "status": "invalid",
              "error": {"kind": "input_invalid", "message": message}}  # fmt: skip
    return Outcome(seq=seq, data=dumps(record), status="invalid", attempts=0, kind=None)


def from_result(seq: int, line: int, ident: object, result: Result[Any]) -> Outcome:
    """The record of a call that returned a `riprap.Result`."""
    report = result.report
    record: dict[str, Any] = {"id": ident, "line": line}
    if result.ok:
        record["status"] = "ok"
        record["response"] = _jsonable(result.value)
    else:
        error = result.error
        assert error is not None  # noqa: S101 - a failed Result holds its error
        record["status"] = "failed"
        record["error"] = _error(error, result.kind, report)
    record["attempts"] = len(report.attempts)
    record["request_ids"] = list(report.request_ids)
    usage = report.usage
    if usage is not None:
        record["usage"] = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
    record["cost"] = report.cost
    record["target"] = report.target
    kind = None if result.ok else record["error"]["kind"]
    return Outcome(
        seq=seq, data=dumps(record), status=record["status"], attempts=len(report.attempts),
        kind=kind, report=report,
    )  # fmt: skip


def from_error(seq: int, line: int, ident: object, error: BaseException) -> Outcome:
    """The record of a call refused before an answer (a bad request, a budget, a bug)."""
    from riprap.errors import report_of  # noqa: PLC0415 - keeps this module import-light

    report = report_of(error)
    kind = getattr(error, "kind", None)
    record: dict[str, Any] = {
        "id": ident, "line": line, "status": "failed",
        "error": _error(error, kind, report),
        "attempts": 0 if report is None else len(report.attempts),
        "request_ids": [] if report is None else list(report.request_ids),
    }  # fmt: skip
    return Outcome(
        seq=seq, data=dumps(record), status="failed", attempts=record["attempts"],
        kind=record["error"]["kind"], report=report,
    )  # fmt: skip


def _error(error: BaseException, kind: object, report: CallReport | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": str(kind) if kind is not None else _snake(type(error).__name__),
        "message": str(error)[:MESSAGE_LIMIT],
        "type": type(error).__name__,
    }
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        out["status"] = status
    if report is not None and report.stop is not None:
        out["stop"] = str(report.stop)
    return out


def _snake(name: str) -> str:
    """`PromptValidationError` → `prompt_validation`: a kind for riprap's own refusals."""
    base = name.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()


def _jsonable(value: object) -> Any:
    """An SDK response as plain JSON data (both SDKs' models have `to_dict`)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return value
