"""Helpers for the batch tests: input files, and reading the output back."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


def request(i: int, *, model: str = "claude-sim") -> dict[str, Any]:
    """A small Anthropic-shaped request."""
    return {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": f"hi {i}"}]}


def write_input(path: Path, count: int) -> list[str]:
    """`count` items with ids "item-0"…; returns the ids."""
    ids = [f"item-{i}" for i in range(count)]
    with path.open("w") as handle:
        for i, ident in enumerate(ids):
            handle.write(json.dumps({"id": ident, "request": request(i)}) + "\n")
    return ids


def records(path: Path) -> list[dict[str, Any]]:
    """Every output record."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def id_counts(path: Path) -> Counter[str]:
    """How many times each id is in the output."""
    return Counter(str(r["id"]) for r in records(path))
