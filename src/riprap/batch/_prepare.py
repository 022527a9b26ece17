"""Before anything is sent: the journal, the job's lock, and reconciling with the output.

The whole input is read and checked into the journal (or the journal is checked to have
been made for this very input), and the journal is made to agree with the output.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from riprap.batch._input import Checker, lines
from riprap.batch._journal import FilledElsewhereError, Journal, JournalError, Reconciled
from riprap.batch._output import Output, scan

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.batch._input import Shape
    from riprap.batch._settings import Settings

#: Bumped when the journal's meaning changes; an older journal is refused, not guessed at.
JOURNAL_VERSION: Final = "1"


class InputErrors(Exception):  # noqa: N818 - a report of many errors, raised as one
    """The input has lines that cannot be sent, and `--skip-invalid` was not given."""

    def __init__(self, count: int, errors: tuple[str, ...]) -> None:
        shown = "\n".join(f"  {e}" for e in errors)
        more = f"\n  ... and {count - len(errors)} more" if count > len(errors) else ""
        super().__init__(
            f"{count} input line(s) cannot be sent; nothing was sent. Fix them, or give "
            f"--skip-invalid to record them in the output as invalid and run the rest:\n"
            f"{shown}{more}"
        )
        self.count = count
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Prepared:
    """A journal ready to run from."""

    journal: Journal
    shape: Shape
    fingerprint: str
    #: Whether this run made the journal (else it resumes one).
    created: bool
    reconciled: Reconciled | None
    #: Bytes of a torn last output line that were cut off.
    repaired: int


def digest_of(path: os.PathLike[str]) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:  # noqa: PTH123 - os.PathLike in, no Path needed
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_journal(settings: Settings) -> tuple[Journal, str, Shape, bool]:
    """The journal for this input: filled now (every line checked), or verified to match."""
    path = settings.journal_path
    existed = path.exists()
    journal = Journal(path)
    try:
        meta = journal.meta()
        created = False
        if not meta:
            try:
                meta = _fill(journal, settings)
                created = True
            except FilledElsewhereError:
                meta = journal.meta()
            except InputErrors:
                journal.close()
                if not existed:
                    _remove(path)
                raise
        fingerprint = meta["input_sha256"] if created else _verify(meta, settings)
    except BaseException:
        with contextlib.suppress(Exception):
            journal.close()
        raise
    return journal, fingerprint, cast("Shape", meta["shape"]), created


def _fill(journal: Journal, settings: Settings) -> dict[str, str]:
    digest = hashlib.sha256()
    checker = Checker(shape=settings.request_shape, model_override=settings.model)
    meta: dict[str, str] = {}

    def finish() -> dict[str, str]:
        meta.update(
            version=JOURNAL_VERSION, input=str(settings.input), input_sha256=digest.hexdigest(),
            shape=checker.shape or "anthropic",
        )  # fmt: skip
        return meta

    filled = journal.fill((checker.check(raw) for raw in lines(settings.input, digest)), finish)
    if filled.invalid and not settings.skip_invalid:
        journal.rollback()
        raise InputErrors(filled.invalid, filled.errors)
    journal.commit()
    return meta


def _verify(meta: dict[str, str], settings: Settings) -> str:
    if meta.get("version") != JOURNAL_VERSION:
        raise JournalError(
            f"{settings.journal_path} was written by another version of riprap batch "
            f"(journal version {meta.get('version')!r}); use a new --output or --journal"
        )
    fingerprint = digest_of(settings.input)
    if fingerprint != meta["input_sha256"]:
        raise JournalError(
            f"the journal {settings.journal_path} belongs to another input (it was made for "
            f"{meta.get('input')}, sha256 {meta['input_sha256'][:16]}…; {settings.input} has "
            f"sha256 {fingerprint[:16]}…). Refusing to mix two jobs: give another -o/--journal, "
            "or delete the old output and journal to start over"
        )
    wanted = settings.request_shape
    if wanted is not None and wanted != meta["shape"]:
        raise JournalError(
            f"the journal {settings.journal_path} holds {meta['shape']} requests but this run "
            f"asks for {wanted}; use the same --provider/--format as the first run"
        )
    return fingerprint


def _remove(path: os.PathLike[str]) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.fspath(path) + suffix)  # noqa: PTH107 - a str path with a suffix


@contextlib.contextmanager
def job_lock(settings: Settings) -> Iterator[None]:
    """Hold the job's lock: exclusive alone, shared in shared mode (`--redis`).

    So two plain runs never write one output, and a plain run never joins a shared job.
    """
    path = os.fspath(settings.journal_path) + ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        mode = fcntl.LOCK_SH if settings.redis_url else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            how = "alone" if settings.redis_url is None else "without --redis"
            raise JournalError(
                f"another riprap batch is running on {settings.journal_path} ({how}); "
                "wait for it, or use --redis to share a job between processes"
            ) from None
        yield
    finally:
        os.close(fd)


def reconcile(journal: Journal, output: Output) -> tuple[Reconciled, int]:
    """Cut a torn last output line, then make the journal agree with the output."""
    with output.locked():
        repaired = output.repair()
        return journal.reconcile(scan(output.path)), repaired
