"""`RecentIds`: a bounded memory of call ids, for adapters that keep per-call state."""

from __future__ import annotations

import threading
from collections import OrderedDict


class RecentIds:
    """The last `size` ids added; older ones are forgotten first.

    Adapters remember the calls that ended, so that an event reported after its call's
    end (a budget settled late, say) does not open state for that call again.
    """

    #: Calls remembered after their end. Late events follow their call's end within
    #: moments; 4,096 ended calls is seconds to minutes of even a busy process's traffic.
    DEFAULT_SIZE = 4_096

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        """Remember up to `size` ids."""
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, call_id: str) -> None:
        """Remember `call_id`, forgetting the oldest beyond the size."""
        with self._lock:
            self._ids[call_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._ids
