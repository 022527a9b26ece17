"""Reading one table of a scenario file: typed values, each error naming its key path.

A `Table` wraps one TOML table and the dotted path that leads to it; its getters check a
value's type and range and raise `ScenarioFileError` naming the file, the key path and the
bad value (``flaky.toml: models."claude-x".fault_rate: 1.5 is not in [0, 1]``). `done()`
rejects the keys nobody asked for, so a misspelt key is an error, not a silent default.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_]+")


class ScenarioFileError(ValueError):
    """A scenario file that cannot be used: its file, the key path and what is wrong.

    Attributes:
        file: The file as the user named it (a shipped scenario: ``NAME.toml``).
        key: The dotted key path of the bad value (``models."claude-x".fault_rate``), or
            None when the problem is the file as a whole (missing, not TOML).
        problem: What is wrong, quoting the bad value.
    """

    def __init__(self, file: str, key: str | None, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = file if key is None else f"{file}: {key}"
        super().__init__(f"{where}: {problem}")


def key_path(parent: str, key: str | int) -> str:
    """`parent` extended by one table key (quoted unless bare) or one array index."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    part = key if _BARE_KEY.fullmatch(key) else f'"{key}"'
    return f"{parent}.{part}" if parent else part


def _show(value: object) -> str:
    """A value as the user wrote it in TOML, near enough: strings quoted, numbers bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Table:
    """One TOML table of a scenario file, read key by key."""

    def __init__(self, file: str, path: str, data: Mapping[str, object]) -> None:
        """Wrap `data`, found at `path` (dotted; "" for the top level) in `file`."""
        self.file = file
        self.path = path
        self.data = data
        self._read: set[str] = set()

    def error(self, key: str | int | None, problem: str) -> ScenarioFileError:
        """An error about `key` of this table (None: the table itself)."""
        where = self.path if key is None else key_path(self.path, key)
        return ScenarioFileError(self.file, where or None, problem)

    def has(self, key: str) -> bool:
        """Whether the table sets `key` (and mark it read)."""
        self._read.add(key)
        return key in self.data

    def raw(self, key: str) -> object:
        """The value of `key` unchecked, or None if unset."""
        self._read.add(key)
        return self.data.get(key)

    def done(self) -> None:
        """Reject every key no getter asked for."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            known = ", ".join(sorted(self._read))
            raise self.error(unknown[0], f"unknown key (this table takes: {known})")

    def string(self, key: str, default: str) -> str:
        """A string."""
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"{_show(value)} is not a string")
        return value

    def integer(self, key: str, default: int) -> int:
        """An integer."""
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"{_show(value)} is not an integer")
        return value

    def number(
        self, key: str, default: float | None, *, low: float = 0.0, high: float | None = None
    ) -> float | None:
        """A finite number in [low, high] (high None: no upper bound)."""
        value = self.raw(key)
        if value is None:
            return default
        return self.check_number(key, value, low=low, high=high)

    def check_number(
        self, key: str | int, value: object, *, low: float = 0.0, high: float | None = None
    ) -> float:
        """`value` (found at `key`) if it is a finite number in [low, high]."""
        if not isinstance(value, int | float) or not _is_number(value):
            raise self.error(key, f"{_show(value)} is not a number")
        if value < low or (high is not None and value > high):
            bounds = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            raise self.error(key, f"{_show(value)} is not {bounds}")
        return float(value)

    def integer_in(self, key: str, value: object) -> int:
        """`value` (an element of the array at `key`) if it is an integer >= 0."""
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.error(key, f"{_show(value)} is not an integer >= 0")
        return value

    def positive(self, key: str, default: float | None) -> float | None:
        """A finite number > 0."""
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, int | float) or not _is_number(value) or value <= 0:
            raise self.error(key, f"{_show(value)} is not a number > 0")
        return float(value)

    def pair(self, key: str) -> list[object] | None:
        """A two-element array (elements unchecked), or None if unset."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != 2:  # noqa: PLR2004
            raise self.error(key, f"{_show(value)} is not a [low, high] pair")
        return value

    def table(self, key: str) -> Table | None:
        """A sub-table, or None if unset."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"{_show(value)} is not a table")
        return Table(self.file, key_path(self.path, key), value)

    def tables(self, key: str) -> list[Table]:
        """An array of tables (``[[key]]``); empty if unset."""
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, f"{_show(value)} is not an array of tables")
        found: list[Table] = []
        for position, item in enumerate(value):
            path = key_path(key_path(self.path, key), position)
            if not isinstance(item, dict):
                raise ScenarioFileError(self.file, path, f"{_show(item)} is not a table")
            found.append(Table(self.file, path, item))
        return found
