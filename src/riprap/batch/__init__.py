"""The durable batch runner behind `riprap batch` (guide: docs/batch.md).

A JSONL file of requests goes out under the limiter and comes back as a JSONL file of
results, one line per id, exactly once, across Ctrl-C, kills and restarts: a SQLite
journal records each item, the output is appended durably, and a re-run resumes.
Several processes can share one job through Redis.
"""

from riprap.batch._client import MissingKeyError
from riprap.batch._input import InputError
from riprap.batch._journal import JournalError
from riprap.batch._main import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, run_batch
from riprap.batch._prepare import InputErrors
from riprap.batch._settings import Settings

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "InputError",
    "InputErrors",
    "JournalError",
    "MissingKeyError",
    "Settings",
    "run_batch",
]
