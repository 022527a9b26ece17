"""The structlog adapter: one structured log entry per event, per-call context bound.

Each event is logged as `logger.<level>(event.name, **fields)`, with the same fields as
the stdlib adapter. While a call runs, `riprap_call_id` (the logical call's
id, shared by every target of a fallback chain), `riprap_provider` and `riprap_model` are
bound with `structlog.contextvars`, so anything else logged in the
call's context with `merge_contextvars` in the processor chain (the SDK's and httpx's
own log lines through structlog's stdlib integration, say) carries the call's id too.
They are unbound when the call ends, in the same context they were bound in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from riprap.observe._bounded import RecentIds
from riprap.observe._catalog import (
    Severity,
    check_content_limit,
    fields_of,
    operation_id_of,
    severity_of,
)
from riprap.observe._events import CallEnded
from riprap.observe._redactor import DEFAULT_REDACTOR

if TYPE_CHECKING:
    import contextvars
    from collections.abc import Mapping

    from riprap.observe._events import Event
    from riprap.observe._redactor import Redactor

#: The logger name riprap asks structlog for when no logger is given.
LOGGER_NAME = "riprap"

#: Calls whose context is remembered at once. A call normally ends (and is forgotten)
#: within its deadline; this bounds memory if a call's end is never reported.
MAX_OPEN_CALLS = 10_000


class StructlogHook:
    """Logs riprap's events through structlog, and binds each call's id while it runs.

    Routine events log at `routine` (a method name of the logger), handled ones at
    `handled`, failed calls at `failure`. Strings go through `redactor`; prompt and answer
    text only with `content_limit` set, cut to it.
    """

    def __init__(
        self,
        *,
        logger: Any = None,
        routine: str = "debug",
        handled: str = "info",
        failure: str = "warning",
        bind_context: bool = True,
        redactor: Redactor = DEFAULT_REDACTOR,
        content_limit: int | None = None,
    ) -> None:
        """Log to `logger` (default: `structlog.get_logger("riprap")`)."""
        try:
            import structlog  # noqa: PLC0415 - an optional dependency, imported when used
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "riprap.observe.StructlogHook needs structlog: pip install 'riprap[structlog]'"
            ) from exc
        self._contextvars = structlog.contextvars
        self.logger = logger if logger is not None else structlog.get_logger(LOGGER_NAME)
        self._methods = {
            Severity.ROUTINE: routine,
            Severity.HANDLED: handled,
            Severity.FAILURE: failure,
        }
        self.bind_context = bind_context
        self.redactor = redactor
        self.content_limit = check_content_limit("StructlogHook", content_limit)
        self._tokens: OrderedDict[str, Mapping[str, contextvars.Token[Any]]] = OrderedDict()
        self._ended = RecentIds()
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Log one event; bind the call's context at its first event, unbind at its end."""
        # The logical call: every target of a fallback chain logs under one binding.
        call_id = operation_id_of(event)
        if self.bind_context and call_id not in self._tokens and call_id not in self._ended:
            self._bind(event, call_id)
        fields = fields_of(event, self.redactor, content_limit=self.content_limit)
        getattr(self.logger, self._methods[severity_of(event)])(event.name, **fields)
        if isinstance(event, CallEnded):
            self._ended.add(call_id)
            self._unbind(call_id)

    def _bind(self, event: Event, call_id: str) -> None:
        tokens = self._contextvars.bind_contextvars(
            riprap_call_id=call_id,
            riprap_provider=self.redactor.text(event.provider),
            riprap_model=None if event.model is None else self.redactor.text(event.model),
        )
        with self._lock:
            self._tokens[call_id] = tokens
            while len(self._tokens) > MAX_OPEN_CALLS:
                self._tokens.popitem(last=False)

    def _unbind(self, call_id: str) -> None:
        with self._lock:
            tokens = self._tokens.pop(call_id, None)
        if tokens is None:
            return
        try:
            self._contextvars.reset_contextvars(**tokens)
        except ValueError:
            # Bound in another context (the call's end was reported from elsewhere):
            # that context's own values are not ours to touch from here.
            return

    def __repr__(self) -> str:
        return f"StructlogHook(bind_context={self.bind_context})"
