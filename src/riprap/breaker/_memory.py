"""Where breaker state lives: the backend interface, and the in-process default.

A backend keeps one `Circuit` per key and applies the pure rules of `_machine` to it
atomically. Every method exists in a blocking and an `a`-prefixed async flavour, so the
sync and async call loops share one breaker; the memory backend's async methods only
take a lock for microseconds, so they do not need to suspend.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal, Protocol

from riprap._clock import SystemClock
from riprap.breaker import _machine as machine

if TYPE_CHECKING:
    from riprap._clock import Clock
    from riprap.breaker._machine import Admission, Outcome, Snapshot, Transition
    from riprap.breaker._policy import Breaker

#: Manual commands: hold a circuit open, or close it and forget its history.
Command = Literal["isolate", "reset"]


class Backend(Protocol):
    """Keeps circuits by key and changes them atomically, blocking or async."""

    def admit(self, key: str, policy: Breaker) -> Admission:
        """May an attempt to `key`'s target go now?"""
        ...

    def settle(self, key: str, policy: Breaker, ticket: int, outcome: Outcome) -> Transition | None:
        """Record how the attempt admitted with `ticket` ended."""
        ...

    def view(self, key: str, policy: Breaker) -> Snapshot:
        """The circuit as it stands now."""
        ...

    def command(self, key: str, policy: Breaker, command: Command) -> Transition | None:
        """Isolate or reset the circuit by hand."""
        ...

    async def aadmit(self, key: str, policy: Breaker) -> Admission:
        """`admit`, for async callers."""
        ...

    async def asettle(
        self, key: str, policy: Breaker, ticket: int, outcome: Outcome
    ) -> Transition | None:
        """`settle`, for async callers."""
        ...

    async def aview(self, key: str, policy: Breaker) -> Snapshot:
        """`view`, for async callers."""
        ...

    async def acommand(self, key: str, policy: Breaker, command: Command) -> Transition | None:
        """`command`, for async callers."""
        ...


class MemoryBackend:
    """Circuits in this process's memory, read against an injected clock (the default)."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        """Keep circuits in memory; `clock` defaults to the system's monotonic clock."""
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._circuits: dict[str, machine.Circuit] = {}
        # One lock for all keys: every operation is a few microseconds of arithmetic.
        self._lock = threading.Lock()

    def admit(self, key: str, policy: Breaker) -> Admission:
        """May an attempt to `key`'s target go now?"""
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None:
                return machine.Permit(machine.NO_TICKET, probe=False)
            circuit, admission = machine.admit(circuit, policy, self._clock.now())
            self._circuits[key] = circuit
            return admission

    def settle(self, key: str, policy: Breaker, ticket: int, outcome: Outcome) -> Transition | None:
        """Record how the attempt admitted with `ticket` ended."""
        with self._lock:
            circuit = self._circuits.get(key, _FRESH)
            circuit, transition = machine.settle(
                circuit, policy, self._clock.now(), ticket, outcome
            )
            if circuit is not _FRESH:
                self._circuits[key] = circuit
            return transition

    def view(self, key: str, policy: Breaker) -> Snapshot:
        """The circuit as it stands now."""
        with self._lock:
            circuit = self._circuits.get(key, _FRESH)
            return machine.view(circuit, policy, self._clock.now())

    def command(self, key: str, policy: Breaker, command: Command) -> Transition | None:
        """Isolate or reset the circuit by hand."""
        del policy  # the same for every policy; in the signature for the Redis backend
        change = machine.isolate if command == "isolate" else machine.reset
        with self._lock:
            circuit, transition = change(self._circuits.get(key, _FRESH))
            self._circuits[key] = circuit
            return transition

    async def aadmit(self, key: str, policy: Breaker) -> Admission:
        """`admit`: no I/O, so it does not suspend."""
        return self.admit(key, policy)

    async def asettle(
        self, key: str, policy: Breaker, ticket: int, outcome: Outcome
    ) -> Transition | None:
        """`settle`: no I/O, so it does not suspend."""
        return self.settle(key, policy, ticket, outcome)

    async def aview(self, key: str, policy: Breaker) -> Snapshot:
        """`view`: no I/O, so it does not suspend."""
        return self.view(key, policy)

    async def acommand(self, key: str, policy: Breaker, command: Command) -> Transition | None:
        """`command`: no I/O, so it does not suspend."""
        return self.command(key, policy, command)


#: The state of a key never seen: closed, empty.
_FRESH = machine.Circuit()
