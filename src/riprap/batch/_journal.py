"""The journal: one SQLite row per input item, and the item's state.

States::

    pending ──claim──► claimed ──output line durable──► done | failed | invalid
       ▲                  │
       └──────release─────┘   (interrupted, or found unfinished on resume)

The output file, not the journal, is the record of what finished: an item is marked
finished only after its output line is durable, and on every start `reconcile` makes the
journal agree with the output (a line in the output is finished whatever the journal
says; a finished row with no line goes back to pending). So whichever moment a crash
hits, each item ends up in the output exactly once.

WAL with `synchronous=NORMAL`: a commit may be lost on power failure, never reordered,
and what it would have said is recovered from the output.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from riprap.batch._input import Checked

State: TypeAlias = Literal["pending", "claimed", "done", "failed", "invalid"]
#: States whose item has its line in the output.
FINISHED: Final[tuple[State, ...]] = ("done", "failed", "invalid")
#: Seconds a second process waits for the journal's lock before giving up: long enough
#: for a 50,000-line first pass in another process to commit.
BUSY_TIMEOUT_MS: Final = 60_000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY,      -- 0-based rank among the input's non-blank lines
    line INTEGER NOT NULL UNIQUE, -- 1-based line number in the input
    offset INTEGER NOT NULL,      -- byte offset of the line, to read it again
    length INTEGER NOT NULL,
    id TEXT UNIQUE,               -- canonical id; NULL when the line has no usable one
    error TEXT,                   -- why the line cannot be sent (then never sent)
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    kind TEXT,                    -- the failure kind of a failed item
    started REAL,                 -- epoch seconds of the last claim
    finished REAL,
    seen INTEGER NOT NULL DEFAULT 0  -- scratch for reconcile: the output has its line
);
CREATE INDEX IF NOT EXISTS items_state ON items (state, seq);
"""


class JournalError(Exception):
    """The journal cannot be used with this input or output; the message says why."""


@dataclass(frozen=True, slots=True)
class Row:
    """One item as the journal has it."""

    seq: int
    line: int
    offset: int
    length: int
    id_key: str | None
    error: str | None
    state: State
    attempts: int


