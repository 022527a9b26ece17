"""The printed table: one block per scenario, one row per contender (pure formatting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from riprap._bench._metrics import per_success, ratio

if TYPE_CHECKING:
    from collections.abc import Sequence

    from riprap._bench._summary import Row
    from riprap._bench._workload import Minimum

HEADER = ("contender", "success", "makespan s", "x min", "att/success", "429s", "p50 s",
          "p99 s", "outage waste", "failures")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Block:
    """One scenario's results.

    Attributes:
        name: The scenario's name.
        description: What it simulates.
        workload: The workload's one-line description.
        seed: The simulator's seed.
        minimum: The physical minimum makespan.
        rows: One per contender, in the table's order.
    """

    name: str
    description: str
    workload: str
    seed: int
    minimum: Minimum
    rows: Sequence[Row]


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def cells(row: Row, minimum: float) -> tuple[str, ...]:
    """The row's cells, in `HEADER` order."""
    if row.missing is not None:
        return (row.label, row.missing, *("-" for _ in HEADER[2:]))
    share = 100.0 * row.ok / row.calls if row.calls else 0.0
    failures = ", ".join(f"{k} {n}" for k, n in (row.failures or {}).items()) or "none"
    return (
        row.label,
        f"{row.ok}/{row.calls} ({share:.1f}%)",
        f"{row.makespan:.1f}",
        _number(ratio(row.makespan, minimum), 2),
        _number(per_success(row.attempts, row.ok), 2),
        str(row.rate_limited),
        _number(row.p50, 2),
        _number(row.p99, 2),
        "-" if row.wasted is None else str(row.wasted),
        failures,
    )


def grid(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns as a Markdown table (readable as plain text too)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


def render(block: Block) -> str:
    """The scenario's heading and its table."""
    m = block.minimum
    heading = [
        f"### {block.name}",
        "",
        f"{block.description}".strip() or "(no description)",
        "",
        f"- workload: {block.workload}; seed {block.seed}",
        f"- physical minimum: {m.seconds:.2f} s ({m.bound}: {m.formula})",
        "",
    ]
    rows = [HEADER, *(cells(r, m.seconds) for r in block.rows)]
    return "\n".join(heading) + "\n" + grid(rows)
