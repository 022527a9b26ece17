"""What the command line says when a batch cannot start or go on: one line, no traceback."""

from __future__ import annotations

import sqlite3

from riprap.batch._journal import JournalError
from riprap.batch._prepare import InputErrors
from riprap.errors import RiprapError


def explain(error: BaseException) -> str:
    """The message for `error`, naming what to fix."""
    if isinstance(error, (InputErrors, JournalError, RiprapError, ImportError)):
        return str(error)
    if isinstance(error, sqlite3.Error):
        return f"the journal cannot be used: {error}"
    if _is_redis_error(error):
        return f"Redis: {error} (is the --redis URL right, and the server up?)"
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return f"{error.strerror or error}{':' if where else ''}{where}"
    if isinstance(error, ValueError):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"


def _is_redis_error(error: BaseException) -> bool:
    try:
        import redis  # noqa: PLC0415 - optional dependency
    except ImportError:
        return False
    return isinstance(error, redis.RedisError)
