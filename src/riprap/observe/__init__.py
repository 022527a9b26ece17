"""Observability: typed events, and adapters that turn them into logs (more to come)."""

from __future__ import annotations

from riprap.observe._events import (
    AttemptEnded,
    AttemptStarted,
    CallEnded,
    Event,
    Hook,
    RetryScheduled,
)
from riprap.observe._logging import LoggingHook

__all__ = [
    "AttemptEnded",
    "AttemptStarted",
    "CallEnded",
    "Event",
    "Hook",
    "LoggingHook",
    "RetryScheduled",
]