@dataclass(frozen=True, slots=True)
class Filled:
    """What the first pass found: totals, and the first input errors."""

    total: int
    invalid: int
    #: The first `MAX_ERRORS_KEPT` errors, as "line N: why".
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What `reconcile` changed to make the journal agree with the output."""

    #: Rows the output shows finished that the journal did not (a crash between the two).
    recovered: int
    #: Rows the journal called finished whose line the output lacks; run again.
    lost: int
    #: Rows left claimed by a run that stopped; run again.
    released: int


#: Input errors kept for the report; the count is always exact.
MAX_ERRORS_KEPT: Final = 50


class Journal:
    """The SQLite journal of one batch job."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise JournalError(f"{path}: not a usable riprap batch journal ({error})") from None

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- identity ---------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The job's identity, as the first run recorded it (empty for a new journal)."""
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def fill(self, checked: Iterable[Checked], meta: Callable[[], dict[str, str]]) -> Filled:
        """Record every input line in one transaction, left open: `commit()` or `rollback()`.

        `meta` is asked after the last line (the input's fingerprint is known then). A
        repeated id makes the later line invalid (the journal's unique index finds it), so
        duplicates cost no memory however long the input.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        if db.execute("SELECT count(*) FROM meta").fetchone()[0]:
            # Another process filled it while this one waited for the lock.
            db.execute("ROLLBACK")
            raise FilledElsewhereError
        total = invalid = 0
        errors: list[str] = []
        for seq, item in enumerate(checked):
            error = item.error
            key = item.id_key
            if key is not None:
                first = db.execute("SELECT line FROM items WHERE id = ?", (key,)).fetchone()
                if first is not None:
                    error, key = f"duplicate id {key!r} (first at line {first[0]})", None
            if error is not None:
                invalid += 1
                if len(errors) < MAX_ERRORS_KEPT:
                    errors.append(f"line {item.raw.line}: {error}")
            db.execute(
                "INSERT INTO items (seq, line, offset, length, id, error) VALUES (?,?,?,?,?,?)",
                (seq, item.raw.line, item.raw.offset, item.raw.length, key, error),
            )
            total += 1
        db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta().items())
        return Filled(total=total, invalid=invalid, errors=tuple(errors))

    def commit(self) -> None:
        """Commit the open transaction."""
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        """Drop the open transaction."""
        self._db.execute("ROLLBACK")

    # -- resume -----------------------------------------------------------------------

    def reconcile(self, finished: Iterable[tuple[int, str | None, State]]) -> Reconciled:
        """Make the journal agree with the output, given each output line's (line, id, state).

        Raises `JournalError` when the output holds a line the journal does not know, or
        holds one twice: then it was not written by this job, and guessing would lose or
        repeat items.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("UPDATE items SET seen = 0 WHERE seen != 0")
            recovered = 0
            for line, key, state in finished:
                row = db.execute(
                    "SELECT id, state, seen FROM items WHERE line = ?", (line,)
                ).fetchone()
                _check_output_line(line, key, row)
                recovered += row[1] not in FINISHED
                db.execute(
                    "UPDATE items SET seen = 1, state = ?, finished = coalesce(finished, ?) "
                    "WHERE line = ?",
                    (state, time.time(), line),
                )
            lost = db.execute(
                "UPDATE items SET state = 'pending', finished = NULL "
                "WHERE seen = 0 AND state IN ('done', 'failed', 'invalid')"
            ).rowcount
            released = db.execute(
                "UPDATE items SET state = 'pending' WHERE state = 'claimed'"
            ).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return Reconciled(recovered=recovered, lost=lost, released=released)

    # -- running ----------------------------------------------------------------------

    def pending(self, after: int, limit: int) -> list[Row]:
        """Up to `limit` pending rows with `seq > after`, in input order."""
        return [
            _row(r)
            for r in self._db.execute(
                "SELECT seq, line, offset, length, id, error, state, attempts FROM items "
                "WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            )
        ]

    def rows(self, seqs: Iterable[int]) -> Iterator[Row]:
        """The rows of `seqs` (shared mode: the items another process hands out)."""
        for seq in seqs:
            found = self._db.execute(
                "SELECT seq, line, offset, length, id, error, state, attempts FROM items "
                "WHERE seq = ?",
                (seq,),
            ).fetchone()
            if found is None:
                raise JournalError(f"item #{seq} is not in the journal {self.path}")
            yield _row(found)

    def claim(self, seq: int) -> None:
        """Mark one item claimed (it is about to be sent)."""
        self._db.execute(
            "UPDATE items SET state = 'claimed', started = ? WHERE seq = ?", (time.time(), seq)
        )

    def finish(self, outcomes: Iterable[tuple[int, State, int, str | None]]) -> None:
        """Mark items finished, as (seq, state, attempts, kind), once their lines are durable."""
        db = self._db
        now = time.time()
        db.execute("BEGIN")
        db.executemany(
            "UPDATE items SET state = ?, attempts = attempts + ?, kind = ?, finished = ? "
            "WHERE seq = ?",
            ((state, attempts, kind, now, seq) for seq, state, attempts, kind in outcomes),
        )
        db.execute("COMMIT")

    def release(self, seqs: Iterable[int]) -> None:
        """Put claimed items back to pending (interrupted before their line was written)."""
        self._db.executemany(
            "UPDATE items SET state = 'pending' WHERE seq = ? AND state = 'claimed'",
            ((seq,) for seq in seqs),
        )

    def counts(self) -> dict[str, int]:
        """Items per state."""
        return dict(self._db.execute("SELECT state, count(*) FROM items GROUP BY state"))

    def total(self) -> int:
        """Every item of the job."""
        return int(self._db.execute("SELECT count(*) FROM items").fetchone()[0])


def _check_output_line(line: int, key: str | None, row: tuple[str | None, str, int] | None) -> None:
    """Refuse an output line this journal does not know, or one seen twice."""
    if row is None or (key is not None and row[0] != key):
        raise JournalError(
            f"the output holds line {line} (id {key!r}), which this journal does not "
            f"have{'' if row is None else f' (it has id {row[0]!r})'}; was the output "
            "written for another input?"
        )
    if row[2]:
        raise JournalError(f"the output holds line {line} (id {key!r}) twice")


class FilledElsewhereError(Exception):
    """Another process filled the journal first: use what it recorded."""


def _row(r: tuple[int, int, int, int, str | None, str | None, State, int]) -> Row:
    return Row(
        seq=r[0], line=r[1], offset=r[2], length=r[3], id_key=r[4], error=r[5], state=r[6],
        attempts=r[7],
    )  # fmt: skip
