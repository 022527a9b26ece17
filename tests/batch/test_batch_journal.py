"""The journal's state machine, and reconciling it with the output after a crash."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from batch_support import write_input

from riprap.batch._input import Checker, lines
from riprap.batch._journal import Journal, JournalError
from riprap.batch._output import Output, scan
from riprap.batch._records import dumps

if TYPE_CHECKING:
    from pathlib import Path


def _journal(tmp_path: Path, count: int = 4) -> Journal:
    source = tmp_path / "in.jsonl"
    write_input(source, count)
    journal = Journal(tmp_path / "j.sqlite")
    checker = Checker(shape=None, model_override=None)
    journal.fill((checker.check(r) for r in lines(source)), lambda: {"v": "1"})
    journal.commit()
    return journal


def _line(line: int, status: str = "ok") -> bytes:
    return dumps({"id": f"item-{line - 1}", "line": line, "status": status})


def test_fill_records_every_line_pending(tmp_path: Path) -> None:
    """A fresh journal has one pending row per input line, in order."""
    journal = _journal(tmp_path)
    rows = journal.pending(-1, 10)
    assert [(r.seq, r.line, r.id_key, r.state) for r in rows] == [
        (0, 1, "item-0", "pending"), (1, 2, "item-1", "pending"),
        (2, 3, "item-2", "pending"), (3, 4, "item-3", "pending"),
    ]  # fmt: skip


def test_a_repeated_id_makes_the_later_line_invalid(tmp_path: Path) -> None:
    """Duplicates are found by the journal's unique index, naming the first line."""
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "a", "request": {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}}\n'  # noqa: E501
        "\n"
        '{"id": "a", "request": {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "y"}]}}\n'  # noqa: E501
    )
    journal = Journal(tmp_path / "j.sqlite")
    checker = Checker(shape=None, model_override=None)
    filled = journal.fill((checker.check(r) for r in lines(source)), dict)
    assert (filled.total, filled.invalid) == (2, 1)
    assert filled.errors == ("line 3: duplicate id 'a' (first at line 1)",)


def test_finish_and_release_move_states(tmp_path: Path) -> None:
    """Claim → finish marks finished; claim → release goes back to pending."""
    journal = _journal(tmp_path)
    journal.claim(0)
    journal.claim(1)
    journal.finish([(0, "done", 2, None)])
    journal.release([1])
    assert journal.counts() == {"done": 1, "pending": 3}


def test_reconcile_recovers_a_line_written_before_the_journal_was_marked(tmp_path: Path) -> None:
    """Crash after the output line, before the journal: the line counts as finished."""
    journal = _journal(tmp_path)
    journal.claim(0)
    journal.claim(1)
    result = journal.reconcile([(1, "item-0", "done")])
    assert (result.recovered, result.lost, result.released) == (1, 0, 1)
    assert journal.counts() == {"done": 1, "pending": 3}


def test_reconcile_reruns_a_finished_row_whose_line_is_missing(tmp_path: Path) -> None:
    """A finished row with no output line (the output lost it) runs again."""
    journal = _journal(tmp_path)
    journal.finish([(0, "done", 1, None), (1, "failed", 3, "overloaded")])
    result = journal.reconcile([(2, "item-1", "failed")])
    assert (result.recovered, result.lost, result.released) == (0, 1, 0)
    assert journal.counts() == {"failed": 1, "pending": 3}


def test_reconcile_refuses_a_line_it_does_not_know(tmp_path: Path) -> None:
    """An output line with another id on that line number is another job's."""
    journal = _journal(tmp_path)
    with pytest.raises(JournalError, match="holds line 1 \\(id 'zzz'\\), which this journal"):
        journal.reconcile([(1, "zzz", "done")])
    assert journal.counts() == {"pending": 4}  # rolled back


def test_reconcile_refuses_a_line_twice(tmp_path: Path) -> None:
    """The same line twice in the output cannot be fixed by guessing."""
    journal = _journal(tmp_path)
    with pytest.raises(JournalError, match="holds line 2 \\(id 'item-1'\\) twice"):
        journal.reconcile([(2, "item-1", "done"), (2, "item-1", "done")])


def test_repair_cuts_a_torn_last_line(tmp_path: Path) -> None:
    """A last line without its newline is cut off; whole lines stay."""
    path = tmp_path / "out.jsonl"
    whole = _line(1) + _line(2)
    path.write_bytes(whole + b'{"id":"item-2","li')
    output = Output(path)
    assert output.repair() == len(b'{"id":"item-2","li')
    output.close()
    assert path.read_bytes() == whole
    assert [x[0] for x in scan(path)] == [1, 2]


def test_repair_of_a_file_that_is_one_torn_line_empties_it(tmp_path: Path) -> None:
    """A torn first line leaves an empty file."""
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"id":')
    output = Output(path)
    assert (output.repair(), path.read_bytes()) == (6, b"")
    output.close()


def test_every_crash_window_ends_with_each_id_once(tmp_path: Path) -> None:
    """Kill points: before the write, after a torn write, after the write, after the mark."""
    journal = _journal(tmp_path)
    path = tmp_path / "out.jsonl"
    # item 0: finished and marked; item 1: written, not marked; item 2: torn write;
    # item 3: claimed, nothing written.
    path.write_bytes(_line(1) + _line(2) + _line(3)[:10])
    journal.finish([(0, "done", 1, None)])
    for seq in (1, 2, 3):
        journal.claim(seq)
    output = Output(path)
    assert output.repair() == 10
    output.close()
    result = journal.reconcile(scan(path))
    assert (result.recovered, result.lost, result.released) == (1, 0, 2)
    assert [r.seq for r in journal.pending(-1, 10)] == [2, 3]
