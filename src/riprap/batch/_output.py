"""The output file: one JSON line per finished item, appended, never rewritten.

Every write is one `write(2)` of whole lines on a file opened with `O_APPEND`, made
while holding an exclusive `flock` on it, so processes sharing the file never interleave
and a process killed (even by SIGKILL) leaves whole lines: the kernel has them the
moment `write` returns. Only a power failure or a full disk can leave a torn last line;
`repair` cuts it off, and the item it held is run again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from typing import TYPE_CHECKING, Any, Final

from riprap.batch._input import id_key
from riprap.batch._journal import FINISHED, JournalError, State

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: Bytes read per step when looking for the start of a torn last line.
_TAIL_STEP: Final = 64 * 1024


class Output:
    """An output file open for appending, shared safely between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def close(self) -> None:
        """Close the file (its data is already durable if `sync` was called)."""
        os.close(self._fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's exclusive lock: no other writer appends meanwhile."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def fileno(self) -> int:
        """The file descriptor (for `flock`)."""
        return self._fd

    def size(self) -> int:
        """The file's length in bytes."""
        return os.fstat(self._fd).st_size

    def append(self, data: bytes) -> int:
        """Write whole lines at the end (hold `locked`); returns the offset they start at."""
        start = self.size()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        return start

    def sync(self) -> None:
        """Make every appended line durable (fsync)."""
        os.fsync(self._fd)

    def repair(self) -> int:
        """Cut a torn last line (one without its newline); returns the bytes cut.

        Hold `locked` meanwhile: a torn line can then only be a dead writer's.
        """
        size = self.size()
        if size == 0:
            return 0
        with self.path.open("rb") as handle:
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return 0
            end = size
            while end > 0:
                start = max(0, end - _TAIL_STEP)
                handle.seek(start)
                chunk = handle.read(end - start)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    keep = start + cut + 1
                    break
                end = start
            else:
                keep = 0
        os.truncate(self.path, keep)
        return size - keep


def scan(path: Path, start: int = 0) -> Iterator[tuple[int, str | None, State]]:
    """(input line, id, state) of every output line from byte `start` on.

    Raises `JournalError` on a line that is not an output record: the output is the
    record of what finished, and a guess would lose or repeat items.
    """
    with path.open("rb") as handle:
        handle.seek(start)
        for number, data in enumerate(handle, start=1):
            record = _record(data)
            line, status = record.get("line"), record.get("status")
            if not isinstance(line, int) or status not in STATES_OF:
                raise JournalError(
                    f"{path}: output line {number} is not a riprap batch record "
                    '(it needs "line" and "status")'
                )
            yield line, id_key(record.get("id")), STATES_OF[status]


def _record(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise JournalError(f"output holds a line that is not a JSON object: {data[:80]!r}")
    return value


#: Output `status` → journal state.
STATES_OF: Final[dict[str, State]] = {"ok": "done", "failed": "failed", "invalid": "invalid"}
assert set(STATES_OF.values()) == set(FINISHED)  # noqa: S101 - the two tables agree
